-- Create index "webhookmessage_pending_stream" to table: "webhook_messages"
CREATE INDEX "webhookmessage_pending_stream" ON "webhook_messages" ("endpoint_id", "segment_id", "seq") WHERE ((state)::text = 'PENDING'::text);

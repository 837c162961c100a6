-- Create index "segmentrun_unfinished" to table: "segment_runs"
CREATE INDEX "segmentrun_unfinished" ON "segment_runs" ("segment_id") WHERE ((status)::text = ANY ((ARRAY['PENDING'::character varying, 'RUNNING'::character varying])::text[]));

-- Drop index "event_project_id_user_id_timestamp" from table: "events"
DROP INDEX "event_project_id_user_id_timestamp";
-- Create index "event_project_id_user_id_timestamp" to table: "events"
CREATE INDEX "event_project_id_user_id_timestamp" ON "events" ("project_id", "user_id", "timestamp") INCLUDE ("name", "platform");

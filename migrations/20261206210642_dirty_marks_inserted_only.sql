-- Drop index "segmentdirtyuser_segment_id_user_id" from table: "segment_dirty_users"
DROP INDEX "segmentdirtyuser_segment_id_user_id";
-- Modify "segment_dirty_users" table
ALTER TABLE "segment_dirty_users" DROP COLUMN "taken";
-- Create index "segmentdirtyuser_segment_id_user_id" to table: "segment_dirty_users"
CREATE INDEX "segmentdirtyuser_segment_id_user_id" ON "segment_dirty_users" ("segment_id", "user_id");

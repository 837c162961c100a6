-- Modify "segment_dirty_users" table
ALTER TABLE "segment_dirty_users" ADD COLUMN "taken" boolean NOT NULL DEFAULT false;

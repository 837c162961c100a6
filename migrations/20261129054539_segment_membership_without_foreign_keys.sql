-- Modify "segment_members" table
ALTER TABLE "segment_members" DROP CONSTRAINT "segment_members_segments_segment", DROP CONSTRAINT "segment_members_users_user";
-- Modify "segment_memberships" table
ALTER TABLE "segment_memberships" DROP CONSTRAINT "segment_memberships_projects_segment_memberships", DROP CONSTRAINT "segment_memberships_segments_memberships", DROP CONSTRAINT "segment_memberships_users_memberships";

-- Every existing segment gets its current definition as its first recorded
-- version, so Segment.versions is never empty. When it was made is known
-- only for a segment still at version 1 (its creation); a later version is
-- dated by the segment's last update, the latest time its rule can have
-- changed. Who made it is unknown (NULL key).
INSERT INTO "segment_versions" ("project_id", "segment_id", "version", "rule", "created_at")
SELECT "project_id", "id", "definition_version", "rule",
       CASE WHEN "definition_version" = 1 THEN "created_at" ELSE "updated_at" END
FROM "segments"
ON CONFLICT ("segment_id", "version") DO NOTHING;

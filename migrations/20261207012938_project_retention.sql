-- Modify "projects" table
ALTER TABLE "projects" ADD COLUMN "retention_days" bigint NULL;

-- Modify "users" table
ALTER TABLE "users" DROP CONSTRAINT "users_projects_users";

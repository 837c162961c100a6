-- Create index "userdailyactivity_project_id_day" to table: "user_daily_activities"
CREATE INDEX "userdailyactivity_project_id_day" ON "user_daily_activities" ("project_id", "day");

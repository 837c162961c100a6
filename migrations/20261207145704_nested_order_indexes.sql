-- Create index "feedbackchange_project_id_feedback_id_id" to table: "feedback_changes"
CREATE INDEX "feedbackchange_project_id_feedback_id_id" ON "feedback_changes" ("project_id", "feedback_id", "id");
-- Create index "feedback_project_id_user_id_id" to table: "feedbacks"
CREATE INDEX "feedback_project_id_user_id_id" ON "feedbacks" ("project_id", "user_id", "id");
-- Create index "segmentrun_project_id_segment_id_id" to table: "segment_runs"
CREATE INDEX "segmentrun_project_id_segment_id_id" ON "segment_runs" ("project_id", "segment_id", "id");
-- Create index "surveyresponse_project_id_survey_id_id" to table: "survey_responses"
CREATE INDEX "surveyresponse_project_id_survey_id_id" ON "survey_responses" ("project_id", "survey_id", "id");
-- Create index "surveyresponse_project_id_user_id_id" to table: "survey_responses"
CREATE INDEX "surveyresponse_project_id_user_id_id" ON "survey_responses" ("project_id", "user_id", "id");

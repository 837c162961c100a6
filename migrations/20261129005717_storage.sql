-- Storage parameters Atlas does not model. Ingest rewrites users' counts and
-- first/last seen, and adds to today's daily activity rows, on every batch;
-- with room left on each page those updates stay HOT (no index writes).
ALTER TABLE "users" SET (fillfactor = 70);
ALTER TABLE "user_daily_activities" SET (fillfactor = 80);

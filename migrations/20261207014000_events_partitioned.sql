-- events becomes range-partitioned by month on "timestamp", managed by Pulse
-- (internal/partition): monthly partitions events_yYYYYmMM, each covering
-- [the first of the month 00:00 UTC, the next first), and events_history
-- for everything before the first of them. There is no DEFAULT partition:
-- attaching a month would have to scan it. A unique index of a partitioned
-- table must hold the partition key, so message-id dedup moves to
-- event_messages: per project, the first 16 bytes of the SHA-256 of each
-- message id (never the client's text), kept for the dedup window of 30
-- days and trimmed by the partition maintenance job.
--
-- An empty events (a new installation, the tests' template) is converted
-- here and now. One with rows gets only fast DDL: events_partitioned, the
-- partitioned table it becomes, with partitions covering its months;
-- triggers that mirror every change of events into it (and the message
-- keys of inserted rows into event_messages); and events_partition_copy,
-- the progress of the online copy. The maintenance job copies the rows in
-- batches, then swaps the tables in one short transaction
-- (docs/OPERATIONS.md, "Events: monthly partitions").

CREATE TABLE "event_messages" (
  "project_id" bigint NOT NULL,
  "message_key" bytea NOT NULL,
  "received_at" timestamptz NOT NULL,
  PRIMARY KEY ("project_id", "message_key")
);
-- The trim deletes by age: rows are appended in the order they arrive.
CREATE INDEX "event_messages_received_at" ON "event_messages" USING brin ("received_at");

-- Writers wait from here to the commit (the file is one transaction), which
-- comes quickly: the statements below change the catalog and read events'
-- statistics and largest id. (In a block: a bare LOCK is refused outside a
-- transaction block, as when the migration generator replays the files.)
DO $lock$
BEGIN
  LOCK TABLE "events" IN SHARE ROW EXCLUSIVE MODE;
END
$lock$;

CREATE TABLE "events_partitioned" (LIKE "events" INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMPRESSION INCLUDING COMMENTS)
  PARTITION BY RANGE ("timestamp");
ALTER TABLE "events_partitioned" ADD CONSTRAINT "events_partitioned_pkey" PRIMARY KEY ("id", "timestamp");
CREATE INDEX "events_partitioned_project_id_user_id_timestamp" ON "events_partitioned" ("project_id", "user_id", "timestamp") INCLUDE ("name", "platform");
CREATE INDEX "events_partitioned_project_id_name_timestamp" ON "events_partitioned" ("project_id", "name", "timestamp");

-- The monthly partitions start at the month of the oldest events (the
-- first percentile of the column's statistics, or the exact minimum when
-- there are none; at most 60 months back) and end two months ahead of this
-- one. Month arithmetic is in UTC, and the bounds' text is written out,
-- whatever the session's time zone and DateStyle.
DO $partitions$
DECLARE
  this_month timestamp := date_trunc('month', now() AT TIME ZONE 'UTC');
  first_month timestamp := this_month;
  lowest timestamptz;
  month timestamp;
BEGIN
  IF EXISTS (SELECT FROM "events") THEN
    SELECT (s.histogram_bounds::text::timestamptz[])[2] INTO lowest
    FROM pg_stats s WHERE s.schemaname = current_schema() AND s.tablename = 'events' AND s.attname = 'timestamp';
    IF lowest IS NULL THEN
      SELECT min("timestamp") INTO lowest FROM "events";
    END IF;
    first_month := least(this_month, greatest(date_trunc('month', lowest AT TIME ZONE 'UTC'), this_month - interval '60 months'));
  END IF;
  EXECUTE format('CREATE TABLE "events_history" PARTITION OF "events_partitioned" FOR VALUES FROM (MINVALUE) TO (%L)',
    to_char(first_month, 'YYYY-MM-DD HH24:MI:SS+00'));
  month := first_month;
  WHILE month <= this_month + interval '2 months' LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF "events_partitioned" FOR VALUES FROM (%L) TO (%L)',
      to_char(month, '"events_y"YYYY"m"MM'), to_char(month, 'YYYY-MM-DD HH24:MI:SS+00'),
      to_char(month + interval '1 month', 'YYYY-MM-DD HH24:MI:SS+00'));
    month := month + interval '1 month';
  END LOOP;
END
$partitions$;

-- The online copy's progress: every row of events with an id up to
-- copied_through is in events_partitioned; rows after copy_until (the
-- largest id when the triggers were made) were mirrored by them.
CREATE TABLE "events_partition_copy" (
  "singleton" boolean PRIMARY KEY DEFAULT true CHECK ("singleton"),
  "copied_through" bigint NOT NULL,
  "copy_until" bigint NOT NULL,
  "rows_copied" bigint NOT NULL DEFAULT 0,
  "started_at" timestamptz NOT NULL DEFAULT now(),
  "updated_at" timestamptz NOT NULL DEFAULT now()
);
INSERT INTO "events_partition_copy" ("copied_through", "copy_until") SELECT 0, COALESCE(max("id"), 0) FROM "events";

-- The mirrors run once per statement with the statement's rows (transition
-- tables), in the writer's transaction. An update is mirrored as the old
-- rows' removal and the new rows' insertion, whatever the columns it
-- changed (merges change user_id).
CREATE FUNCTION "events_partition_mirror_insert"() RETURNS trigger LANGUAGE plpgsql AS $mirror$
BEGIN
  INSERT INTO "events_partitioned" ("id", "name", "timestamp", "received_at", "properties", "platform", "message_id", "project_id", "user_id")
  SELECT "id", "name", "timestamp", "received_at", "properties", "platform", "message_id", "project_id", "user_id" FROM "mirrored_new"
  ON CONFLICT DO NOTHING;
  -- Pulse's ingest wrote these already; an older binary, during a rolling
  -- deploy, did not.
  INSERT INTO "event_messages" ("project_id", "message_key", "received_at")
  SELECT "project_id", substring(sha256(convert_to("message_id", 'UTF8')) for 16), "received_at" FROM "mirrored_new"
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$mirror$;
CREATE FUNCTION "events_partition_mirror_update"() RETURNS trigger LANGUAGE plpgsql AS $mirror$
BEGIN
  DELETE FROM "events_partitioned" p USING "mirrored_old" o WHERE p."id" = o."id" AND p."timestamp" = o."timestamp";
  INSERT INTO "events_partitioned" ("id", "name", "timestamp", "received_at", "properties", "platform", "message_id", "project_id", "user_id")
  SELECT "id", "name", "timestamp", "received_at", "properties", "platform", "message_id", "project_id", "user_id" FROM "mirrored_new"
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$mirror$;
CREATE FUNCTION "events_partition_mirror_delete"() RETURNS trigger LANGUAGE plpgsql AS $mirror$
BEGIN
  DELETE FROM "events_partitioned" p USING "mirrored_old" o WHERE p."id" = o."id" AND p."timestamp" = o."timestamp";
  RETURN NULL;
END
$mirror$;
CREATE FUNCTION "events_partition_mirror_truncate"() RETURNS trigger LANGUAGE plpgsql AS $mirror$
BEGIN
  TRUNCATE "events_partitioned";
  RETURN NULL;
END
$mirror$;
CREATE TRIGGER "events_partition_mirror_insert" AFTER INSERT ON "events" REFERENCING NEW TABLE AS "mirrored_new"
  FOR EACH STATEMENT EXECUTE FUNCTION "events_partition_mirror_insert"();
CREATE TRIGGER "events_partition_mirror_update" AFTER UPDATE ON "events" REFERENCING OLD TABLE AS "mirrored_old" NEW TABLE AS "mirrored_new"
  FOR EACH STATEMENT EXECUTE FUNCTION "events_partition_mirror_update"();
CREATE TRIGGER "events_partition_mirror_delete" AFTER DELETE ON "events" REFERENCING OLD TABLE AS "mirrored_old"
  FOR EACH STATEMENT EXECUTE FUNCTION "events_partition_mirror_delete"();
CREATE TRIGGER "events_partition_mirror_truncate" AFTER TRUNCATE ON "events"
  FOR EACH STATEMENT EXECUTE FUNCTION "events_partition_mirror_truncate"();

-- Empty: swap now, as the maintenance job swaps after its copy
-- (internal/partition/swap.go), keeping the identity sequence's position.
DO $swap$
DECLARE
  next_id bigint;
BEGIN
  IF EXISTS (SELECT FROM "events") THEN
    RETURN;
  END IF;
  EXECUTE format('SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM %s', pg_get_serial_sequence('events', 'id'))
    INTO next_id;
  DROP TABLE "events";
  DROP FUNCTION "events_partition_mirror_insert"(), "events_partition_mirror_update"(),
    "events_partition_mirror_delete"(), "events_partition_mirror_truncate"();
  DROP TABLE "events_partition_copy";
  ALTER TABLE "events_partitioned" RENAME TO "events";
  ALTER TABLE "events" RENAME CONSTRAINT "events_partitioned_pkey" TO "events_pkey";
  ALTER INDEX "events_partitioned_project_id_user_id_timestamp" RENAME TO "event_project_id_user_id_timestamp";
  ALTER INDEX "events_partitioned_project_id_name_timestamp" RENAME TO "event_project_id_name_timestamp";
  ALTER SEQUENCE "events_partitioned_id_seq" RENAME TO "events_id_seq";
  PERFORM setval(pg_get_serial_sequence('events', 'id'), next_id, false);
END
$swap$;

package partition_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/partition"
)

// TestNewInstallationIsPartitioned: the migration converted the empty
// events of a new installation at once: partitioned by month, ent's names
// and id range, no unique message id, the dedup table beside it, nothing
// of the online migration left.
func TestNewInstallationIsPartitioned(t *testing.T) {
	t.Parallel()
	b := setup(t)
	require.Equal(t, "p", text(t, b, `SELECT relkind::text FROM pg_class WHERE oid = 'events'::regclass`))
	require.Equal(t, `RANGE ("timestamp")`, text(t, b, `SELECT pg_get_partkeydef('events'::regclass)`))
	require.Equal(t, map[string]string{
		"events_pkey":                        "CREATE UNIQUE INDEX events_pkey ON ONLY public.events USING btree (id, \"timestamp\")",
		"event_project_id_user_id_timestamp": "CREATE INDEX event_project_id_user_id_timestamp ON ONLY public.events USING btree (project_id, user_id, \"timestamp\") INCLUDE (name, platform)",
		"event_project_id_name_timestamp":    "CREATE INDEX event_project_id_name_timestamp ON ONLY public.events USING btree (project_id, name, \"timestamp\")",
	}, indexes(t, b, "events"))
	require.Equal(t, map[string]string{
		"event_messages_pkey":        "CREATE UNIQUE INDEX event_messages_pkey ON public.event_messages USING btree (project_id, message_key)",
		"event_messages_received_at": "CREATE INDEX event_messages_received_at ON public.event_messages USING brin (received_at)",
	}, indexes(t, b, "event_messages"))
	require.Equal(t, "events_id_seq 4294967296", text(t, b, `SELECT s.seqrelid::regclass::text || ' ' || s.seqstart
		FROM pg_sequence s WHERE s.seqrelid = pg_get_serial_sequence('events', 'id')::regclass`))
	parts := partitions(t, b.db, "events")
	month := partition.MonthStart(time.Now())
	for i := range partition.AheadMonths + 1 {
		m := month.AddDate(0, i, 0)
		require.Equal(t, monthBound(m), parts[partition.MonthName(m)])
	}
	require.Regexp(t, `^FOR VALUES FROM \(MINVALUE\) TO \('\d{4}-\d\d-01 00:00:00\+00'\)$`, parts["events_history"])
	require.Equal(t, 0, count(t, b.db, `SELECT count(*) FROM pg_class WHERE relname IN ('events_partitioned', 'events_partition_copy')`))
	require.Equal(t, 0, count(t, b.db, `SELECT count(*) FROM pg_proc WHERE proname LIKE 'events_partition_mirror%'`))

	// Ingest stores its message keys beside the events.
	res, err := b.writer.Write(b.ingest, []ingest.Message{{Type: ingest.TypeTrack, UserID: "ann", Event: "e", MessageID: "k1", Timestamp: time.Now()}})
	require.NoError(t, err)
	require.Equal(t, 1, res.Accepted)
	require.Equal(t, 1, count(t, b.db, `SELECT count(*) FROM event_messages WHERE project_id = $1 AND message_key = $2`,
		b.projectID, keyOf("k1")))
	require.Equal(t, 1, count(t, b.db, `SELECT count(*) FROM event_messages WHERE message_key = `+partition.KeySQL("'k1'")),
		"Go and SQL compute the same key")
}

// TestMaintainCreatesAheadAndDropsPastRetention moves the clock: each run
// makes the month's partition and the two after it, and drops a partition
// at the first instant its whole range is older than every project's
// retention, never while a project keeps its events for ever.
func TestMaintainCreatesAheadAndDropsPastRetention(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other, err := auth.CreateProject(context.Background(), database.NewClient(b.db), "other")
	require.NoError(t, err)
	run(t, b.db, `UPDATE projects SET retention_days = 30 WHERE id = $1`, b.projectID)
	run(t, b.db, `UPDATE projects SET retention_days = 90 WHERE id = $1`, other.Project.ID)

	base := partition.MonthStart(time.Now())
	kept := base.AddDate(0, 2, 0) // the last month the migration or pgtest made
	end := kept.AddDate(0, 1, 0)
	// One event in history and in each month up to kept.
	for _, at := range []time.Time{base.AddDate(-2, 0, 0), base, base.AddDate(0, 1, 0), kept} {
		run(t, b.db, `INSERT INTO events (project_id, user_id, name, timestamp, received_at, platform, message_id)
			VALUES ($1, 1, 'e', $2, $2, 'OTHER', $3)`, b.projectID, at, at.String())
	}
	maintain := func(now time.Time) partition.Report {
		t.Helper()
		report, err := partition.Maintain(context.Background(), b.db, partition.Options{Now: func() time.Time { return now }})
		require.NoError(t, err)
		require.False(t, report.Skipped)
		return report
	}

	report := maintain(time.Now())
	require.Empty(t, report.Created, "pgtest made this month's and the next two")
	require.Empty(t, report.Dropped)
	// What goes first: history, then every month before kept, oldest first
	// (the template may have been made in an earlier month than base).
	var older []string
	for name := range partitions(t, b.db, "events") {
		if name != "events_history" && name < partition.MonthName(kept) {
			older = append(older, name)
		}
	}
	slices.Sort(older)
	require.Subset(t, older, []string{partition.MonthName(base), partition.MonthName(base.AddDate(0, 1, 0))})

	// A second before kept's end is 90 days old: everything before kept
	// goes, history first, and the months ahead of the clock come.
	justBefore := end.Add(90*24*time.Hour - time.Second)
	report = maintain(justBefore)
	ahead := partition.MonthStart(justBefore)
	require.Equal(t, []string{partition.MonthName(ahead), partition.MonthName(ahead.AddDate(0, 1, 0)), partition.MonthName(ahead.AddDate(0, 2, 0))},
		report.Created)
	require.Equal(t, append([]string{"events_history"}, older...), report.Dropped)
	parts := partitions(t, b.db, "events")
	require.Contains(t, parts, partition.MonthName(kept))
	require.NotContains(t, parts, "events_history")
	require.Equal(t, 1, count(t, b.db, `SELECT count(*) FROM events WHERE project_id = $1`, b.projectID), "kept's event stays")
	require.Equal(t, 1+len(report.Created), report.Partitions, "kept and the three months ahead of the clock")

	// A project that keeps its events for ever keeps every partition.
	run(t, b.db, `UPDATE projects SET retention_days = NULL WHERE id = $1`, other.Project.ID)
	require.Empty(t, maintain(end.Add(90*24*time.Hour)).Dropped)
	// With every project's retention, kept goes at the instant its end is 90
	// days old (the longest retention, not the shortest).
	run(t, b.db, `UPDATE projects SET retention_days = 90 WHERE id = $1`, other.Project.ID)
	require.Empty(t, maintain(justBefore).Dropped)
	require.Equal(t, []string{partition.MonthName(kept)}, maintain(end.Add(90*24*time.Hour)).Dropped)
	require.Equal(t, 0, count(t, b.db, `SELECT count(*) FROM events`))
	require.Empty(t, maintain(end.Add(90*24*time.Hour)).Dropped, "a second run finds nothing more to drop")
}

// TestMaintainTrimsMessageKeys: message keys older than the dedup window
// are deleted, in batches; a message sent again after the window is a new
// event, one sent again within it a duplicate.
func TestMaintainTrimsMessageKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	write := func(messageID string) ingest.Result {
		t.Helper()
		res, err := b.writer.Write(b.ingest, []ingest.Message{{Type: ingest.TypeTrack, UserID: "ann", Event: "e", MessageID: messageID, Timestamp: time.Now()}})
		require.NoError(t, err)
		return res
	}
	require.Equal(t, 1, write("old").Accepted)
	require.Equal(t, 1, write("recent").Accepted)
	run(t, b.db, `UPDATE event_messages SET received_at = now() - interval '31 days' WHERE message_key = $1`, keyOf("old"))
	run(t, b.db, `UPDATE event_messages SET received_at = now() - interval '29 days' WHERE message_key = $1`, keyOf("recent"))
	// More old keys than one batch deletes.
	run(t, b.db, `INSERT INTO event_messages (project_id, message_key, received_at)
		SELECT $1, `+partition.KeySQL("g::text")+`, now() - interval '40 days' FROM generate_series(1, 25000) g`, b.projectID)

	report, err := partition.Maintain(context.Background(), b.db, partition.Options{})
	require.NoError(t, err)
	require.Equal(t, int64(25001), report.Trimmed)
	require.Equal(t, 1, count(t, b.db, `SELECT count(*) FROM event_messages`))
	require.Equal(t, ingest.Result{Accepted: 1}, write("old"), "past the window, a message id is new again")
	require.Equal(t, ingest.Result{Duplicates: 1}, write("recent"), "within it, a duplicate")
	require.Equal(t, 3, count(t, b.db, `SELECT count(*) FROM events`))
}

func keyOf(messageID string) []byte {
	key := partition.MessageKey(messageID)
	return key[:]
}

func text(t *testing.T, b *bundle, query string) string {
	t.Helper()
	var s string
	require.NoError(t, b.db.QueryRow(query).Scan(&s))
	return s
}

// indexes are the definitions of table's indexes, by name.
func indexes(t *testing.T, b *bundle, table string) map[string]string {
	t.Helper()
	rows, err := b.db.Query(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1`, table)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, def string
		require.NoError(t, rows.Scan(&name, &def))
		out[name] = def
	}
	require.NoError(t, rows.Err())
	return out
}

// TestDropWaitsBrieflyForItsLock: a drop that cannot have its lock on
// events within the lock timeout (a long reader) gives up without failing
// the run, and the next run drops.
func TestDropWaitsBrieflyForItsLock(t *testing.T) {
	t.Parallel()
	b := setup(t)
	run(t, b.db, `UPDATE projects SET retention_days = 1`)
	later := partition.MonthStart(time.Now()).AddDate(0, 6, 0)
	opts := partition.Options{Now: func() time.Time { return later }, LockTimeout: 100 * time.Millisecond}

	reader, err := b.db.Begin()
	require.NoError(t, err)
	defer func() { _ = reader.Rollback() }()
	var n int
	require.NoError(t, reader.QueryRow(`SELECT count(*) FROM events`).Scan(&n))
	report, err := partition.Maintain(context.Background(), b.db, opts)
	require.NoError(t, err, "a lock timeout is for the next run")
	require.Empty(t, report.Dropped)
	require.NotEmpty(t, report.Created, "the other steps ran")
	require.Contains(t, partitions(t, b.db, "events"), "events_history")

	require.NoError(t, reader.Rollback())
	report, err = partition.Maintain(context.Background(), b.db, opts)
	require.NoError(t, err)
	require.Contains(t, report.Dropped, "events_history")
}

package ingest

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/partition"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// clockedWriter is a Writer whose clock the test sets, over the package
// database, with a project of the test's own. Each test takes months of
// its own, years ahead, whose partitions nothing else makes.
type clockedWriter struct {
	db        *sql.DB
	writer    *Writer
	projectID int
	ctx       context.Context
	now       time.Time
}

func setupClocked(t *testing.T, now time.Time) *clockedWriter {
	t.Helper()
	db := pgtest.DB(t)
	created, err := auth.CreateProject(context.Background(), database.NewClient(db), t.Name())
	require.NoError(t, err)
	b := &clockedWriter{db: db, projectID: created.Project.ID, now: now,
		ctx: tenant.NewContext(context.Background(), tenant.Scope{ProjectID: created.Project.ID, Role: tenant.RoleIngest})}
	b.writer = NewWriter(db)
	b.writer.now = func() time.Time { return b.now }
	return b
}

func (b *clockedWriter) write(t *testing.T, msgs ...Message) Result {
	t.Helper()
	res, err := b.writer.Write(b.ctx, msgs)
	require.NoError(t, err)
	return res
}

// partitionOf names the partition holding the project's event of a message
// id ("" when there is none).
func (b *clockedWriter) partitionOf(t *testing.T, messageID string) string {
	t.Helper()
	var name string
	err := b.db.QueryRow(`SELECT tableoid::regclass::text FROM events WHERE project_id = $1 AND message_id = $2`, b.projectID, messageID).Scan(&name)
	if err == sql.ErrNoRows {
		return ""
	}
	require.NoError(t, err)
	return name
}

func partitionExists(t *testing.T, db *sql.DB, month time.Time) bool {
	t.Helper()
	var exists bool
	require.NoError(t, db.QueryRow(`SELECT to_regclass($1) IS NOT NULL`, partition.MonthName(month)).Scan(&exists))
	return exists
}

func usage(userID, messageID string, at time.Time) Message {
	return Message{Type: TypeTrack, UserID: userID, Event: "export", MessageID: messageID, Timestamp: at}
}

// TestIngestIntoMonthsWithoutPartitions writes, at the end of a month no
// partition covers yet, a batch with an event of that month and one of the
// next (a client's clock a few minutes ahead): both months' partitions are
// made and the batch is stored once, its rollups with it.
func TestIngestIntoMonthsWithoutPartitions(t *testing.T) {
	t.Parallel()
	may, june := time.Date(2041, 5, 1, 0, 0, 0, 0, time.UTC), time.Date(2041, 6, 1, 0, 0, 0, 0, time.UTC)
	b := setupClocked(t, june.Add(-10*time.Minute))
	require.False(t, partitionExists(t, b.db, may))
	require.False(t, partitionExists(t, b.db, june))

	res := b.write(t, usage("ann", "late-may", june.Add(-20*time.Minute)), usage("ann", "early-june", june.Add(5*time.Minute)))
	require.Equal(t, Result{Accepted: 2}, res)
	require.Equal(t, "events_y2041m05", b.partitionOf(t, "late-may"))
	require.Equal(t, "events_y2041m06", b.partitionOf(t, "early-june"))
	var count, days int
	require.NoError(t, b.db.QueryRow(`SELECT u.event_count, (SELECT count(*) FROM user_daily_activities d WHERE d.user_id = u.id)
		FROM users u WHERE u.project_id = $1 AND u.external_id = 'ann'`, b.projectID).Scan(&count, &days))
	require.Equal(t, 2, count, "counted once: the failed attempt left nothing")
	require.Equal(t, 2, days)

	require.Equal(t, Result{Duplicates: 2}, b.write(t, usage("ann", "late-may", june.Add(-20*time.Minute)),
		usage("ann", "early-june", june.Add(5*time.Minute))), "a retry stores nothing")
}

// TestDedupAcrossMonthBoundary retries a message with a timestamp in the
// next month, as a client whose clock moved would: the message key, kept
// apart from the partitions, finds it, before and after that month's
// partition is attached.
func TestDedupAcrossMonthBoundary(t *testing.T) {
	t.Parallel()
	february := time.Date(2042, 2, 1, 0, 0, 0, 0, time.UTC)
	b := setupClocked(t, february.Add(-30*time.Minute))
	require.Equal(t, Result{Accepted: 1}, b.write(t, usage("bea", "boundary", february.Add(-time.Hour))))
	require.Equal(t, "events_y2042m01", b.partitionOf(t, "boundary"))

	retry := usage("bea", "boundary", february.Add(15*time.Minute))
	require.Equal(t, Result{Duplicates: 1}, b.write(t, retry), "the retry in February is the January message")
	require.False(t, partitionExists(t, b.db, february), "the retry stored nothing, so needed no partition")

	created, err := partition.EnsureMonths(context.Background(), b.db, []time.Time{february})
	require.NoError(t, err)
	require.Equal(t, []string{"events_y2042m02"}, created)
	b.now = february.Add(20 * time.Minute)
	res := b.write(t, retry, usage("bea", "february", february.Add(10*time.Minute)))
	require.Equal(t, Result{Accepted: 1, Duplicates: 1}, res, "with February attached, the retry is still known")
	require.Equal(t, "events_y2042m01", b.partitionOf(t, "boundary"), "stored once, where it first went")
	require.Equal(t, "events_y2042m02", b.partitionOf(t, "february"))
	var count int
	require.NoError(t, b.db.QueryRow(`SELECT event_count FROM users WHERE project_id = $1 AND external_id = 'bea'`, b.projectID).Scan(&count))
	require.Equal(t, 2, count)
}

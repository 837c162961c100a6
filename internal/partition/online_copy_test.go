package partition_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/migrate"
	"github.com/pulse-analytics/pulse/internal/partition"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/privacy"
)

// copyProcessDSN is the environment variable that makes TestCopyProcess
// the copying process TestOnlineMigration kills.
const copyProcessDSN = "PULSE_PARTITION_COPY_DSN"

// copierName is the application_name of the copying process's sessions.
const copierName = "pulse_partition_copier"

// TestCopyProcess is the process TestOnlineMigration starts and kills: it
// runs the maintenance (the online copy) and prints each batch.
func TestCopyProcess(t *testing.T) {
	dsn := os.Getenv(copyProcessDSN)
	if dsn == "" {
		t.Skip("the copying process of TestOnlineMigration")
	}
	db, err := sql.Open("postgres", dsn)
	require.NoError(t, err)
	defer db.Close()
	_, err = partition.Maintain(context.Background(), db, partition.Options{OnCopyBatch: func(p partition.Progress) {
		fmt.Printf("batch %d %d\n", p.CopiedThrough, p.Rows)
	}})
	require.NoError(t, err)
}

// TestOnlineMigration partitions an installation's 2,000,000 events while
// ingestion, a merge and an erasure go on, kills the copying process half
// way (kill -9) and lets a second run resume: events ends with every row as
// the old table had it when the copy ended, the layout of a new
// installation, and every message key of the dedup window.
func TestOnlineMigration(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("loads 2,000,000 events")
	}
	in := olderInstallation(t, 2000, 2_000_000)
	ctx := context.Background()
	var erasedIDs []string
	require.NoError(t, in.db.QueryRow(`SELECT array_agg(message_id) FROM events WHERE user_id = (SELECT id FROM users WHERE external_id = 'u7')`).
		Scan(pq.Array(&erasedIDs)))
	visitorEvents := count(t, in.db, `SELECT count(*) FROM events WHERE user_id = $1`, in.visitor)
	require.Positive(t, visitorEvents)

	require.NoError(t, migrate.Up(ctx, in.db, nil))
	require.Equal(t, "r", text(t, in.bundle, `SELECT relkind::text FROM pg_class WHERE oid = 'events'::regclass`), "events is not converted at once")
	require.Equal(t, 0, count(t, in.db, `SELECT count(*) FROM events_partitioned`), "the migration copies nothing")
	parts := partitions(t, in.db, "events_partitioned")
	require.Contains(t, parts, partition.MonthName(partition.MonthStart(time.Now().AddDate(0, 0, -85))), "its months start at the data's")

	var retried []string // old messages of users the erasure leaves
	require.NoError(t, in.db.QueryRow(`SELECT array_agg(message_id ORDER BY id) FROM (SELECT id, message_id FROM events
		WHERE user_id <> (SELECT id FROM users WHERE external_id = 'u7') ORDER BY id LIMIT 5000) e`).Scan(pq.Array(&retried)))
	live := startIngest(t, in, retried)
	copier := startCopier(t, in)
	copier.waitBatches(t, 30)
	// A merge and an erasure of users whose events are on both sides of
	// the copy's progress, while it goes on.
	var wg sync.WaitGroup
	var mergeErr, eraseErr error
	wg.Go(func() {
		_, mergeErr = in.writer.Write(in.ingest, []ingest.Message{{Type: ingest.TypeIdentify, UserID: "u-merged", AnonymousID: "anon-merge",
			MessageID: "merge", Timestamp: time.Now()}})
	})
	wg.Go(func() {
		_, eraseErr = privacy.NewEraser(in.db).Erase(in.admin, privacy.Request{ExternalIDs: []string{"u7"}})
	})
	wg.Wait()
	require.NoError(t, mergeErr)
	require.NoError(t, eraseErr)
	copier.waitBatches(t, copier.batches()+10)
	copier.kill(t)
	var through, until int64
	require.NoError(t, in.db.QueryRow(`SELECT copied_through, copy_until FROM events_partition_copy`).Scan(&through, &until))
	require.Less(t, through, until, "killed half way")

	var before string
	batches := 0
	report, err := partition.Maintain(ctx, in.db, partition.Options{OnCopyBatch: func(p partition.Progress) {
		if batches++; batches == 5 {
			live.stop(t)
		}
		if p.Done() {
			before = digest(t, in.db, "events")
		}
	}})
	require.NoError(t, err)
	require.True(t, report.Swapped)
	require.NotEmpty(t, before)
	require.Equal(t, before, digest(t, in.db, "events"), "every row, every column")

	fresh, _ := pgtest.Own(t)
	require.Equal(t, schemaOf(t, fresh), schemaOf(t, in.db), "the layout of a new installation")
	require.Equal(t, 0, count(t, in.db, `SELECT count(*) FROM pg_inherits i WHERE i.inhparent = 'events'::regclass
		AND (SELECT count(*) FROM pg_index x WHERE x.indrelid = i.inhrelid AND x.indisvalid) <> 3`), "every partition has the three indexes")
	require.Equal(t, 0, count(t, in.db, `SELECT count(*) FROM events e WHERE received_at >= now() - interval '30 days'
		AND NOT EXISTS (SELECT FROM event_messages m WHERE m.project_id = e.project_id AND m.message_key = `+partition.KeySQL("e.message_id")+`)`),
		"every message of the dedup window has its key")
	require.Equal(t, 0, count(t, in.db, `SELECT count(*) FROM events WHERE message_id = ANY($1)`, pq.Array(erasedIDs)), "the erasure")
	require.Equal(t, 0, count(t, in.db, `SELECT count(*) FROM event_messages WHERE project_id = $1 AND message_key = ANY($2)`,
		in.projectID, pq.ByteaArray(keysOf(erasedIDs))), "the erasure's message keys")
	require.Equal(t, visitorEvents, count(t, in.db, `SELECT count(*) FROM events WHERE user_id = (SELECT id FROM users WHERE external_id = 'u-merged')`),
		"the merge")
	require.Equal(t, live.accepted, count(t, in.db, `SELECT count(*) FROM events WHERE message_id LIKE 'live-%'`))
	require.Positive(t, live.accepted)

	// Ingest goes on in the new table: new ids after the old ones, and
	// retries known within the dedup window.
	var recent, old string
	require.NoError(t, in.db.QueryRow(`SELECT message_id FROM events WHERE message_id LIKE 'm%' AND received_at > now() - interval '20 days' ORDER BY id DESC LIMIT 1`).Scan(&recent))
	require.NoError(t, in.db.QueryRow(`SELECT message_id FROM events WHERE message_id LIKE 'm%' AND received_at < now() - interval '40 days' ORDER BY id DESC LIMIT 1`).Scan(&old))
	res, err := in.writer.Write(in.ingest, []ingest.Message{usage("after", time.Now()), usage(live.last, time.Now()), usage(recent, time.Now()), usage(old, time.Now())})
	require.NoError(t, err)
	require.Equal(t, ingest.Result{Accepted: 2, Duplicates: 2}, res, "the old message, past the window, is new again")
	require.Equal(t, 1, count(t, in.db, `SELECT count(*) FROM events WHERE message_id = 'after' AND id > $1`, until))
}

// TestCopyResumesAfterCancel cancels the copy between batches: the next
// run resumes after the last committed batch and ends with the same rows.
func TestCopyResumesAfterCancel(t *testing.T) {
	t.Parallel()
	in := olderInstallation(t, 100, 30_000)
	require.NoError(t, migrate.Up(context.Background(), in.db, nil))
	before := digest(t, in.db, "events")

	ctx, cancel := context.WithCancel(context.Background())
	batches := 0
	_, err := partition.Maintain(ctx, in.db, partition.Options{BatchSize: 1000, OnCopyBatch: func(partition.Progress) {
		if batches++; batches == 7 {
			cancel()
		}
	}})
	require.ErrorIs(t, err, context.Canceled)
	var through int64
	var rows int
	require.NoError(t, in.db.QueryRow(`SELECT copied_through, rows_copied FROM events_partition_copy`).Scan(&through, &rows))
	require.Equal(t, 7000, rows)
	require.Equal(t, 7000, count(t, in.db, `SELECT count(*) FROM events_partitioned`))
	require.Equal(t, 7000, count(t, in.db, `SELECT count(*) FROM events WHERE id <= $1`, through))

	report, err := partition.Maintain(context.Background(), in.db, partition.Options{BatchSize: 1000})
	require.NoError(t, err)
	require.True(t, report.Swapped)
	require.Equal(t, int64(30_000), report.Copy.Rows, "each row read once in all")
	require.Equal(t, before, digest(t, in.db, "events"))
}

func usage(messageID string, at time.Time) ingest.Message {
	return ingest.Message{Type: ingest.TypeTrack, UserID: "u1", Event: "live", MessageID: messageID, Timestamp: at}
}

func keysOf(messageIDs []string) [][]byte {
	keys := make([][]byte, len(messageIDs))
	for i, id := range messageIDs {
		keys[i] = keyOf(id)
	}
	return keys
}

// ingestLoop writes batches until stopped: new events, and retries of old
// messages and of its own.
type ingestLoop struct {
	halt, done chan struct{}
	accepted   int
	last       string
	err        error
}

func startIngest(t *testing.T, in *installation, retried []string) *ingestLoop {
	t.Helper()
	l := &ingestLoop{halt: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for i := 0; ; i++ {
			select {
			case <-l.halt:
				return
			default:
			}
			var msgs []ingest.Message
			for j := range 50 {
				// Users the erasure (of u7) leaves alone.
				msgs = append(msgs, ingest.Message{Type: ingest.TypeTrack, UserID: "u" + strconv.Itoa(100+j), Event: "live",
					MessageID: fmt.Sprintf("live-%d-%d", i, j), Timestamp: time.Now().Add(-time.Duration(j) * time.Minute)})
			}
			for k := range 5 {
				msgs = append(msgs, usage(retried[(i*5+k)%len(retried)], time.Now()))
			}
			if l.last != "" {
				msgs = append(msgs, usage(l.last, time.Now()))
			}
			res, err := in.writer.Write(in.ingest, msgs)
			if err == nil && (res.Accepted != 50 || res.Duplicates != len(msgs)-50) {
				err = fmt.Errorf("batch %d: %+v, want 50 accepted and %d duplicates", i, res, len(msgs)-50)
			}
			if err != nil {
				l.err = err
				return
			}
			l.accepted += res.Accepted
			l.last = fmt.Sprintf("live-%d-0", i)
		}
	}()
	t.Cleanup(func() { l.stop(t) })
	return l
}

func (l *ingestLoop) stop(t *testing.T) {
	t.Helper()
	select {
	case <-l.halt:
	default:
		close(l.halt)
	}
	<-l.done
	require.NoError(t, l.err)
}

// copier is the copying process.
type copier struct {
	cmd *exec.Cmd
	mu  sync.Mutex
	n   int
	cnd *sync.Cond
	db  *sql.DB
}

func startCopier(t *testing.T, in *installation) *copier {
	t.Helper()
	u, err := url.Parse(in.dsn)
	require.NoError(t, err)
	q := u.Query()
	q.Set("application_name", copierName)
	u.RawQuery = q.Encode()
	c := &copier{db: in.db, cmd: exec.Command(os.Args[0], "-test.run=^TestCopyProcess$")}
	c.cnd = sync.NewCond(&c.mu)
	c.cmd.Env = append(os.Environ(), copyProcessDSN+"="+u.String())
	c.cmd.Stderr = os.Stderr
	stdout, err := c.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, c.cmd.Start())
	go func() {
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			if strings.HasPrefix(lines.Text(), "batch ") {
				c.mu.Lock()
				c.n++
				c.cnd.Broadcast()
				c.mu.Unlock()
			}
		}
		c.mu.Lock()
		c.n = -1 // the process ended
		c.cnd.Broadcast()
		c.mu.Unlock()
	}()
	t.Cleanup(func() { _ = c.cmd.Process.Kill() })
	return c
}

func (c *copier) batches() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *copier) waitBatches(t *testing.T, n int) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.n >= 0 && c.n < n {
		c.cnd.Wait()
	}
	require.GreaterOrEqual(t, c.n, n, "the copying process ended before %d batches", n)
}

// kill kills the process (SIGKILL) and waits until PostgreSQL has ended its
// sessions, which roll back the batch in flight.
func (c *copier) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, c.cmd.Process.Kill())
	_ = c.cmd.Wait()
	require.Eventually(t, func() bool {
		var n int
		return c.db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, copierName).Scan(&n) == nil && n == 0
	}, 30*time.Second, 20*time.Millisecond, "the killed process's sessions end")
}

// TestSwapWaitsBrieflyForItsLock: a swap that cannot have its locks within
// the lock timeout (a long reader of events) leaves events as it was, and
// the next run swaps.
func TestSwapWaitsBrieflyForItsLock(t *testing.T) {
	t.Parallel()
	in := olderInstallation(t, 10, 1000)
	require.NoError(t, migrate.Up(context.Background(), in.db, nil))
	before := digest(t, in.db, "events")
	reader, err := in.db.Begin()
	require.NoError(t, err)
	defer func() { _ = reader.Rollback() }()
	var n int
	require.NoError(t, reader.QueryRow(`SELECT count(*) FROM events`).Scan(&n))

	opts := partition.Options{LockTimeout: 50 * time.Millisecond}
	report, err := partition.Maintain(context.Background(), in.db, opts)
	require.NoError(t, err)
	require.True(t, report.Copy.Done())
	require.False(t, report.Swapped)
	require.Equal(t, "r", text(t, in.bundle, `SELECT relkind::text FROM pg_class WHERE oid = 'events'::regclass`))

	require.NoError(t, reader.Rollback())
	report, err = partition.Maintain(context.Background(), in.db, opts)
	require.NoError(t, err)
	require.True(t, report.Swapped)
	require.Equal(t, before, digest(t, in.db, "events"))
}

package discovery

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lib/pq"
	"github.com/riverqueue/river"
)

// Args is the discover_segments job: one discovery run.
type Args struct {
	RunID     int `json:"run_id"`
	ProjectID int `json:"project_id"`
}

// Kind names the job in River.
func (Args) Kind() string { return "discover_segments" }

// InsertOpts: a failed attempt is retried a few times (a lost connection),
// not forever.
func (Args) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 3} }

var _ river.JobArgsWithInsertOpts = Args{}

// Timeout bounds one discovery: a window of events scanned once, then
// clustering in memory.
const Timeout = 30 * time.Minute

// Worker runs discover_segments jobs.
type Worker struct {
	river.WorkerDefaults[Args]
	db  *sql.DB
	now func() time.Time
}

// NewWorker returns a Worker over db.
func NewWorker(db *sql.DB) *Worker { return &Worker{db: db, now: time.Now} }

// Timeout bounds one run.
func (w *Worker) Timeout(*river.Job[Args]) time.Duration { return Timeout }

// Work runs the discovery and stores its result on the run. A failure is
// recorded on the run (status FAILED, error); too few users is final, other
// errors are retried by River.
func (w *Worker) Work(ctx context.Context, job *river.Job[Args]) error {
	err := w.run(ctx, job.Args)
	if err == nil {
		return nil
	}
	if markErr := w.fail(context.WithoutCancel(ctx), job.Args, err); markErr != nil {
		return errors.Join(err, markErr)
	}
	if errors.Is(err, ErrTooFewUsers) {
		return river.JobCancel(err)
	}
	return err
}

func (w *Worker) run(ctx context.Context, a Args) error {
	p := Params{ProjectID: a.ProjectID, Now: w.now().UTC()}
	var k sql.NullInt64
	var seed int64
	err := w.db.QueryRowContext(ctx, `
		UPDATE discovery_runs SET status = 'RUNNING', started_at = $3, error = NULL, updated_at = $3
		WHERE id = $1 AND project_id = $2 RETURNING within_days, requested_k, seed`,
		a.RunID, a.ProjectID, p.Now).Scan(&p.WithinDays, &k, &seed)
	if errors.Is(err, sql.ErrNoRows) {
		// The project was deleted since: nothing to do.
		return nil
	}
	if err != nil {
		return fmt.Errorf("start discovery run %d: %w", a.RunID, err)
	}
	p.K, p.Seed = int(k.Int64), uint64(seed)
	res, err := Discover(ctx, w.db, p)
	if err != nil {
		return fmt.Errorf("discovery run %d: %w", a.RunID, err)
	}
	return w.store(ctx, a, res)
}

// store writes the result on the run. The run's row is locked first: an
// erasure holds the rows of the project's unfinished runs until it
// commits, so the members are then read against users as the erasure left
// them, and a user it erased is not stored back (see privacy).
func (w *Worker) store(ctx context.Context, a Args, res *Result) error {
	var kScores any // NULL when k was given
	if res.KScores != nil {
		kScores = jsonText(res.KScores)
	}
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin storing discovery run %d: %w", a.RunID, err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM discovery_runs WHERE id = $1 AND project_id = $2 FOR UPDATE`, a.RunID, a.ProjectID); err != nil {
		return fmt.Errorf("lock discovery run %d: %w", a.RunID, err)
	}
	members, err := existingMembers(ctx, tx, a.ProjectID, res.Members)
	if err != nil {
		return fmt.Errorf("store discovery run %d: %w", a.RunID, err)
	}
	_, err = tx.ExecContext(ctx, `
		UPDATE discovery_runs SET status = 'COMPLETED', finished_at = $3, updated_at = $3, k = $4, users = $5,
			silhouette = $6, k_scores = $7, clusters = $8, members = $9
		WHERE id = $1 AND project_id = $2`,
		a.RunID, a.ProjectID, w.now().UTC(), res.K, res.Users, res.Silhouette, kScores,
		jsonText(res.Clusters), jsonText(members))
	if err != nil {
		return fmt.Errorf("store discovery run %d: %w", a.RunID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit discovery run %d: %w", a.RunID, err)
	}
	return nil
}

// existingMembers is members without the users that no longer exist
// (erased, or merged into another since the clustering read them).
func existingMembers(ctx context.Context, tx *sql.Tx, projectID int, members [][]int) ([][]int, error) {
	var all []int64
	for _, cluster := range members {
		for _, id := range cluster {
			all = append(all, int64(id))
		}
	}
	var existing pq.Int64Array
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(array_agg(id), '{}') FROM users WHERE project_id = $1 AND id = ANY($2)`,
		projectID, pq.Array(all)).Scan(&existing); err != nil {
		return nil, fmt.Errorf("read the clustered users: %w", err)
	}
	if len(existing) == len(all) {
		return members, nil
	}
	exists := make(map[int]bool, len(existing))
	for _, id := range existing {
		exists[int(id)] = true
	}
	out := make([][]int, len(members))
	for i, cluster := range members {
		out[i] = []int{}
		for _, id := range cluster {
			if exists[id] {
				out[i] = append(out[i], id)
			}
		}
	}
	return out, nil
}

// fail records a failed attempt on the run.
func (w *Worker) fail(ctx context.Context, a Args, cause error) error {
	_, err := w.db.ExecContext(ctx, `
		UPDATE discovery_runs SET status = 'FAILED', error = $3, finished_at = now(), updated_at = now()
		WHERE id = $1 AND project_id = $2`, a.RunID, a.ProjectID, cause.Error())
	if err != nil {
		return fmt.Errorf("record failure of discovery run %d: %w", a.RunID, err)
	}
	return nil
}

// jsonText encodes v for a jsonb parameter: as text, because lib/pq sends
// []byte as bytea. The values are plain structs, slices and numbers, which
// always encode.
func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

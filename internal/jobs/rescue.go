package jobs

import (
	"context"
	"database/sql"
	"fmt"
)

// rescueSQL makes the running jobs whose last taker holds no liveness lock
// available again, or discarded when that was their last attempt, with an
// error saying why, like River's own rescuer. A transaction-level try-lock
// succeeds only when no session holds the key (it is released at commit).
// FOR UPDATE SKIP LOCKED leaves alone a job another process is rescuing or
// River is completing. The states and columns are River's (river_job,
// index river_job_prioritized_fetching_index covers state).
const rescueSQL = `
WITH running AS (
	SELECT id, attempted_by[cardinality(attempted_by)] AS holder FROM river_job
	WHERE state = 'running' AND cardinality(attempted_by) > 0 AND attempted_by[cardinality(attempted_by)] <> $1
	FOR UPDATE SKIP LOCKED
), dead AS (
	SELECT id, holder FROM running WHERE pg_try_advisory_xact_lock(hashtextextended($2 || holder, 0))
)
UPDATE river_job j SET
	state = CASE WHEN j.attempt >= j.max_attempts THEN 'discarded' ELSE 'available' END::river_job_state,
	finalized_at = CASE WHEN j.attempt >= j.max_attempts THEN now() END,
	scheduled_at = now(),
	errors = array_append(j.errors, jsonb_build_object('at', now(), 'attempt', j.attempt, 'trace', '',
		'error', 'the process working the job (' || dead.holder || ') died; rescued by ' || $1))
FROM dead WHERE j.id = dead.id AND j.state = 'running'`

// rescue rescues the running jobs of dead processes and returns how many.
func rescue(ctx context.Context, db *sql.DB, self string) (int64, error) {
	res, err := db.ExecContext(ctx, rescueSQL, self, lockNamespace)
	if err != nil {
		return 0, fmt.Errorf("rescue: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("rescue: %w", err)
	}
	return n, nil
}

package retention

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// The tables a retention deletes from, as Removed and the metrics name them.
const (
	TableEvents          = "events"
	TableDailyActivities = "user_daily_activities"
	TableFeedbacks       = "feedbacks"
	TableFeedbackChanges = "feedback_changes"
	TableSurveyResponses = "survey_responses"
)

// Tables lists them in the order a pass deletes.
var Tables = []string{TableEvents, TableDailyActivities, TableFeedbacks, TableFeedbackChanges, TableSurveyResponses}

// Every deletion walks an index in time order from a cursor: the next
// batch starts at the last time the previous one found (>=, as rows of
// one instant may be split across batches), so no batch wades through
// the index entries of the rows deleted before it, which stay until
// vacuum. Each batch deletes in one statement, a transaction of its own
// (feedback's, with its history, in one transaction of two).

// eventNames lists the event names of a project, one index probe each
// (event_project_id_name_timestamp): PostgreSQL 15 has no skip scan, and
// a DISTINCT would read every event of the project.
const eventNames = `
WITH RECURSIVE names(name) AS (
	(SELECT name FROM events WHERE project_id = $1 ORDER BY name LIMIT 1)
	UNION ALL
	SELECT (SELECT e.name FROM events e WHERE e.project_id = $1 AND e.name > names.name ORDER BY e.name LIMIT 1)
	FROM names WHERE names.name IS NOT NULL
)
SELECT name FROM names WHERE name IS NOT NULL`

// Events are deleted in two statements per batch: the batch's rows are
// selected by event_project_id_name_timestamp ($1 project, $2 name, $3
// cursor, $4 cutoff, $5 batch), then deleted by id within the time range
// they span. On events partitioned by timestamp the deletion reads only
// the partitions of that range (one, usually) and probes their keys by id;
// a join of the two, in one statement, is planned as a hash join that
// reads every partition before the cutoff, whole, for each batch.
const (
	expiredEvents = `
SELECT id, "timestamp" FROM events
WHERE project_id = $1 AND name = $2 AND "timestamp" >= $3 AND "timestamp" < $4
ORDER BY "timestamp" LIMIT $5`
	deleteEvents = `
DELETE FROM events WHERE project_id = $1 AND "timestamp" >= $2 AND "timestamp" <= $3 AND id = ANY($4)`
)

func (r *run) events(ctx context.Context) (bool, error) {
	names, err := r.strings(ctx, eventNames)
	if err != nil {
		return false, fmt.Errorf("event names of project %d: %w", r.project, err)
	}
	for _, name := range names {
		done, err := r.batches(ctx, TableEvents, func(from time.Time) (batch, error) {
			return r.eventBatch(ctx, name, from)
		})
		if err != nil || !done {
			return false, err
		}
	}
	return true, nil
}

// eventBatch deletes a batch of one name's expired events from from on.
func (r *run) eventBatch(ctx context.Context, name string, from time.Time) (batch, error) {
	ids, first, last, err := r.expired(ctx, r.db, expiredEvents, r.project, name, from, r.cutoff.Time, r.opts.BatchSize)
	if err != nil || len(ids) == 0 {
		return batch{}, err
	}
	res, err := r.db.ExecContext(ctx, deleteEvents, r.project, first, last, pq.Array(ids))
	if err != nil {
		return batch{}, err
	}
	deleted, err := res.RowsAffected()
	if err != nil {
		return batch{}, err
	}
	return batch{found: len(ids), deleted: int(deleted), last: last}, nil
}

// expired runs a query of expired rows' ids and times, in time order, and
// returns the ids and the first and last times.
func (r *run) expired(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, query string, args ...any) (ids []int64, first, last time.Time, err error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, first, last, err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id, &last); err != nil {
			return nil, first, last, err
		}
		if len(ids) == 0 {
			first = last
		}
		ids = append(ids, id)
	}
	return ids, first, last, rows.Err()
}

// deleteDays deletes a batch of a project's expired daily activity, found
// by userdailyactivity_project_id_day: $1 project, $2 cursor, $3 first
// day kept, $4 batch. The last day deleted is answered as midnight UTC.
const deleteDays = `
WITH doomed AS (
	SELECT id FROM user_daily_activities
	WHERE project_id = $1 AND day >= $2::date AND day < $3::date
	ORDER BY day LIMIT $4
), gone AS (
	DELETE FROM user_daily_activities a USING doomed d WHERE a.id = d.id RETURNING a.day
)
SELECT count(*), max(day)::timestamp AT TIME ZONE 'UTC' FROM gone`

func (r *run) dailyActivity(ctx context.Context) (bool, error) {
	return r.batches(ctx, TableDailyActivities, func(from time.Time) (batch, error) {
		return r.timedBatch(ctx, deleteDays, r.project, from.UTC().Format(time.DateOnly), r.cutoff.FirstDay, r.opts.BatchSize)
	})
}

// expiredFeedback selects a batch of a project's expired feedback, by
// feedback_project_id_timestamp: $1 project, $2 cursor, $3 cutoff, $4 batch.
const expiredFeedback = `
SELECT id, "timestamp" FROM feedbacks
WHERE project_id = $1 AND "timestamp" >= $2 AND "timestamp" < $3
ORDER BY "timestamp" LIMIT $4`

// feedback deletes expired feedback with its history, a batch per
// transaction: the history first, by feedbackchange_feedback_id_created_at
// (the cascade from feedbacks would do it too, uncounted).
func (r *run) feedback(ctx context.Context) (bool, error) {
	return r.batches(ctx, TableFeedbacks, func(from time.Time) (batch, error) {
		return r.feedbackBatch(ctx, from)
	})
}

func (r *run) feedbackBatch(ctx context.Context, from time.Time) (batch, error) {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return batch{}, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	ids, _, last, err := r.expired(ctx, tx, expiredFeedback, r.project, from, r.cutoff.Time, r.opts.BatchSize)
	if err != nil {
		return batch{}, fmt.Errorf("select expired feedback: %w", err)
	}
	if len(ids) == 0 {
		return batch{}, nil
	}
	changes, err := tx.ExecContext(ctx, `DELETE FROM feedback_changes WHERE project_id = $1 AND feedback_id = ANY($2)`, r.project, pq.Array(ids))
	if err != nil {
		return batch{}, fmt.Errorf("delete the history of expired feedback: %w", err)
	}
	feedback, err := tx.ExecContext(ctx, `DELETE FROM feedbacks WHERE project_id = $1 AND id = ANY($2)`, r.project, pq.Array(ids))
	if err != nil {
		return batch{}, fmt.Errorf("delete expired feedback: %w", err)
	}
	history, err := changes.RowsAffected()
	if err != nil {
		return batch{}, err
	}
	deleted, err := feedback.RowsAffected()
	if err != nil {
		return batch{}, err
	}
	if err := tx.Commit(); err != nil {
		return batch{}, fmt.Errorf("commit: %w", err)
	}
	r.count(TableFeedbackChanges, int(history))
	return batch{found: len(ids), deleted: int(deleted), last: last}, nil
}

// deleteResponses deletes a batch of one survey's expired responses, by
// surveyresponse_survey_id_submitted_at: $1 project, $2 survey, $3
// cursor, $4 cutoff, $5 batch.
const deleteResponses = `
WITH doomed AS (
	SELECT id FROM survey_responses
	WHERE survey_id = $2 AND project_id = $1 AND submitted_at >= $3 AND submitted_at < $4
	ORDER BY submitted_at LIMIT $5
), gone AS (
	DELETE FROM survey_responses r USING doomed d WHERE r.id = d.id RETURNING r.submitted_at
)
SELECT count(*), max(submitted_at) FROM gone`

func (r *run) surveyResponses(ctx context.Context) (bool, error) {
	surveys, err := r.strings(ctx, `SELECT id::text FROM surveys WHERE project_id = $1 ORDER BY id`)
	if err != nil {
		return false, fmt.Errorf("surveys of project %d: %w", r.project, err)
	}
	for _, survey := range surveys {
		done, err := r.batches(ctx, TableSurveyResponses, func(from time.Time) (batch, error) {
			return r.timedBatch(ctx, deleteResponses, r.project, survey, from, r.cutoff.Time, r.opts.BatchSize)
		})
		if err != nil || !done {
			return false, err
		}
	}
	return true, nil
}

// batch is what one batch did: the expired rows it found (a full batch
// means there may be more), the rows it deleted (fewer when something
// else deleted some meanwhile, an erasure say) and the last one's time,
// the next batch's cursor.
type batch struct {
	found, deleted int
	last           time.Time
}

// batches runs next from the start of time until a batch finds less than
// a full batch (true), or the budget is spent with more to delete (false).
func (r *run) batches(ctx context.Context, table string, next func(from time.Time) (batch, error)) (bool, error) {
	from := time.Time{}
	for {
		b, err := next(from)
		if err != nil {
			return false, fmt.Errorf("project %d, %s: %w", r.project, table, err)
		}
		r.deleted(ctx, table, b.deleted)
		switch {
		case b.found < r.opts.BatchSize:
			return true, nil
		case r.spent():
			return false, nil
		}
		from = b.last
	}
}

// timedBatch runs a deleting statement that answers how many rows it
// deleted and the latest time among them.
func (r *run) timedBatch(ctx context.Context, query string, args ...any) (batch, error) {
	var (
		n    int
		last sql.NullTime
	)
	if err := r.db.QueryRowContext(ctx, query, args...).Scan(&n, &last); err != nil {
		return batch{}, err
	}
	return batch{found: n, deleted: n, last: last.Time}, nil
}

// strings runs a query of one text column for the project.
func (r *run) strings(ctx context.Context, query string) ([]string, error) {
	rows, err := r.db.QueryContext(ctx, query, r.project)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

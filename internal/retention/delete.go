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
// batch starts at the last time the previous one deleted (>=, as rows of
// one instant may be split across batches), so no batch wades through
// the index entries of the rows deleted before it, which stay until
// vacuum. Each statement is a transaction of its own.

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

// deleteEvents deletes a batch of one event name's expired events, found
// by event_project_id_name_timestamp. The rows are named by (id,
// timestamp) and the deletion repeats the time range, so that it works on
// events partitioned by timestamp too, reading only the partitions the
// range reaches: $1 project, $2 name, $3 cursor, $4 cutoff, $5 batch.
const deleteEvents = `
WITH doomed AS (
	SELECT id, "timestamp" FROM events
	WHERE project_id = $1 AND name = $2 AND "timestamp" >= $3 AND "timestamp" < $4
	ORDER BY "timestamp" LIMIT $5
), gone AS (
	DELETE FROM events e USING doomed d
	WHERE e.project_id = $1 AND e."timestamp" >= $3 AND e."timestamp" < $4 AND e.id = d.id AND e."timestamp" = d."timestamp"
	RETURNING e."timestamp"
)
SELECT count(*), max("timestamp") FROM gone`

func (r *run) events(ctx context.Context) (bool, error) {
	names, err := r.strings(ctx, eventNames)
	if err != nil {
		return false, fmt.Errorf("event names of project %d: %w", r.project, err)
	}
	for _, name := range names {
		done, err := r.batches(ctx, TableEvents, func(from time.Time) (int, time.Time, error) {
			return r.timedBatch(ctx, deleteEvents, r.project, name, from, r.cutoff.Time, r.opts.BatchSize)
		})
		if err != nil || !done {
			return false, err
		}
	}
	return true, nil
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
	return r.batches(ctx, TableDailyActivities, func(from time.Time) (int, time.Time, error) {
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
	return r.batches(ctx, TableFeedbacks, func(from time.Time) (int, time.Time, error) {
		return r.feedbackBatch(ctx, from)
	})
}

func (r *run) feedbackBatch(ctx context.Context, from time.Time) (n int, last time.Time, err error) {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, last, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	rows, err := tx.QueryContext(ctx, expiredFeedback, r.project, from, r.cutoff.Time, r.opts.BatchSize)
	if err != nil {
		return 0, last, fmt.Errorf("select expired feedback: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id, &last); err != nil {
			_ = rows.Close()
			return 0, last, fmt.Errorf("select expired feedback: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return 0, last, fmt.Errorf("select expired feedback: %w", err)
	}
	_ = rows.Close()
	if len(ids) == 0 {
		return 0, last, nil
	}
	changes, err := tx.ExecContext(ctx, `DELETE FROM feedback_changes WHERE project_id = $1 AND feedback_id = ANY($2)`, r.project, pq.Array(ids))
	if err != nil {
		return 0, last, fmt.Errorf("delete the history of expired feedback: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM feedbacks WHERE project_id = $1 AND id = ANY($2)`, r.project, pq.Array(ids)); err != nil {
		return 0, last, fmt.Errorf("delete expired feedback: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, last, fmt.Errorf("commit: %w", err)
	}
	history, err := changes.RowsAffected()
	if err != nil {
		return 0, last, fmt.Errorf("delete the history of expired feedback: %w", err)
	}
	r.count(TableFeedbackChanges, int(history))
	return len(ids), last, nil
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
		done, err := r.batches(ctx, TableSurveyResponses, func(from time.Time) (int, time.Time, error) {
			return r.timedBatch(ctx, deleteResponses, r.project, survey, from, r.cutoff.Time, r.opts.BatchSize)
		})
		if err != nil || !done {
			return false, err
		}
	}
	return true, nil
}

// batches runs batch from the start of time until one deletes less than a
// full batch (true), or the budget is spent with more to delete (false).
func (r *run) batches(ctx context.Context, table string, batch func(from time.Time) (int, time.Time, error)) (bool, error) {
	from := time.Time{}
	for {
		n, last, err := batch(from)
		if err != nil {
			return false, fmt.Errorf("project %d, %s: %w", r.project, table, err)
		}
		r.deleted(ctx, table, n)
		switch {
		case n < r.opts.BatchSize:
			return true, nil
		case r.spent():
			return false, nil
		}
		from = last
	}
}

// timedBatch runs a deleting statement that answers how many rows it
// deleted and the latest time among them.
func (r *run) timedBatch(ctx context.Context, query string, args ...any) (int, time.Time, error) {
	var (
		n    int
		last sql.NullTime
	)
	if err := r.db.QueryRowContext(ctx, query, args...).Scan(&n, &last); err != nil {
		return 0, time.Time{}, err
	}
	return n, last.Time, nil
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

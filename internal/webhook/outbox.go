package webhook

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/lib/pq"
	"github.com/riverqueue/river"

	"github.com/pulse-analytics/pulse/ent/webhookendpoint"
)

// The message types, as the body's "type" says them.
const (
	TypeEntered   = "segment.entered"
	TypeExited    = "segment.exited"
	TypeRunFailed = "segment.run_failed"
)

// The events an endpoint subscribes to, as its events field lists them.
const (
	EventEntered   = "ENTERED"
	EventExited    = "EXITED"
	EventRunFailed = "RUN_FAILED"
)

// Run is a committed run as the outbox needs it: who it moved.
type Run struct {
	ProjectID, SegmentID, RunID, Seq int
	// At is when the run wrote its changes: the body's timestamp.
	At time.Time
	// Entered and Exited are the ids of the users the run moved, sorted.
	Entered, Exited []int64
}

// RunFailure is a run that failed for good (no retry follows).
type RunFailure struct {
	ProjectID, SegmentID, RunID int
	At                          time.Time
	Error                       string
}

// subscriber is an enabled endpoint that wants some of a run's messages.
type subscriber struct {
	id, batchSize              int
	kind                       webhookendpoint.Kind
	entered, exited, runFailed bool
}

// subscribersSQL finds the enabled endpoints of a project that deliver a
// segment: one probe of webhookendpoint_project_id_created_at, which is
// all a run costs a project without endpoints.
const subscribersSQL = `
	SELECT id, kind, batch_size, events ? $3, events ? $4, events ? $5 FROM webhook_endpoints
	WHERE project_id = $1 AND disabled_at IS NULL
		AND (segment_ids = '[]'::jsonb OR segment_ids @> jsonb_build_array($2::bigint))`

func subscribers(ctx context.Context, tx *sql.Tx, projectID, segmentID int) ([]subscriber, error) {
	rows, err := tx.QueryContext(ctx, subscribersSQL, projectID, segmentID, EventEntered, EventExited, EventRunFailed)
	if err != nil {
		return nil, fmt.Errorf("endpoints of segment %d: %w", segmentID, err)
	}
	defer func() { _ = rows.Close() }()
	var subs []subscriber
	for rows.Next() {
		var s subscriber
		if err := rows.Scan(&s.id, &s.kind, &s.batchSize, &s.entered, &s.exited, &s.runFailed); err != nil {
			return nil, fmt.Errorf("endpoints of segment %d: %w", segmentID, err)
		}
		subs = append(subs, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("endpoints of segment %d: %w", segmentID, err)
	}
	return subs, nil
}

// EnqueueRun writes the messages of a committed run into the outbox, in
// tx (the run's own transaction), for every enabled endpoint that wants
// the segment and the event, and queues the delivery of each endpoint's
// stream of the segment in the same transaction: the messages exist if
// and only if the run commits. A run that moved nobody costs nothing; one
// in a project without endpoints, one index probe.
func EnqueueRun(ctx context.Context, tx *sql.Tx, run Run) error {
	if len(run.Entered) == 0 && len(run.Exited) == 0 {
		return nil
	}
	subs, err := subscribers(ctx, tx, run.ProjectID, run.SegmentID)
	if err != nil || len(subs) == 0 {
		return err
	}
	wrote := map[int]bool{}
	for _, t := range []struct {
		typ   string
		users []int64
		wants func(subscriber) bool
	}{
		{TypeEntered, run.Entered, func(s subscriber) bool { return s.entered }},
		{TypeExited, run.Exited, func(s subscriber) bool { return s.exited }},
	} {
		var ids, sizes []int64
		for _, s := range subs {
			if t.wants(s) && len(t.users) > 0 {
				ids, sizes = append(ids, int64(s.id)), append(sizes, int64(s.batchSize))
				wrote[s.id] = true
			}
		}
		if len(ids) == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, insertChangesSQL, run.ProjectID, run.SegmentID, run.RunID, run.Seq, t.typ,
			run.At.UTC().Format(time.RFC3339Nano), pq.Array(t.users), pq.Array(ids), pq.Array(sizes), t.typ == TypeExited); err != nil {
			return fmt.Errorf("write %s messages of run %d: %w", t.typ, run.RunID, err)
		}
	}
	return queueStreams(ctx, tx, run.SegmentID, wrote)
}

// insertChangesSQL writes one run's messages of one type for several
// endpoints: the users ($7, sorted) in parts of each endpoint's batch size,
// each part one message whose body is the exact JSON to send. Entering
// users are read under the run's KEY SHARE lock; a user that left because a
// merge deleted it is sent with its id only (externalId and traits null). A
// user without traits has {}.
const insertChangesSQL = `
	WITH moved AS (
		SELECT m.user_id, u.external_id, CASE WHEN u.id IS NOT NULL THEN COALESCE(u.traits, '{}'::jsonb) END AS traits,
			row_number() OVER (ORDER BY m.user_id) - 1 AS ord
		FROM unnest($7::bigint[]) m(user_id) LEFT JOIN users u ON u.id = m.user_id AND u.project_id = $1
		WHERE $10::boolean OR u.id IS NOT NULL
	), endpoint AS (
		SELECT * FROM unnest($8::bigint[], $9::bigint[]) e(id, batch_size)
	), segment AS (
		SELECT name FROM segments WHERE id = $2
	)
	INSERT INTO webhook_messages (project_id, endpoint_id, segment_id, run_id, seq, part, type, webhook_id, body, state, attempts, created_at)
	SELECT $1::bigint, e.id, $2::bigint, $3::bigint, $4::bigint, m.ord / e.batch_size, $5::text, 'msg_' || replace(gen_random_uuid()::text, '-', ''),
		json_build_object('type', $5::text, 'timestamp', $6::text, 'data', json_build_object(
			'segment', json_build_object('id', $2::text, 'name', (SELECT name FROM segment)),
			'run', json_build_object('id', $3::text, 'seq', $4::bigint),
			'users', json_agg(json_build_object('id', m.user_id::text, 'externalId', m.external_id, 'traits', m.traits) ORDER BY m.user_id)))::text,
		'PENDING', 0, now()
	FROM endpoint e CROSS JOIN moved m
	GROUP BY e.id, m.ord / e.batch_size
	ORDER BY e.id, m.ord / e.batch_size`

// EnqueueRunFailure writes a segment.run_failed message for every enabled
// endpoint that wants them, in tx (the transaction recording the failure).
// Its seq is the segment's last committed run's (a failed run has none of
// its own), so it is delivered after that run's messages.
func EnqueueRunFailure(ctx context.Context, tx *sql.Tx, f RunFailure) error {
	subs, err := subscribers(ctx, tx, f.ProjectID, f.SegmentID)
	if err != nil || len(subs) == 0 {
		return err
	}
	var ids []int64
	wrote := map[int]bool{}
	for _, s := range subs {
		// A Segment destination has no call for a failed run.
		if s.runFailed && s.kind == webhookendpoint.KindWEBHOOK {
			ids = append(ids, int64(s.id))
			wrote[s.id] = true
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, insertFailureSQL, f.ProjectID, f.SegmentID, f.RunID, TypeRunFailed,
		f.At.UTC().Format(time.RFC3339Nano), f.Error, pq.Array(ids)); err != nil {
		return fmt.Errorf("write run_failed messages of run %d: %w", f.RunID, err)
	}
	return queueStreams(ctx, tx, f.SegmentID, wrote)
}

// insertFailureSQL writes one segment.run_failed message per endpoint ($7).
const insertFailureSQL = `
	WITH segment AS (
		SELECT name, (SELECT COALESCE(max(seq), 0) FROM segment_runs WHERE segment_id = $2) AS seq FROM segments WHERE id = $2
	)
	INSERT INTO webhook_messages (project_id, endpoint_id, segment_id, run_id, seq, part, type, webhook_id, body, state, attempts, created_at)
	SELECT $1::bigint, e.id, $2::bigint, $3::bigint, s.seq, 0, $4::text, 'msg_' || replace(gen_random_uuid()::text, '-', ''),
		json_build_object('type', $4::text, 'timestamp', $5::text, 'data', json_build_object(
			'segment', json_build_object('id', $2::text, 'name', s.name),
			'run', json_build_object('id', $3::text, 'seq', NULL),
			'users', '[]'::json,
			'error', $6::text))::text,
		'PENDING', 0, now()
	FROM unnest($7::bigint[]) e(id) CROSS JOIN segment s
	ORDER BY e.id`

// queueStreams queues the delivery job of each endpoint's stream of the
// segment, in tx. A stream whose job is already waiting or running keeps
// it: the job delivers every pending message of its stream, and one that
// is finishing hands over to a successor (see handOff).
func queueStreams(ctx context.Context, tx *sql.Tx, segmentID int, endpoints map[int]bool) error {
	if len(endpoints) == 0 {
		return nil
	}
	client, err := inserter(ctx)
	if err != nil {
		return err
	}
	// In endpoint order: concurrent inserts lock the jobs they find in the
	// same order.
	ids := slices.Sorted(maps.Keys(endpoints))
	params := make([]river.InsertManyParams, len(ids))
	for i, id := range ids {
		params[i] = river.InsertManyParams{Args: DeliverArgs{EndpointID: id, SegmentID: segmentID}}
	}
	if _, err := client.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("queue deliveries of segment %d: %w", segmentID, err)
	}
	return nil
}

package webhook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/lib/pq"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

var (
	// ErrNoMessage is returned for a message that is not the project's.
	ErrNoMessage = errors.New("no such webhook message")
	// ErrNoEndpoint is returned for an endpoint that is not the project's.
	ErrNoEndpoint = errors.New("no such webhook endpoint")
	// ErrEndpointDisabled is returned when asked to send to a disabled
	// endpoint: enable it first.
	ErrEndpointDisabled = errors.New("the webhook endpoint is disabled")
)

// Redeliver sends a message of the project again, as soon as its stream's
// earlier pending messages are delivered: it is PENDING again with a fresh
// retry schedule (its attempt count starts over; the attempts made stay in
// the log), and its stream's delivery is queued in the same transaction.
// The receiver gets the same webhook-id and body as before.
func Redeliver(ctx context.Context, db *sql.DB, projectID, messageID int) error {
	return inTx(ctx, db, func(tx *sql.Tx) error {
		var s DeliverArgs
		var disabled bool
		err := tx.QueryRowContext(ctx, `
			SELECT m.endpoint_id, m.segment_id, e.disabled_at IS NOT NULL FROM webhook_messages m
			JOIN webhook_endpoints e ON e.id = m.endpoint_id WHERE m.id = $1 AND m.project_id = $2`,
			messageID, projectID).Scan(&s.EndpointID, &s.SegmentID, &disabled)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("redeliver message %d: %w", messageID, ErrNoMessage)
		}
		if err != nil {
			return fmt.Errorf("redeliver message %d: %w", messageID, err)
		}
		if disabled {
			return fmt.Errorf("redeliver message %d: %w", messageID, ErrEndpointDisabled)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_messages SET state = 'PENDING', attempts = 0, next_attempt_at = NULL, delivered_at = NULL
			WHERE id = $1`, messageID); err != nil {
			return fmt.Errorf("redeliver message %d: %w", messageID, err)
		}
		return wake(ctx, tx, []DeliverArgs{s})
	})
}

// Replay sends again every message of an endpoint of the project whose seq
// is after fromSeq (for a receiver that lost data), in each segment's seq
// order, and returns how many. Like Redeliver, each is PENDING again with
// a fresh retry schedule, and the streams' deliveries are queued in the
// same transaction.
func Replay(ctx context.Context, db *sql.DB, projectID, endpointID, fromSeq int) (int, error) {
	var replayed int
	err := inTx(ctx, db, func(tx *sql.Tx) error {
		var disabled bool
		err := tx.QueryRowContext(ctx, `SELECT disabled_at IS NOT NULL FROM webhook_endpoints WHERE id = $1 AND project_id = $2 FOR KEY SHARE`,
			endpointID, projectID).Scan(&disabled)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("replay endpoint %d: %w", endpointID, ErrNoEndpoint)
		}
		if err != nil {
			return fmt.Errorf("replay endpoint %d: %w", endpointID, err)
		}
		if disabled {
			return fmt.Errorf("replay endpoint %d: %w", endpointID, ErrEndpointDisabled)
		}
		var segments pq.Int64Array
		// webhookmessage_endpoint_id_segment_id_seq_part finds them.
		if err := tx.QueryRowContext(ctx, `
			WITH replayed AS (
				UPDATE webhook_messages SET state = 'PENDING', attempts = 0, next_attempt_at = NULL, delivered_at = NULL
				WHERE endpoint_id = $1 AND seq > $2 RETURNING segment_id
			) SELECT count(*), COALESCE(array_agg(DISTINCT segment_id), '{}') FROM replayed`,
			endpointID, fromSeq).Scan(&replayed, &segments); err != nil {
			return fmt.Errorf("replay endpoint %d: %w", endpointID, err)
		}
		streams := make([]DeliverArgs, len(segments))
		for i, segmentID := range segments {
			streams[i] = DeliverArgs{EndpointID: endpointID, SegmentID: int(segmentID)}
		}
		return wake(ctx, tx, streams)
	})
	return replayed, err
}

// wake queues the delivery of each stream in tx; a stream whose job waits
// for a later retry (or after a database error) is made due now, so the
// messages made pending are sent at once. A running job delivers them
// itself: it reads the pending messages before each attempt and before it
// hands off.
func wake(ctx context.Context, tx *sql.Tx, streams []DeliverArgs) error {
	if len(streams) == 0 {
		return nil
	}
	client, err := inserter(ctx)
	if err != nil {
		return err
	}
	params := make([]river.InsertManyParams, len(streams))
	for i, s := range streams {
		params[i] = river.InsertManyParams{Args: s}
	}
	results, err := client.InsertManyTx(ctx, tx, params)
	if err != nil {
		return fmt.Errorf("queue deliveries: %w", err)
	}
	for _, res := range results {
		waiting := []rivertype.JobState{rivertype.JobStateScheduled, rivertype.JobStateRetryable}
		if res.UniqueSkippedAsDuplicate && slices.Contains(waiting, res.Job.State) {
			if _, err := client.JobRetryTx(ctx, tx, res.Job.ID); err != nil {
				return fmt.Errorf("wake delivery job %d: %w", res.Job.ID, err)
			}
		}
	}
	return nil
}

func inTx(ctx context.Context, db *sql.DB, f func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := f(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

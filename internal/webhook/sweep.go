package webhook

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/riverqueue/river"
)

// sweepArgs is the webhook_sweep periodic job.
type sweepArgs struct{}

func (sweepArgs) Kind() string { return "webhook_sweep" }

func (sweepArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueDeliveries, MaxAttempts: 1}
}

// sweepWorker queues the delivery of every stream with pending messages.
// A stream's job is there as long as it has pending messages (queued with
// them, or by its predecessor's hand-off): the unique insert skips those,
// and only a stream whose job River discarded (after repeated database
// errors) gets a new one.
type sweepWorker struct {
	river.WorkerDefaults[sweepArgs]
	db *sql.DB
}

// pendingStreamsSQL reads the streams with pending messages through
// webhookmessage_pending_stream (pending messages only).
const pendingStreamsSQL = `SELECT DISTINCT endpoint_id, segment_id FROM webhook_messages WHERE state = 'PENDING'`

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[sweepArgs]) error {
	rows, err := w.db.QueryContext(ctx, pendingStreamsSQL)
	if err != nil {
		return fmt.Errorf("pending streams: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var params []river.InsertManyParams
	for rows.Next() {
		var s DeliverArgs
		if err := rows.Scan(&s.EndpointID, &s.SegmentID); err != nil {
			return fmt.Errorf("pending streams: %w", err)
		}
		params = append(params, river.InsertManyParams{Args: s})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("pending streams: %w", err)
	}
	if len(params) == 0 {
		return nil
	}
	if _, err := river.ClientFromContext[*sql.Tx](ctx).InsertMany(ctx, params); err != nil {
		return fmt.Errorf("queue pending streams: %w", err)
	}
	return nil
}

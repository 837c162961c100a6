package retention

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/riverqueue/river"
)

// Enqueuer queues apply_retention jobs.
type Enqueuer struct {
	river *river.Client[*sql.Tx]
}

// NewEnqueuer returns an Enqueuer; the River client only needs to insert.
func NewEnqueuer(client *river.Client[*sql.Tx]) *Enqueuer { return &Enqueuer{river: client} }

// EnqueueTx queues project projectID's job in tx, the transaction that
// changes its retention: the job exists exactly when the change commits,
// and is worked as soon as a worker polls. A job of the project already
// waiting is that one; one running reads the change before it ends.
func (e *Enqueuer) EnqueueTx(ctx context.Context, tx *sql.Tx, projectID int) error {
	if _, err := e.river.InsertTx(ctx, tx, Args{ProjectID: projectID}, nil); err != nil {
		return fmt.Errorf("queue the retention of project %d: %w", projectID, err)
	}
	return nil
}

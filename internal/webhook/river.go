package webhook

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"

	"github.com/pulse-analytics/pulse/internal/jobstate"
)

// QueueDeliveries is the River queue of deliveries: apart from recomputes,
// so a slow receiver never delays a segment, nor a long recompute a
// delivery.
const QueueDeliveries = "webhooks"

// DeliverArgs is the webhook_deliver job: the delivery of one stream, the
// pending messages of one endpoint for one segment, in order. It is unique
// over its stream while waiting or running (River requires running among
// the unique states): at most one job delivers a stream.
type DeliverArgs struct {
	EndpointID int `json:"endpoint_id" river:"unique"`
	SegmentID  int `json:"segment_id" river:"unique"`
}

// Kind names the job in River.
func (DeliverArgs) Kind() string { return "webhook_deliver" }

// InsertOpts put the job on its queue, unique per stream.
func (DeliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue: QueueDeliveries,
		// A job fails only when the database does (a receiver's failure is
		// a message's retry, not the job's); the sweep re-queues a stream
		// whose job River gave up.
		MaxAttempts: 10,
		UniqueOpts: river.UniqueOpts{
			ByArgs:  true,
			ByState: jobstate.WaitingOrRunning(),
		},
	}
}

var _ river.JobArgsWithInsertOpts = DeliverArgs{}

// Options configure the delivery workers.
type Options struct {
	// Client sends the messages (default NewClient with the zero
	// ClientOptions: https and public addresses only).
	Client *http.Client
	// Now is the clock of attempts and schedules (default time.Now).
	Now func() time.Time
	// OnAttempt observes each attempt once it is recorded: the endpoint,
	// its outcome (see the Outcome constants) and how long the receiver
	// took (zero when nothing was sent).
	OnAttempt func(endpointID int, outcome string, latency time.Duration)
	// RetrySchedule, when set, replaces Standard Webhooks' schedule (and
	// its jitter): the delay after each failed attempt, its length the
	// attempts a message gets. Tests shorten it.
	RetrySchedule []time.Duration
	// SweepPeriod is how often streams with pending messages and no job
	// are queued again (default DefaultSweepPeriod; negative: never).
	SweepPeriod time.Duration
}

// DefaultSweepPeriod is how often the sweep looks for streams whose job
// went missing (River discarded it after repeated database errors).
const DefaultSweepPeriod = time.Minute

func (o Options) withDefaults() Options {
	if o.Client == nil {
		o.Client = NewClient(ClientOptions{})
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OnAttempt == nil {
		o.OnAttempt = func(int, string, time.Duration) {}
	}
	if o.SweepPeriod == 0 {
		o.SweepPeriod = DefaultSweepPeriod
	}
	return o
}

// AddWorkers registers the workers of the webhook jobs: deliveries and
// the sweep of streams left without a job.
func AddWorkers(workers *river.Workers, db *sql.DB, opts Options) {
	opts = opts.withDefaults()
	river.AddWorker(workers, &deliverWorker{db: db, opts: opts})
	river.AddWorker(workers, &sweepWorker{db: db})
}

// PeriodicJobs are the webhook periodic jobs; River's leader inserts them.
func PeriodicJobs(opts Options) []*river.PeriodicJob {
	opts = opts.withDefaults()
	if opts.SweepPeriod < 0 {
		return nil
	}
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(opts.SweepPeriod),
		func() (river.JobArgs, *river.InsertOpts) { return sweepArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})}
}

// insertOnly is a River client that only inserts jobs in a caller's
// transaction; it holds no pool and starts nothing. It is built once: a
// client is immutable once made.
var insertOnly = sync.OnceValues(func() (*river.Client[*sql.Tx], error) {
	return river.NewClient(riverdatabasesql.New(nil), &river.Config{})
})

// inserter is the River client that queues deliveries in a transaction:
// the job's own client inside a job (a recompute, a pass), else one that
// only inserts (a run written outside River, a GraphQL mutation).
func inserter(ctx context.Context) (*river.Client[*sql.Tx], error) {
	if client, err := river.ClientFromContextSafely[*sql.Tx](ctx); err == nil {
		return client, nil
	}
	client, err := insertOnly()
	if err != nil {
		return nil, fmt.Errorf("river client for deliveries: %w", err)
	}
	return client, nil
}

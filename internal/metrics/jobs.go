package metrics

import (
	"context"
	"strconv"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// WatchJobs records the runs of the jobs client works (their durations,
// outcomes and failures) from River's event subscription until ctx ends or
// the returned stop is called. Call it only on a client that works jobs
// (River refuses subscriptions on an insert-only client) and before
// starting it, so no run is missed. On an insert-only client (an API-only
// process) it records nothing: River refuses subscriptions there. River
// drops events when the subscription's buffer (1,000) is full; at Pulse's
// job rates it never is.
func WatchJobs[TTx any](ctx context.Context, m *Metrics, client *river.Client[TTx]) (stop func()) {
	events, cancel, ok := subscribe(client)
	if !ok {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-events:
				if !ok {
					return
				}
				m.observeJob(ev)
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

func (m *Metrics) observeJob(ev *river.Event) {
	if ev.Job == nil {
		return
	}
	outcome := map[river.EventKind]string{
		river.EventKindJobCompleted: "completed",
		river.EventKindJobFailed:    "failed",
		river.EventKindJobCancelled: "cancelled",
		river.EventKindJobSnoozed:   "snoozed",
	}[ev.Kind]
	m.jobRuns.WithLabelValues(ev.Job.Kind, outcome).Inc()
	if ev.JobStats != nil {
		m.jobDuration.WithLabelValues(ev.Job.Kind, outcome).Observe(ev.JobStats.RunDuration.Seconds())
	}
	if ev.Kind == river.EventKindJobFailed {
		final := ev.Job.State == rivertype.JobStateDiscarded
		m.jobFailures.WithLabelValues(ev.Job.Kind, strconv.FormatBool(final)).Inc()
	}
}

// subscribe subscribes to the job events. River panics when asked on a
// client without queues (it will never work a job); that is reported as !ok.
func subscribe[TTx any](client *river.Client[TTx]) (events <-chan *river.Event, cancel func(), ok bool) {
	defer func() {
		if recover() != nil {
			events, cancel, ok = nil, nil, false
		}
	}()
	events, cancel = client.Subscribe(
		river.EventKindJobCompleted, river.EventKindJobFailed,
		river.EventKindJobCancelled, river.EventKindJobSnoozed,
	)
	return events, cancel, true
}

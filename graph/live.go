package graph

import (
	"context"
	"errors"
	"fmt"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/pulse-analytics/pulse/ent"
	entsegment "github.com/pulse-analytics/pulse/ent/segment"
	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/live"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// CodeSlowConsumer ends a subscription whose client did not keep up.
const CodeSlowConsumer = "SLOW_CONSUMER"

var errNoLive = errors.New("subscriptions are not served by this process")

// liveScope returns the hub and the caller's project.
func (r *Resolver) liveScope(ctx context.Context) (*live.Hub, int, error) {
	if r.live == nil {
		return nil, 0, errNoLive
	}
	scope, _ := tenant.FromContext(ctx)
	return r.live, scope.ProjectID, nil
}

// subscribableSegment checks that the segment is the caller's.
func (r *Resolver) subscribableSegment(ctx context.Context, id int) error {
	ok, err := r.client.Segment.Query().Where(entsegment.ID(id)).Exist(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return &invalid.Error{Field: "segmentId", Message: fmt.Sprintf("segment %d not found", id), Err: invalid.ErrNotFound}
	}
	return nil
}

// endSubscription reports why a stream ended: the subscription gets an
// error, and a slow consumer's WebSocket is closed with the reason, since
// its writes are what backed up.
func endSubscription(ctx context.Context) live.OnEnd {
	return func(err error) {
		code := CodeInternal
		msg := "live updates ended"
		var slow *live.SlowConsumerError
		switch {
		case errors.As(err, &slow):
			code, msg = CodeSlowConsumer, slow.Error()
			if sock := socketFrom(ctx); sock != nil {
				defer sock.kick(closePolicyViolation, msg)
			}
		case errors.Is(err, live.ErrClosed):
			msg = err.Error()
		}
		transport.AddSubscriptionError(ctx, &gqlerror.Error{
			Message:    msg,
			Extensions: map[string]any{"code": code},
		})
	}
}

// runStates forwards a run's states as the SegmentRuns the schema returns.
func runStates(ctx context.Context, stream *live.Stream[*live.RunState]) <-chan *ent.SegmentRun {
	out := make(chan *ent.SegmentRun)
	go func() {
		defer close(out)
		for st := range stream.C {
			select {
			case out <- st.Run:
			case <-ctx.Done():
				// Keep draining so the pump can finish.
			}
		}
	}()
	return out
}

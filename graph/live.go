package graph

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/pulse-analytics/pulse/ent"
	entsegment "github.com/pulse-analytics/pulse/ent/segment"
	"github.com/pulse-analytics/pulse/internal/auth"
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

// subscribeLive is how a live subscription resolver subscribes to the hub
// and what it returns to gqlgen. (When the renderer executes the operation
// for one item, the resolver returns just that item instead: see one.)
//   - on a WebSocket: the operation's sink, which renders and queues each
//     item itself; gqlgen's stream is never read;
//   - on other transports (Server-Sent Events): a stream gqlgen's response
//     loop reads through liveRenderer, so the item is rendered once per
//     distinct operation there too.
//
// resume is where a client resumes from if nothing has been delivered
// (afterSeq).
func subscribeLive[H, T any](ctx context.Context, r *Resolver, resume int, convert func(H) T,
	subscribe func(live.Sink[H]) (*live.Subscription, error)) (<-chan T, error) {
	group := r.renders.group(ctx)
	if op := socketOperationFrom(ctx); op != nil {
		sub, err := subscribe(&socketSink[H]{op: op, group: group})
		if err != nil {
			group.release()
			return nil, err
		}
		op.attach(sub, group, resume)
		return make(chan T), nil
	}
	stream := live.NewStream[H](r.live.Buffer())
	sub, err := subscribe(stream)
	if err != nil {
		group.release()
		return nil, err
	}
	context.AfterFunc(ctx, func() {
		sub.Close()
		group.release()
	})
	slot, ok := ctx.Value(renderSlotKey{}).(*renderSlot)
	if !ok {
		out := make(chan T)
		go func() {
			defer close(out)
			for item := range stream.C {
				select {
				case out <- convert(item):
				case <-ctx.Done():
				}
			}
		}()
		return out, nil
	}
	slot.group = group
	slot.next = func(ctx context.Context) (any, error, bool) {
		select {
		case item, ok := <-stream.C:
			if !ok {
				return nil, stream.Err(), false
			}
			return item, nil, true
		case <-ctx.Done():
			if cause := context.Cause(ctx); errors.Is(cause, auth.ErrRevoked) {
				return nil, cause, false
			}
			return nil, nil, false
		}
	}
	return make(chan T), nil
}

func same[T any](v T) T { return v }

// announcedOf is when the notification of a live item arrived, from which
// its fan-out latency is measured; zero for a replayed one.
func announcedOf(item any) time.Time {
	switch v := item.(type) {
	case *live.Change:
		return v.Announced
	case *live.RunState:
		return v.Announced
	}
	return time.Time{}
}

func runOf(st *live.RunState) *ent.SegmentRun { return st.Run }

// one is a stream of just v: what a resolver returns when rendering.
func one[T any](v T) <-chan T {
	c := make(chan T, 1)
	c <- v
	close(c)
	return c
}

// liveRenderer gives subscriptions on transports other than WebSocket the
// renderer's memo: around the operation it puts a slot in the context,
// where subscribeLive leaves its stream; around each response it takes the
// next item from the stream and answers with its shared rendering instead
// of executing the operation again.
type liveRenderer struct{}

var (
	_ graphql.HandlerExtension     = liveRenderer{}
	_ graphql.OperationInterceptor = liveRenderer{}
	_ graphql.ResponseInterceptor  = liveRenderer{}
)

func (liveRenderer) ExtensionName() string                   { return "LiveRenderer" }
func (liveRenderer) Validate(graphql.ExecutableSchema) error { return nil }

// renderSlot links one subscription's resolver to its responses.
type renderSlot struct {
	group *renderGroup
	// next returns the stream's next item; at its end, why it ended.
	next  func(context.Context) (any, error, bool)
	ended bool
}

type renderSlotKey struct{}

func (liveRenderer) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation == nil || oc.Operation.Operation != ast.Subscription || socketOperationFrom(ctx) != nil {
		return next(ctx)
	}
	return next(context.WithValue(ctx, renderSlotKey{}, &renderSlot{}))
}

func (liveRenderer) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	slot, ok := ctx.Value(renderSlotKey{}).(*renderSlot)
	if !ok || slot.next == nil {
		return next(ctx)
	}
	if slot.ended {
		return nil
	}
	item, err, ok := slot.next(ctx)
	if !ok {
		slot.ended = true
		if err == nil {
			return nil
		}
		return &graphql.Response{Errors: gqlerror.List{streamError(err)}}
	}
	resp := slot.group.render(ctx, item).resp
	if count := sseCountFrom(ctx); count != nil {
		count.render(announcedOf(item))
	}
	// Later interceptors may set fields of the response: each subscriber
	// gets its own copy around the shared bytes.
	own := *resp
	own.Errors = slices.Clip(resp.Errors)
	return &own
}

// streamError is how a stream the hub ended reports it.
func streamError(err error) *gqlerror.Error {
	code, msg := CodeInternal, "live updates ended"
	var slow *live.SlowConsumerError
	switch {
	case errors.As(err, &slow):
		code, msg = CodeSlowConsumer, slow.Error()
	case errors.Is(err, live.ErrClosed):
		msg = err.Error()
	case errors.Is(err, auth.ErrRevoked):
		code, msg = CodeUnauthenticated, err.Error()
	}
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": code}}
}

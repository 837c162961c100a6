package graph

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/pulse-analytics/pulse/internal/live"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// liveRenderer renders each committed run once per distinct subscription
// operation rather than once per subscriber. gqlgen executes the selection
// set for every subscriber, and marshals every list of objects with one
// goroutine per element: a thousand dashboards following one segment would
// redo the same work a thousand times. Subscribers with the same operation,
// variables and role get the same bytes, so the first renders and the
// others reuse its response.
//
// It works in two steps. Around the operation it puts a slot in the
// context; the change subscription resolvers put their stream in it and
// hand gqlgen a feed channel instead. Around each response it takes the
// next change from the stream itself and only when that change was not yet
// rendered for this operation passes it on to gqlgen through the feed.
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
	key     string
	changes <-chan *live.Change
	feed    chan *live.Change
}

type renderSlotKey struct{}

func (liveRenderer) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation == nil || oc.Operation.Operation != ast.Subscription {
		return next(ctx)
	}
	return next(context.WithValue(ctx, renderSlotKey{}, &renderSlot{key: renderKey(ctx, oc)}))
}

func (liveRenderer) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	slot, ok := ctx.Value(renderSlotKey{}).(*renderSlot)
	if !ok || slot.changes == nil {
		return next(ctx)
	}
	var change *live.Change
	select {
	case change, ok = <-slot.changes:
		if !ok {
			return nil // the stream ended; its reason is already recorded
		}
	case <-ctx.Done():
		return nil
	}
	rendered := change.Rendered(slot.key, func() any {
		slot.feed <- change
		if resp := next(ctx); resp != nil {
			return resp
		}
		return nil
	})
	resp, _ := rendered.(*graphql.Response)
	if resp == nil {
		return nil
	}
	// Later interceptors may set fields of the response: each subscriber
	// gets its own copy around the shared bytes.
	own := *resp
	own.Errors = slices.Clip(resp.Errors)
	return &own
}

// feedChanges is what a change subscription resolver returns: with a slot
// (always, behind the handler) the renderer reads the stream and feeds
// gqlgen; without one, gqlgen reads the stream directly.
func feedChanges(ctx context.Context, stream *live.Stream[*live.Change]) <-chan *live.Change {
	slot, ok := ctx.Value(renderSlotKey{}).(*renderSlot)
	if !ok {
		return stream.C
	}
	slot.changes = stream.C
	slot.feed = make(chan *live.Change, 1)
	return slot.feed
}

// renderKey identifies what a subscriber sees: the operation, its
// variables and the role (fields can be guarded by role). The project is
// the change's own.
func renderKey(ctx context.Context, oc *graphql.OperationContext) string {
	scope, _ := tenant.FromContext(ctx)
	vars, _ := json.Marshal(oc.Variables) // map keys are sorted: equal variables, equal bytes
	return string(scope.Role) + "\x00" + oc.OperationName + "\x00" + oc.RawQuery + "\x00" + string(vars)
}

package graph

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/executor"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/pulse-analytics/pulse/internal/live"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// renderer renders each item a live subscription delivers (a committed
// run, a run's state) once per distinct subscription operation rather than
// once per subscriber: subscribers with the same operation, variables,
// role and project get the same bytes. A thousand dashboards following one
// segment cost one execution and one JSON encoding per run, then one
// socket write each.
//
// It executes with an executor of its own, without the extensions of the
// server's (limits, metrics): they ran once, when the subscription started.
type renderer struct {
	exec *executor.Executor
	// execute runs the operation for one item: r.executeOperation, but
	// for tests that count executions.
	execute func(ctx context.Context, params graphql.RawParams, item any) *graphql.Response

	mu     sync.Mutex
	groups map[string]*renderGroup
}

func newRenderer(exec *executor.Executor) *renderer {
	r := &renderer{exec: exec, groups: map[string]*renderGroup{}}
	r.execute = r.executeOperation
	return r
}

// renderGroup is one distinct operation that live subscribers follow, with
// its latest renderings.
type renderGroup struct {
	r      *renderer
	key    string
	params graphql.RawParams
	// refs counts the subscriptions using the group; guarded by r.mu.
	refs int

	mu     sync.Mutex
	recent []*rendering // most recent first, at most recentRenderings
}

// recentRenderings bounds what a group keeps: the fan-out of one item is
// over long before this many newer ones arrive, and replays of old runs to
// subscribers that resume together still find them.
const recentRenderings = 8

// rendering is one item rendered for a group; done is closed once payload
// is set, so subscribers that want it meanwhile wait rather than render it
// again.
type rendering struct {
	id      any
	done    chan struct{}
	resp    *graphql.Response
	payload []byte
}

// group returns the (shared) group of the subscription operation running
// in ctx; release it when the subscription ends.
func (r *renderer) group(ctx context.Context) *renderGroup {
	oc := graphql.GetOperationContext(ctx)
	scope, _ := tenant.FromContext(ctx)
	vars, _ := json.Marshal(oc.Variables) // map keys are sorted: equal variables, equal bytes
	key := string(scope.Role) + "\x00" + strconv.Itoa(scope.ProjectID) + "\x00" + oc.OperationName + "\x00" + oc.RawQuery + "\x00" + string(vars)
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.groups[key]
	if g == nil {
		g = &renderGroup{r: r, key: key, params: graphql.RawParams{
			Query: oc.RawQuery, OperationName: oc.OperationName, Variables: oc.Variables,
		}}
		r.groups[key] = g
	}
	g.refs++
	return g
}

func (g *renderGroup) release() {
	g.r.mu.Lock()
	defer g.r.mu.Unlock()
	g.refs--
	if g.refs == 0 && g.r.groups[g.key] == g {
		delete(g.r.groups, g.key)
	}
}

// render returns item rendered for the group, executing the operation only
// when no recent rendering of the same item exists. ctx is a subscriber's:
// it carries the role and project the group's key names.
func (g *renderGroup) render(ctx context.Context, item any) *rendering {
	id := itemID(item)
	g.mu.Lock()
	for i, r := range g.recent {
		if r.id == id {
			copy(g.recent[1:i+1], g.recent[:i])
			g.recent[0] = r
			g.mu.Unlock()
			<-r.done
			return r
		}
	}
	r := &rendering{id: id, done: make(chan struct{})}
	if len(g.recent) < recentRenderings {
		g.recent = append(g.recent, nil)
	}
	copy(g.recent[1:], g.recent)
	g.recent[0] = r
	g.mu.Unlock()

	// Whatever happens, those waiting for this rendering get one.
	r.resp = &graphql.Response{Errors: gqlerror.List{{Message: "internal error", Extensions: map[string]any{"code": CodeInternal}}}}
	r.payload = []byte(`{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}`)
	defer close(r.done)
	resp := g.r.execute(ctx, g.params, item)
	// Responses are built of JSON values: an error here is a bug, reported
	// as the internal error above.
	if payload, err := json.Marshal(resp); err == nil {
		r.resp, r.payload = resp, payload
	}
	return r
}

// itemID identifies what is rendered: a committed run by its segment and
// seq (so a run replayed from the database to many subscribers is rendered
// once too), a run's state by the read that produced it.
func itemID(item any) any {
	switch v := item.(type) {
	case *live.Change:
		return struct{ segmentID, seq int }{v.Segment.ID, v.Seq}
	default:
		return item
	}
}

// executeOperation runs the operation for one item: the subscription
// resolver, told by the context, returns a stream of just that item.
func (r *renderer) executeOperation(ctx context.Context, params graphql.RawParams, item any) *graphql.Response {
	ctx = graphql.StartOperationTrace(ctx)
	oc, errs := r.exec.CreateOperationContext(ctx, &params)
	if errs != nil {
		return &graphql.Response{Errors: errs}
	}
	ctx = context.WithValue(ctx, renderItemKey{}, item)
	responses, ctx := r.exec.DispatchOperation(ctx, oc)
	resp := responses(ctx)
	if resp == nil {
		return &graphql.Response{Errors: gqlerror.List{{Message: "the subscription rendered nothing", Extensions: map[string]any{"code": CodeInternal}}}}
	}
	return resp
}

type renderItemKey struct{}

// renderItem is the item a render asks a subscription resolver for.
func renderItem[T any](ctx context.Context) (T, bool) {
	item, ok := ctx.Value(renderItemKey{}).(T)
	return item, ok
}

package graph

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/internal/live"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// countingRenderer renders "seq N" for a change and counts executions.
func countingRenderer() (*renderer, *atomic.Int64) {
	var executions atomic.Int64
	r := newRenderer(nil)
	r.execute = func(_ context.Context, _ graphql.RawParams, item any) *graphql.Response {
		executions.Add(1)
		return &graphql.Response{Data: []byte(fmt.Sprintf(`{"seq":%d}`, item.(*live.Change).Seq))}
	}
	return r, &executions
}

// operationContext is a subscription operation as gqlgen's executor would
// put it in the context, for a role of a project.
func operationContext(query string, vars map[string]any, role tenant.Role) context.Context {
	ctx := tenant.NewContext(context.Background(), tenant.Scope{ProjectID: 1, Role: role})
	return graphql.WithOperationContext(ctx, &graphql.OperationContext{
		RawQuery: query, Variables: vars, Operation: &ast.OperationDefinition{Operation: ast.Subscription},
	})
}

func change(segmentID, seq int) *live.Change {
	return &live.Change{Segment: &ent.Segment{ID: segmentID}, Seq: seq}
}

// A thousand subscribers of one operation, each handed its own copy of a
// run (as replays load them), cost one execution: the same bytes for all.
func TestRenderGroupExecutesOncePerItem(t *testing.T) {
	t.Parallel()
	r, executions := countingRenderer()
	ctx := operationContext(`subscription { segmentsChanged { seq } }`, nil, tenant.RoleRead)
	groups := make([]*renderGroup, 1000)
	for i := range groups {
		groups[i] = r.group(ctx)
	}
	require.Len(t, r.groups, 1, "one operation, one group")
	var wg sync.WaitGroup
	payloads := make([]string, len(groups))
	for i, g := range groups {
		wg.Go(func() { payloads[i] = string(g.render(ctx, change(7, 3)).payload) })
	}
	wg.Wait()
	require.EqualValues(t, 1, executions.Load())
	for _, p := range payloads {
		require.JSONEq(t, `{"data":{"seq":3}}`, p)
	}
	groups[0].render(ctx, change(7, 4))
	groups[1].render(ctx, change(8, 3))
	require.EqualValues(t, 3, executions.Load(), "another seq or another segment is another item")
	for _, g := range groups {
		g.release()
	}
	require.Empty(t, r.groups, "the last subscriber's release drops the group")
}

// Operations that differ in their variables or the caller's role do not
// share renderings.
func TestRenderGroupsAreDistinctOperations(t *testing.T) {
	t.Parallel()
	r, _ := countingRenderer()
	query := `subscription($id: ID!) { segmentMembershipChanged(segmentId: $id) { seq } }`
	a := r.group(operationContext(query, map[string]any{"id": 1}, tenant.RoleRead))
	b := r.group(operationContext(query, map[string]any{"id": 2}, tenant.RoleRead))
	c := r.group(operationContext(query, map[string]any{"id": 1}, tenant.RoleAdmin))
	d := r.group(operationContext(query, map[string]any{"id": 1}, tenant.RoleRead))
	require.NotSame(t, a, b)
	require.NotSame(t, a, c)
	require.Same(t, a, d)
}

// A group keeps its most recent renderings only: an old item comes back
// as a new execution.
func TestRenderGroupKeepsRecentRenderings(t *testing.T) {
	t.Parallel()
	r, executions := countingRenderer()
	ctx := operationContext(`subscription { segmentsChanged { seq } }`, nil, tenant.RoleRead)
	g := r.group(ctx)
	for seq := 1; seq <= recentRenderings+1; seq++ {
		g.render(ctx, change(1, seq))
	}
	g.render(ctx, change(1, recentRenderings+1))
	require.EqualValues(t, recentRenderings+1, executions.Load(), "the latest is kept")
	g.render(ctx, change(1, 1))
	require.EqualValues(t, recentRenderings+2, executions.Load(), "the oldest was dropped")
}

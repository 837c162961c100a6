package graph

import (
	"context"
	"fmt"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/internal/live"
)

// runChangesKey is one run.entered or run.exited field: the runs of a
// list ask with the same arguments, and are loaded together.
type runChangesKey struct {
	run    int
	exited bool
	after  int
	first  int
	total  bool
}

// runChangesFetcher loads the pages of keys, one statement for each set
// of arguments (ent.UserClient.RunChanges).
func runChangesFetcher(client *ent.Client) func(context.Context, []runChangesKey) (map[runChangesKey]*ent.RunChangesPage, error) {
	return func(ctx context.Context, keys []runChangesKey) (map[runChangesKey]*ent.RunChangesPage, error) {
		type arguments struct {
			exited       bool
			after, first int
			total        bool
		}
		runs := map[arguments][]int{}
		for _, k := range keys {
			a := arguments{k.exited, k.after, k.first, k.total}
			runs[a] = append(runs[a], k.run)
		}
		pages := make(map[runChangesKey]*ent.RunChangesPage, len(keys))
		for a, ids := range runs {
			byRun, err := client.User.RunChanges(ctx, ids, a.exited, a.after, a.first+1, a.total)
			if err != nil {
				return nil, fmt.Errorf("load the users of %d runs: %w", len(ids), err)
			}
			for run, p := range byRun {
				pages[runChangesKey{run, a.exited, a.after, a.first, a.total}] = p
			}
		}
		return pages, nil
	}
}

// runChanges resolves run.entered (exited: run.exited). A page with
// first of a run in a list is loaded with the other runs of the list; one
// without first (every user, which a run may have tens of thousands of) or
// of a run on its own (which would only wait for siblings it has not) is
// paged alone.
func runChanges(ctx context.Context, client *ent.Client, runID int, exited bool, after *entgql.Cursor[int], first *int) (*ent.UserConnection, error) {
	l, ok := ctx.Value(loadersKey{}).(*loaders)
	if !ok || first == nil || *first < 0 || !inList(ctx) {
		moved := live.EnteredUsers
		if exited {
			moved = live.ExitedUsers
		}
		return moved(runID)(client.User.Query()).Paginate(ctx, after, first, nil, nil)
	}
	key := runChangesKey{run: runID, exited: exited, first: *first, total: selects(ctx, "totalCount")}
	if after != nil {
		key.after = after.ID
	}
	page, err := l.runChangesLoader().Load(ctx, key)
	if err != nil {
		return nil, err
	}
	return page.Connection(after, first)
}

// inList reports whether the field being resolved is of an element of a
// list.
func inList(ctx context.Context) bool {
	for fc := graphql.GetFieldContext(ctx); fc != nil; fc = fc.Parent {
		if fc.Index != nil {
			return true
		}
	}
	return false
}

// selects reports whether the field being resolved selects field.
func selects(ctx context.Context, field string) bool {
	for _, f := range graphql.CollectFieldsCtx(ctx, nil) {
		if f.Name == field {
			return true
		}
	}
	return false
}

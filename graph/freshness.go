package graph

import (
	"context"
	"fmt"
	"time"

	"github.com/vikstrous/dataloadgen"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/graph/model"
	"github.com/pulse-analytics/pulse/internal/project"
	"github.com/pulse-analytics/pulse/internal/recompute"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// freshnessLoader batches the freshness of the segments of a response into
// one statement.
type freshnessLoader = dataloadgen.Loader[int, recompute.Freshness]

func (r *Resolver) freshnessFetcher(ctx context.Context, ids []int) (map[int]recompute.Freshness, error) {
	scope, ok := tenant.FromContext(ctx)
	if !ok {
		return nil, fmt.Errorf("freshness: %w", tenant.ErrNoTenant)
	}
	return recompute.FreshnessOf(ctx, r.db, scope.ProjectID, ids, time.Now())
}

// freshness resolves Segment.freshness.
func (r *Resolver) freshness(ctx context.Context, seg *ent.Segment) (*model.SegmentFreshness, error) {
	var (
		f   recompute.Freshness
		err error
	)
	if l, ok := ctx.Value(loadersKey{}).(*loaders); ok {
		f, err = l.freshnessLoader().Load(ctx, seg.ID)
	} else {
		var all map[int]recompute.Freshness
		all, err = r.freshnessFetcher(ctx, []int{seg.ID})
		f = all[seg.ID]
	}
	if err != nil {
		return nil, err
	}
	out := &model.SegmentFreshness{Mode: model.FreshnessModeScheduled, LagSeconds: f.Lag.Seconds()}
	if f.Realtime {
		out.Mode = model.FreshnessModeRealtime
	} else {
		out.Reason = &f.Reason
	}
	return out, nil
}

// updateProject applies input to the caller's project (see
// project.Updater). Turning real time back on, or changing the time zone
// (which moves the days activity counts), restarts the sweep of every
// segment's windows from now and recomputes them all, which covers what
// changed meanwhile.
func (r *Resolver) updateProject(ctx context.Context, input model.UpdateProjectInput) (*ent.Project, error) {
	scope, _ := tenant.FromContext(ctx)
	change := project.Change{Name: input.Name, Timezone: input.Timezone, Realtime: input.Realtime}
	if days, set := input.RetentionDays.ValueOK(); set {
		change.Retention = &project.Retention{Days: days}
	}
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin project change: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	before, after, err := r.projects.UpdateTx(ctx, tx, scope.ProjectID, change)
	if err != nil {
		return nil, err
	}
	// In the change's transaction: turned on, real time is caught up on
	// exactly when it says REALTIME again.
	if (after.Realtime && !before.Realtime) || after.Timezone != before.Timezone {
		if err := r.recompute.RestartTx(ctx, tx, scope.ProjectID); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit project change: %w", err)
	}
	return r.client.Project.Get(ctx, scope.ProjectID)
}

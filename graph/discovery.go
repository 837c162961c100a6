package graph

import (
	"context"
	"fmt"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/discoveryrun"
	entsegment "github.com/pulse-analytics/pulse/ent/segment"
	"github.com/pulse-analytics/pulse/internal/discovery"
	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/recompute"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// discover queues a discovery run of the caller's project and returns it.
func (r *Resolver) discover(ctx context.Context, req discovery.Request) (*ent.DiscoveryRun, error) {
	if r.discovery == nil {
		return nil, errNoRecompute
	}
	scope, _ := tenant.FromContext(ctx)
	runID, err := r.discovery.Enqueue(ctx, scope.ProjectID, req)
	if err != nil {
		return nil, err
	}
	return r.client.DiscoveryRun.Get(ctx, runID)
}

// discoveryRun loads run id with the fields the query asks for: never the
// members of its clusters, which can be large and are not in the API.
func (r *Resolver) discoveryRun(ctx context.Context, id int) (*ent.DiscoveryRun, error) {
	q, err := r.client.DiscoveryRun.Query().Where(discoveryrun.ID(id)).CollectFields(ctx)
	if err != nil {
		return nil, err
	}
	run, err := q.Only(ctx)
	if ent.IsNotFound(err) {
		return nil, &invalid.Error{Field: "id", Message: fmt.Sprintf("discovery run %d not found", id), Err: invalid.ErrNotFound}
	}
	return run, err
}

// segmentFromCluster saves a cluster as a segment: a DYNAMIC one is queued
// for its first computation like any new segment; a STATIC one gets the
// cluster's users as members in one run.
func (r *Resolver) segmentFromCluster(ctx context.Context, runID, index int, name string, kind entsegment.Kind) (*ent.Segment, error) {
	c, err := discovery.LoadCluster(ctx, r.client, runID, index)
	if err != nil {
		return nil, err
	}
	def, err := c.Definition(name, kind)
	if err != nil {
		return nil, err
	}
	seg, err := r.segments.Create(ctx, def)
	if err != nil {
		return nil, err
	}
	if kind == entsegment.KindDYNAMIC {
		return r.definitionChanged(ctx, seg)
	}
	scope, _ := tenant.FromContext(ctx)
	if _, err := recompute.AddStaticUsers(ctx, r.db, scope.ProjectID, seg.ID, c.UserIDs); err != nil {
		return nil, err
	}
	return r.client.Segment.Get(ctx, seg.ID)
}

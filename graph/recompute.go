package graph

import (
	"context"
	"errors"
	"fmt"

	"github.com/pulse-analytics/pulse/ent"
	entsegment "github.com/pulse-analytics/pulse/ent/segment"
	"github.com/pulse-analytics/pulse/ent/segmentrun"
	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/recompute"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

var errNoRecompute = errors.New("recomputation is not configured in this process")

// enqueue queues a run of segment id of the caller's project and returns it.
func (r *Resolver) enqueue(ctx context.Context, id int, trigger segmentrun.Trigger) (*ent.SegmentRun, error) {
	if r.recompute == nil {
		return nil, errNoRecompute
	}
	scope, _ := tenant.FromContext(ctx)
	runID, err := r.recompute.Enqueue(ctx, scope.ProjectID, id, trigger)
	if errors.Is(err, recompute.ErrNoSegment) {
		return nil, &invalid.Error{Field: "id", Message: fmt.Sprintf("segment %d not found or archived", id), Err: invalid.ErrNotFound}
	}
	if err != nil {
		return nil, err
	}
	return r.client.SegmentRun.Get(ctx, runID)
}

// enqueueAll queues a run of every active segment of the caller's project.
func (r *Resolver) enqueueAll(ctx context.Context) ([]*ent.SegmentRun, error) {
	return r.enqueueAllAs(ctx, segmentrun.TriggerMANUAL)
}

func (r *Resolver) enqueueAllAs(ctx context.Context, trigger segmentrun.Trigger) ([]*ent.SegmentRun, error) {
	ids, err := r.client.Segment.Query().Where(entsegment.ArchivedAtIsNil()).Order(ent.Asc(entsegment.FieldID)).IDs(ctx)
	if err != nil {
		return nil, err
	}
	runs := make([]*ent.SegmentRun, 0, len(ids))
	for _, id := range ids {
		run, err := r.enqueue(ctx, id, trigger)
		if err != nil {
			return nil, err
		}
		runs = append(runs, run)
	}
	return runs, nil
}

// definitionChanged queues a run after a dynamic segment's rule was set.
func (r *Resolver) definitionChanged(ctx context.Context, seg *ent.Segment) (*ent.Segment, error) {
	if r.recompute == nil || seg.Kind != entsegment.KindDYNAMIC {
		return seg, nil
	}
	if _, err := r.enqueue(ctx, seg.ID, segmentrun.TriggerDEFINITION_CHANGE); err != nil {
		return nil, err
	}
	return seg, nil
}

// changeStatic edits a STATIC segment's members and returns the run.
func (r *Resolver) changeStatic(ctx context.Context, id int, externalIDs []string, remove bool) (*ent.SegmentRun, error) {
	scope, _ := tenant.FromContext(ctx)
	runID, err := recompute.ChangeStatic(ctx, r.db, scope.ProjectID, id, externalIDs, remove)
	if err != nil {
		return nil, err
	}
	return r.client.SegmentRun.Get(ctx, runID)
}

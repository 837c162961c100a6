package analytics

import (
	"context"
	"fmt"

	"github.com/pulse-analytics/pulse/ent"
	entsegment "github.com/pulse-analytics/pulse/ent/segment"
	"github.com/pulse-analytics/pulse/internal/invalid"
)

// segment checks that the optional segment id (the input field) is a
// segment of the caller's project, archived ones included.
func (s *Service) segment(ctx context.Context, field string, id *int) error {
	if id == nil {
		return nil
	}
	exists, err := s.client.Segment.Query().Where(entsegment.ID(*id)).Exist(ctx)
	if err != nil {
		return fmt.Errorf("load segment %d: %w", *id, err)
	}
	if !exists {
		return invalid.Field(field, "segment %d not found", *id)
	}
	return nil
}

// segmentList loads the segments of ids, which must be distinct segments of
// the caller's project, at least min of them and at most MaxSegments, and
// returns them in the order given. An unknown id is bad input naming its
// position ("segmentIds[2]"): it may exist in another project, which is
// never revealed.
func (s *Service) segmentList(ctx context.Context, field string, ids []int, min int) ([]*ent.Segment, error) {
	switch {
	case len(ids) < min:
		return nil, invalid.Field(field, "give at least %d segments", min)
	case len(ids) > MaxSegments:
		return nil, invalid.Field(field, "at most %d segments, got %d", MaxSegments, len(ids))
	}
	seen := make(map[int]bool, len(ids))
	for i, id := range ids {
		if seen[id] {
			return nil, invalid.Field(fmt.Sprintf("%s[%d]", field, i), "segment %d is listed twice", id)
		}
		seen[id] = true
	}
	byID, err := s.load(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*ent.Segment, len(ids))
	for i, id := range ids {
		if out[i] = byID[id]; out[i] == nil {
			return nil, invalid.Field(fmt.Sprintf("%s[%d]", field, i), "segment %d not found", id)
		}
	}
	return out, nil
}

// load returns the segments of ids that exist in the caller's project. The
// ent client applies the tenant scope: another project's segment is simply
// not found.
func (s *Service) load(ctx context.Context, ids []int) (map[int]*ent.Segment, error) {
	found, err := s.client.Segment.Query().Where(entsegment.IDIn(ids...)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("load segments: %w", err)
	}
	byID := make(map[int]*ent.Segment, len(found))
	for _, seg := range found {
		byID[seg.ID] = seg
	}
	return byID, nil
}

// ids are the segments' ids, for an int8[] bind parameter.
func ids(segments []*ent.Segment) []int64 {
	out := make([]int64, len(segments))
	for i, seg := range segments {
		out[i] = int64(seg.ID)
	}
	return out
}

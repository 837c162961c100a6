package analytics_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/analytics"
)

// Every analytic refuses bad input with an error naming the field.
func TestBadInputNamesTheField(t *testing.T) {
	t.Parallel()
	b := setup(t, "UTC")
	seg := b.segment(t, "mine")
	o := b.other(t)
	theirs := o.segment(t, "theirs")
	tooMany := make([]int, analytics.MaxSegments+1)
	for i := range tooMany {
		tooMany[i] = b.segment(t, "many")
	}
	mar1, mar2 := day(t, "2026-03-01"), day(t, "2026-03-02")
	instant := at(t, "2026-03-01T00:00:00Z")
	s := b.service
	for _, tc := range []struct {
		name, field string
		call        func() error
	}{
		{"engagement from after to", "from", func() error {
			_, err := s.Engagement(b.ctx, mar2, mar1, analytics.Day, nil)
			return err
		}},
		{"engagement unknown interval", "interval", func() error {
			_, err := s.Engagement(b.ctx, mar1, mar2, "HOUR", nil)
			return err
		}},
		{"engagement over 366 days", "to", func() error {
			_, err := s.Engagement(b.ctx, day(t, "2025-01-01"), day(t, "2026-01-02"), analytics.Day, nil)
			return err
		}},
		{"engagement unknown segment", "segmentId", func() error {
			_, err := s.Engagement(b.ctx, mar1, mar2, analytics.Day, ptr(theirs))
			return err
		}},
		{"power users 0 days", "days", func() error {
			_, err := s.PowerUserCurve(b.ctx, 0, nil, nil)
			return err
		}},
		{"power users 91 days", "days", func() error {
			_, err := s.PowerUserCurve(b.ctx, 91, nil, nil)
			return err
		}},
		{"lifecycle from after to", "from", func() error {
			_, err := s.Lifecycle(b.ctx, mar2, mar1, analytics.Week, nil)
			return err
		}},
		{"lifecycle over 366 weeks", "to", func() error {
			_, err := s.Lifecycle(b.ctx, day(t, "2018-01-01"), day(t, "2026-01-01"), analytics.Week, nil)
			return err
		}},
		{"retention 0 periods", "periods", func() error {
			_, err := s.Retention(b.ctx, analytics.Week, 0, nil, nil)
			return err
		}},
		{"retention 91 periods", "periods", func() error {
			_, err := s.Retention(b.ctx, analytics.Week, 91, nil, nil)
			return err
		}},
		{"retention unknown interval", "cohortInterval", func() error {
			_, err := s.Retention(b.ctx, "YEAR", 4, nil, nil)
			return err
		}},
		{"overlap of one segment", "segmentIds", func() error {
			_, err := s.SegmentOverlap(b.ctx, []int{seg})
			return err
		}},
		{"overlap of too many", "segmentIds", func() error {
			_, err := s.SegmentOverlap(b.ctx, tooMany)
			return err
		}},
		{"overlap listing one twice", "segmentIds[1]", func() error {
			_, err := s.SegmentOverlap(b.ctx, []int{seg, seg})
			return err
		}},
		{"overlap of another project's", "segmentIds[1]", func() error {
			_, err := s.SegmentOverlap(b.ctx, []int{seg, theirs})
			return err
		}},
		{"transitions from after to", "from", func() error {
			_, err := s.SegmentTransitions(b.ctx, []int{seg}, instant.Add(1), instant)
			return err
		}},
		{"transitions of none", "segmentIds", func() error {
			_, err := s.SegmentTransitions(b.ctx, nil, instant, instant)
			return err
		}},
		{"feature usage unknown segment", "segmentId", func() error {
			_, err := s.FeatureUsage(b.ctx, theirs, mar1, mar2, 10)
			return err
		}},
		{"feature usage limit 0", "limit", func() error {
			_, err := s.FeatureUsage(b.ctx, seg, mar1, mar2, 0)
			return err
		}},
		{"feature usage from after to", "from", func() error {
			_, err := s.FeatureUsage(b.ctx, seg, mar2, mar1, 10)
			return err
		}},
		{"summary from after to", "from", func() error {
			_, err := s.FeedbackSummary(b.ctx, nil, mar2, mar1, 10)
			return err
		}},
		{"summary 101 tags", "topTags", func() error {
			_, err := s.FeedbackSummary(b.ctx, nil, mar1, mar2, 101)
			return err
		}},
		{"by segment of too many", "segmentIds", func() error {
			_, err := s.FeedbackBySegment(b.ctx, tooMany, mar1, mar2)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireField(t, tc.call(), tc.field)
		})
	}
}

// Buckets are whole calendar ones: the first holds from, the last ends on
// to; exactly 366 are allowed.
func TestBucketBounds(t *testing.T) {
	t.Parallel()
	b := setup(t, "UTC")
	got, err := b.service.Lifecycle(b.ctx, day(t, "2025-01-01"), day(t, "2026-01-01"), analytics.Day, nil)
	require.NoError(t, err)
	require.Len(t, got, 366)
	months, err := b.service.Lifecycle(b.ctx, day(t, "2024-02-29"), day(t, "2024-03-01"), analytics.Month, nil)
	require.NoError(t, err)
	require.Len(t, months, 2)
	require.Equal(t, day(t, "2024-02-01"), months[0].Start)
	require.Equal(t, day(t, "2024-02-29"), months[0].End)
	require.Equal(t, day(t, "2024-03-01"), months[1].Start)
	require.Equal(t, day(t, "2024-03-01"), months[1].End)
	weeks, err := b.service.Lifecycle(b.ctx, day(t, "2026-03-08"), day(t, "2026-03-09"), analytics.Week, nil)
	require.NoError(t, err)
	require.Len(t, weeks, 2, "Sunday and Monday are in two weeks")
	require.Equal(t, day(t, "2026-03-02"), weeks[0].Start)
}

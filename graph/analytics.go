package graph

import (
	"github.com/pulse-analytics/pulse/graph/model"
	"github.com/pulse-analytics/pulse/internal/analytics"
)

// pointers lists the addresses of s's elements: gqlgen wants lists of
// pointers at the top of a field, the analytics return values.
func pointers[T any](s []T) []*T {
	out := make([]*T, len(s))
	for i := range s {
		out[i] = &s[i]
	}
	return out
}

// bucketSize translates the GraphQL bucket size.
func bucketSize(i model.AnalyticsInterval) analytics.Interval { return analytics.Interval(i) }

package graph

import (
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// fieldCosts are the fields that cost more than one row to resolve, by
// "Type.field", in the units of Limits.MaxComplexity. Each scans a
// project's events, memberships or feedback: with the default limit of
// 50,000, one operation may ask for twelve previews, or twenty-four analytics,
// not a thousand aliases of them.
var fieldCosts = map[string]int{
	"Query.previewSegment":    4000,
	"Query.explainMembership": 500,

	"Query.engagement":         2000,
	"Query.powerUserCurve":     2000,
	"Query.lifecycle":          2000,
	"Query.retention":          2000,
	"Query.segmentOverlap":     2000,
	"Query.segmentTransitions": 2000,
	"Query.featureUsage":       2000,
	"Query.feedbackSummary":    2000,
	"Query.feedbackBySegment":  2000,

	// Discovery queues a clustering job over every active user.
	"Mutation.discoverSegments":         5000,
	"Mutation.createSegmentFromCluster": 500,
	"Mutation.recomputeAllSegments":     1000,

	"Segment.membersAt":   100,
	"Segment.sizeHistory": 100,
}

// fieldCost is what resolving f itself costs, its selection excluded.
func fieldCost(f *ast.Field) int {
	if f.ObjectDefinition != nil {
		if cost, ok := fieldCosts[f.ObjectDefinition.Name+"."+f.Name]; ok {
			return cost
		}
	}
	return 1
}

func isIntrospection(name string) bool { return strings.HasPrefix(name, "__") }

func isConnection(t *ast.Type) bool { return strings.HasSuffix(t.Name(), "Connection") }

package graph

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/apikey"
	"github.com/pulse-analytics/pulse/ent/discoveryrun"
	"github.com/pulse-analytics/pulse/ent/feedback"
	"github.com/pulse-analytics/pulse/ent/segment"
	"github.com/pulse-analytics/pulse/ent/segmentrun"
	"github.com/pulse-analytics/pulse/ent/survey"
	"github.com/pulse-analytics/pulse/ent/surveyquestion"
	"github.com/pulse-analytics/pulse/ent/user"
	"github.com/pulse-analytics/pulse/ent/webhookendpoint"
	"github.com/pulse-analytics/pulse/ent/webhookmessage"
	"github.com/pulse-analytics/pulse/graph/scalar"
	"github.com/pulse-analytics/pulse/internal/invalid"
)

// idTables maps the types @idOf names to their tables.
var idTables = map[string]string{
	"APIKey":          apikey.Table,
	"DiscoveryRun":    discoveryrun.Table,
	"Feedback":        feedback.Table,
	"Segment":         segment.Table,
	"SegmentRun":      segmentrun.Table,
	"Survey":          survey.Table,
	"SurveyQuestion":  surveyquestion.Table,
	"User":            user.Table,
	"WebhookEndpoint": webhookendpoint.Table,
	"WebhookMessage":  webhookmessage.Table,
}

// idOf implements @idOf: an ID argument or input field must be the id of a
// typeName. Global ids carry their table in their range, so an id of
// another type (a Segment's id given as a userId) is refused as bad input
// naming the argument before any query, like a malformed one, instead of
// surfacing later as NOT_FOUND far from its cause.
func idOf(ctx context.Context, _ any, next graphql.Resolver, typeName string) (any, error) {
	value, err := next(ctx)
	if err != nil {
		return nil, err
	}
	table, ok := idTables[typeName]
	if !ok {
		return nil, fmt.Errorf("@idOf names %q, which has no table", typeName)
	}
	path := scalar.InputPath(ctx)
	switch v := value.(type) {
	case int:
		err = requireTable(path, v, typeName, table)
	case *int:
		if v != nil {
			err = requireTable(path, *v, typeName, table)
		}
	case []int:
		for i, id := range v {
			if err = requireTable(fmt.Sprintf("%s[%d]", path, i), id, typeName, table); err != nil {
				break
			}
		}
	default:
		err = fmt.Errorf("@idOf on a %T, not an ID", value)
	}
	if err != nil {
		return nil, err
	}
	return value, nil
}

func requireTable(path string, id int, typeName, table string) error {
	if got, ok := ent.TableOfID(id); !ok || got != table {
		return invalid.Field(path, "%d is not the id of a %s", id, typeName)
	}
	return nil
}

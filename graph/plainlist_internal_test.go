package graph

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/graph/generated"
)

// TestResolverFieldsAreNeverPlain: a field gqlgen hands to a resolver is
// never read from the struct, even where the struct has a field of that
// name (WebhookMessage's run is a resolver by configuration).
func TestResolverFieldsAreNeverPlain(t *testing.T) {
	t.Parallel()
	fields := resolverFields(reflect.TypeFor[generated.ResolverRoot]())
	for _, field := range []string{"User.anonymousids", "Segment.freshness", "WebhookMessage.run", "WebhookEndpoint.events", "Query.node"} {
		require.True(t, fields[field], field)
	}
	require.False(t, fields["User.externalid"])
}

package webhook

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent/migrate"
	"github.com/pulse-analytics/pulse/ent/webhookendpoint"
)

// TestEveryKindHasADestination fails when the schema gains a kind of
// endpoint that has no way to be sent to.
func TestEveryKindHasADestination(t *testing.T) {
	t.Parallel()
	var kinds []string
	for _, c := range migrate.WebhookEndpointsTable.Columns {
		if c.Name == webhookendpoint.FieldKind {
			kinds = c.Enums
		}
	}
	require.NotEmpty(t, kinds)
	for _, kind := range kinds {
		require.Contains(t, destinations, webhookendpoint.Kind(kind), "kind %s has no destination", kind)
	}
	require.Len(t, destinations, len(kinds))
}

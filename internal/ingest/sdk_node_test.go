package ingest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/ingest"
)

// The tests in this file run testdata/sdk/node.mjs: the real server-side
// JavaScript SDKs, pointed at Pulse as their documentation says to point
// them at another host, and nothing else changed. The script fails when
// the SDK reports an error; these tests then check what Pulse stored.

// runNodeSDK runs the script's scenario for one SDK against p and returns
// once the SDK has flushed and closed: everything it sent is stored.
func runNodeSDK(t *testing.T, p *sdkPulse, sdk string) {
	t.Helper()
	dir := jsWorkspace(t, "node.mjs")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	runJS(t, ctx, dir, []string{"PULSE_URL=" + p.server.URL, "PULSE_KEY=" + p.project.Ingest.Secret}, "node", "node.mjs", sdk)
}

// requireProperties checks the properties the script set, ignoring those
// the SDK adds ($lib and the like).
func requireProperties(t *testing.T, e sdkEvent, want map[string]any) {
	t.Helper()
	for k, v := range want {
		require.Contains(t, e.Properties, k, "properties of %v", e)
		require.Equal(t, v, e.Properties[k], "properties.%s of %v", k, e)
	}
}

// TestNodeSegment: @segment/analytics-node with host set to Pulse. An
// anonymous visitor's page view and event, identified, become the user's;
// an alias merges an older account into it; group adds the account id to
// the user's traits; server events carry no device, so their platform is
// OTHER.
func TestNodeSegment(t *testing.T) {
	t.Parallel()
	p := setupSDKPulse(t)
	runNodeSDK(t, p, "segment")

	p.requireOnlyCalls(t, "POST /v1/batch")
	events := p.events(t, p.project)
	require.Len(t, events, 5, "page, 3 tracks and a screen: %v", events)
	requireOwnedBy(t, events, "seg-ann")
	for _, e := range events {
		require.Equal(t, "OTHER", e.Platform, "a server sends no device: %v", e)
	}
	requireProperties(t, p.event(t, ingest.PageEventName), map[string]any{"name": "Pricing", "path": "/pricing", "referrer": "ad"})
	requireProperties(t, p.event(t, "Signup Started"), map[string]any{"plan": "pro", "seats": 3.0})
	requireProperties(t, p.event(t, "Legacy Login"), map[string]any{"source": "import"})
	requireProperties(t, p.event(t, "Report Exported"), map[string]any{"format": "csv", "rows": 42.0, "tags": []any{"q1", "q2"}})
	requireProperties(t, p.event(t, ingest.ScreenEventName), map[string]any{"name": "Dashboard", "tab": "overview"})

	users := p.users(t, p.project)
	require.Len(t, users, 1, "the visitor and the old account are merged into seg-ann: %v", users)
	require.Equal(t, 5, users["seg-ann"].EventCount)
	require.Equal(t, map[string]any{"email": "ann@example.com", "plan": "pro", "groupId": "acme"}, users["seg-ann"].Traits)
	require.Equal(t, map[string]string{"seg-visitor": "seg-ann", "seg-legacy": "seg-ann"}, p.identities(t, p.project))
	p.requireOtherProjectUntouched(t)
}

// TestNodePostHog: posthog-node with host set to Pulse. Captures carry
// $set traits, identify and setPersonProperties update the profile without
// counting as usage, and an alias merges an older account.
func TestNodePostHog(t *testing.T) {
	t.Parallel()
	p := setupSDKPulse(t)
	runNodeSDK(t, p, "posthog")

	p.requireOnlyCalls(t, "POST /batch/")
	events := p.events(t, p.project)
	require.Len(t, events, 3, "two captures and a page view; identify and $set are profile updates: %v", events)
	for _, e := range events {
		require.Equal(t, "ph-ann", e.User, "every event ends up the user's: %v", e)
		require.Equal(t, "OTHER", e.Platform, "a server sends no device: %v", e)
		require.Equal(t, "posthog-node", e.Properties["$lib"], "%v", e)
		require.NotContains(t, e.Properties, "$set", "traits are not event data: %v", e)
	}
	requireProperties(t, p.event(t, "legacy login"), map[string]any{"source": "import"})
	requireProperties(t, p.event(t, "report exported"), map[string]any{"format": "csv", "rows": 42.0})
	requireProperties(t, p.event(t, ingest.PageEventName), map[string]any{"name": "https://app.example.com/reports"})

	users := p.users(t, p.project)
	require.Len(t, users, 1, "the old account is merged into ph-ann: %v", users)
	require.Equal(t, 3, users["ph-ann"].EventCount)
	require.Equal(t, map[string]any{"email": "ann@example.com", "plan": "pro", "role": "owner", "seats": 5.0}, users["ph-ann"].Traits)
	require.Equal(t, map[string]string{"ph-legacy": "ph-ann"}, p.identities(t, p.project))
	p.requireOtherProjectUntouched(t)
}

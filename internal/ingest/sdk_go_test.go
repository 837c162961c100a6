package ingest_test

import (
	"sync"
	"testing"
	"time"

	posthog "github.com/posthog/posthog-go"
	analytics "github.com/segmentio/analytics-go/v3"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/ingest"
)

// The tests in this file run the real Go SDKs in the test process. Both
// flush batches concurrently, so the order in which Pulse receives them is
// not the order of the calls: the scenarios include an alias racing the
// aliased id's own events.

// deliveryRecorder is both SDKs' delivery callback.
type deliveryRecorder struct {
	mu        sync.Mutex
	delivered int
	failures  []string
}

func (d *deliveryRecorder) success() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.delivered++
}

func (d *deliveryRecorder) failure(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.failures = append(d.failures, err.Error())
}

// requireDelivered checks that the SDK reported every message delivered.
func (d *deliveryRecorder) requireDelivered(t *testing.T, messages int) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	require.Empty(t, d.failures)
	require.Equal(t, messages, d.delivered)
}

type segmentCallback struct{ *deliveryRecorder }

func (c segmentCallback) Success(analytics.Message)            { c.success() }
func (c segmentCallback) Failure(_ analytics.Message, e error) { c.failure(e) }

type posthogCallback struct{ *deliveryRecorder }

func (c posthogCallback) Success(posthog.APIMessage)            { c.success() }
func (c posthogCallback) Failure(_ posthog.APIMessage, e error) { c.failure(e) }

// testLogger sends an SDK's log to the test's.
type testLogger struct{ t *testing.T }

func (l testLogger) Logf(format string, args ...any)   { l.t.Logf("sdk: "+format, args...) }
func (l testLogger) Errorf(format string, args ...any) { l.t.Logf("sdk error: "+format, args...) }

// minutesAgo is a time the SDK's clock and Pulse's agree on.
func minutesAgo(n int) time.Time {
	return time.Now().Add(-time.Duration(n) * time.Minute).Truncate(time.Millisecond)
}

// eventNames are the names of events, in order.
func eventNames(events []sdkEvent) []string {
	names := make([]string, len(events))
	for i, e := range events {
		names[i] = e.Name
	}
	return names
}

// TestGoSegment sends every Segment call type with analytics-go, pointed at
// Pulse by its Endpoint option, in batches of three.
func TestGoSegment(t *testing.T) {
	t.Parallel()
	p := setupSDKPulse(t)
	delivery := &deliveryRecorder{}
	client, err := analytics.NewWithConfig(p.project.Ingest.Secret, analytics.Config{
		Endpoint:   p.server.URL,
		BatchSize:  3,
		Callback:   segmentCallback{delivery},
		Logger:     testLogger{t},
		RetryAfter: func(int) time.Duration { return time.Millisecond },
	})
	require.NoError(t, err)

	iPhone := &analytics.Context{Device: analytics.DeviceInfo{Type: "ios", Model: "iPhone15,2"}, OS: analytics.OSInfo{Name: "iOS", Version: "17.1"}}
	messages := []analytics.Message{
		analytics.Page{AnonymousId: "visitor-1", Name: "Pricing", Timestamp: minutesAgo(9),
			Properties: analytics.NewProperties().SetURL("https://example.com/pricing").SetTitle("Pricing")},
		analytics.Identify{AnonymousId: "visitor-1", UserId: "ann", Timestamp: minutesAgo(8),
			Traits: analytics.NewTraits().SetEmail("ann@example.com").Set("plan", "pro")},
		analytics.Track{UserId: "ann", Event: "Report Exported", Timestamp: minutesAgo(7), Context: iPhone,
			Properties: analytics.NewProperties().Set("rows", 12).Set("format", "csv")},
		analytics.Screen{UserId: "ann", Name: "Home", Timestamp: minutesAgo(6), Context: iPhone},
		analytics.Group{UserId: "ann", GroupId: "acme", Timestamp: minutesAgo(5), Traits: analytics.NewTraits().SetName("Acme")},
		analytics.Track{UserId: "ann-legacy", Event: "Legacy Login", Timestamp: minutesAgo(4)},
		analytics.Alias{PreviousId: "ann-legacy", UserId: "ann", Timestamp: minutesAgo(3)},
	}
	for _, m := range messages {
		require.NoError(t, client.Enqueue(m))
	}
	require.NoError(t, client.Close(), "Close flushes every batch")
	delivery.requireDelivered(t, len(messages))

	p.requireOnlyCalls(t, "POST /v1/batch")
	events := p.events(t, p.project)
	require.Equal(t, []string{ingest.PageEventName, "Report Exported", ingest.ScreenEventName, "Legacy Login"}, eventNames(events))
	requireOwnedBy(t, events, "ann") // the anonymous page view and the aliased id's event too
	requireProperties(t, p.event(t, ingest.PageEventName), map[string]any{"name": "Pricing", "url": "https://example.com/pricing"})
	requireProperties(t, p.event(t, "Report Exported"), map[string]any{"rows": 12.0, "format": "csv"})
	require.Equal(t, "MOBILE", p.event(t, "Report Exported").Platform)
	requireProperties(t, p.event(t, ingest.ScreenEventName), map[string]any{"name": "Home"})
	users := p.users(t, p.project)
	require.Len(t, users, 1, "ann only: %v", users)
	require.Equal(t, 4, users["ann"].EventCount)
	require.Equal(t, map[string]any{"email": "ann@example.com", "plan": "pro", "groupId": "acme"}, users["ann"].Traits)
	require.Equal(t, map[string]string{"visitor-1": "ann", "ann-legacy": "ann"}, p.identities(t, p.project))
	p.requireOtherProjectUntouched(t)
}

// TestGoPostHog sends captures, an identify with $set and an alias with
// posthog-go, pointed at Pulse by its Endpoint option, in batches of two.
func TestGoPostHog(t *testing.T) {
	t.Parallel()
	p := setupSDKPulse(t)
	delivery := &deliveryRecorder{}
	client, err := posthog.NewWithConfig(p.project.Ingest.Secret, posthog.Config{
		Endpoint:   p.server.URL,
		BatchSize:  2,
		Callback:   posthogCallback{delivery},
		Logger:     testLogger{t},
		RetryAfter: func(int) time.Duration { return time.Millisecond },
	})
	require.NoError(t, err)

	messages := []posthog.Message{
		posthog.Capture{DistinctId: "bob", Event: "invited teammate", Timestamp: minutesAgo(9),
			Properties: posthog.NewProperties().Set("seats", 3).Set("$set", map[string]any{"role": "owner"})},
		posthog.Identify{DistinctId: "bob", Timestamp: minutesAgo(8), Properties: posthog.NewProperties().Set("email", "bob@example.com")},
		posthog.Capture{DistinctId: "bob", Event: "$pageview", Timestamp: minutesAgo(7),
			Properties: posthog.NewProperties().Set("$current_url", "https://example.com/app").Set("$os", "Android").Set("$device_type", "Mobile")},
		posthog.Capture{DistinctId: "bob-legacy", Event: "legacy login", Timestamp: minutesAgo(6)},
		posthog.Alias{DistinctId: "bob", Alias: "bob-legacy", Timestamp: minutesAgo(5)},
	}
	for _, m := range messages {
		require.NoError(t, client.Enqueue(m))
	}
	require.NoError(t, client.Close(), "Close flushes every batch")
	delivery.requireDelivered(t, len(messages))

	p.requireOnlyCalls(t, "POST /batch/")
	events := p.events(t, p.project)
	require.Equal(t, []string{"invited teammate", ingest.PageEventName, "legacy login"}, eventNames(events))
	requireOwnedBy(t, events, "bob") // the aliased distinct id's event too
	requireProperties(t, p.event(t, "invited teammate"), map[string]any{"seats": 3.0})
	require.NotContains(t, p.event(t, "invited teammate").Properties, "$set", "traits are not event data")
	requireProperties(t, p.event(t, ingest.PageEventName), map[string]any{"name": "https://example.com/app"})
	require.Equal(t, "MOBILE", p.event(t, ingest.PageEventName).Platform)
	users := p.users(t, p.project)
	require.Len(t, users, 1, "bob only: %v", users)
	require.Equal(t, 3, users["bob"].EventCount)
	require.Equal(t, map[string]any{"email": "bob@example.com", "role": "owner"}, users["bob"].Traits)
	require.Equal(t, map[string]string{"bob-legacy": "bob"}, p.identities(t, p.project))
	p.requireOtherProjectUntouched(t)
}

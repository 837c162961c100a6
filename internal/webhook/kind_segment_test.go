package webhook_test

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/webhook"
)

// trackedEvent is an event Pulse's own ingestion stored from a Segment
// track call.
type trackedEvent struct {
	User, Name, MessageID string
	Properties            map[string]any
}

// TestSegmentTrackReachesASegmentAPI: a SEGMENT_TRACK endpoint pointed at
// another Pulse's Segment HTTP Tracking API (in-process, over TLS, its
// write key as Basic auth) delivers each membership change as an
// "Audience Entered" or "Audience Exited" track call that Pulse stores as
// it would Segment's; a redelivery sends the same messageIds, which the
// receiving side deduplicates.
func TestSegmentTrackReachesASegmentAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	warehouse := newProject(t, b.db, t.Name()+" warehouse")
	api := httptest.NewTLSServer(ingest.NewHTTPHandler(auth.NewKeys(database.NewClient(b.db)), ingest.NewWriter(b.db), slog.New(slog.DiscardHandler)))
	t.Cleanup(api.Close)

	b.users(t, "ann", "bob")
	seg := b.staticSegment(t, "VIP customers (EU)")
	ep := b.endpoint(t, endpointSpec{kind: "SEGMENT_TRACK", url: api.URL, writeKey: warehouse.project.Ingest.Secret, batchSize: 10})
	b.move(t, seg, false, "ann", "bob")
	b.move(t, seg, true, "bob")
	msgs := b.settled(t, ep)
	require.Len(t, msgs, 2)
	for _, m := range msgs {
		require.Equal(t, "DELIVERED", m.State)
	}

	events := warehouseEvents(t, warehouse)
	segID := itoa(seg)
	key := "vip_customers_eu"
	require.Equal(t, []trackedEvent{
		{"ann", "Audience Entered", msgs[0].WebhookID + "-" + itoa(int(b.userIDs(t, "ann")[0])),
			map[string]any{"audience_key": key, "audience_id": segID, "seq": 1.0, key: true}},
		{"bob", "Audience Entered", msgs[0].WebhookID + "-" + itoa(int(b.userIDs(t, "bob")[0])),
			map[string]any{"audience_key": key, "audience_id": segID, "seq": 1.0, key: true}},
		{"bob", "Audience Exited", msgs[1].WebhookID + "-" + itoa(int(b.userIDs(t, "bob")[0])),
			map[string]any{"audience_key": key, "audience_id": segID, "seq": 2.0, key: false}},
	}, events)

	require.NoError(t, webhook.Redeliver(b.ctx, b.db, b.projectID, msgs[0].ID))
	attemptsOf := func() int {
		var n int
		require.NoError(t, b.db.QueryRow(`SELECT count(*) FROM webhook_attempts WHERE message_id = $1`, msgs[0].ID).Scan(&n))
		return n
	}
	require.Eventually(t, func() bool { return attemptsOf() == 2 }, 30*time.Second, 20*time.Millisecond)
	b.settled(t, ep)
	require.Equal(t, events, warehouseEvents(t, warehouse), "the same messageIds: nothing stored twice")
}

func warehouseEvents(t *testing.T, p *bundle) []trackedEvent {
	t.Helper()
	rows, err := p.db.Query(`SELECT u.external_id, e.name, e.message_id, e.properties FROM events e JOIN users u ON u.id = e.user_id
		WHERE e.project_id = $1 ORDER BY e.name, u.external_id`, p.projectID)
	require.NoError(t, err)
	defer rows.Close()
	var out []trackedEvent
	for rows.Next() {
		var e trackedEvent
		var props []byte
		require.NoError(t, rows.Scan(&e.User, &e.Name, &e.MessageID, &props))
		require.NoError(t, json.Unmarshal(props, &e.Properties))
		out = append(out, e)
	}
	require.NoError(t, rows.Err())
	return out
}

func TestAudienceKey(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{
		"Power users":        "power_users",
		"VIP customers (EU)": "vip_customers_eu",
		"  L7 -- engaged!":   "l7_engaged",
		"Überaktive Nutzer":  "überaktive_nutzer",
		"🔥":                  "segment_42",
	} {
		require.Equal(t, want, webhook.AudienceKey(name, "42"), name)
	}
}

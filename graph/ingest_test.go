package graph_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const trackMutation = `mutation($input: TrackInput!) { track(input: $input) { accepted duplicates rejected { index field reason } } }`

type ingestOut struct {
	Accepted   int
	Duplicates int
	Rejected   []struct {
		Index          int
		IdempotencyKey *string
		Field          string
		Reason         string
	}
}

func TestTrackAndIdentify(t *testing.T) {
	t.Parallel()
	b := setup(t)
	input := map[string]any{"userId": "ann", "event": "export", "properties": map[string]any{"format": "csv"},
		"idempotencyKey": "t-1", "context": map[string]any{"deviceType": "mobile"}}

	var out struct{ Track ingestOut }
	b.query(t, b.project.Ingest, trackMutation, map[string]any{"input": input}, &out)
	require.Equal(t, 1, out.Track.Accepted)
	require.Empty(t, out.Track.Rejected)
	b.query(t, b.project.Ingest, trackMutation, map[string]any{"input": input}, &out)
	require.Equal(t, ingestOut{Duplicates: 1, Rejected: out.Track.Rejected}, out.Track, "a retry with the same key is skipped")

	var identified struct{ Identify ingestOut }
	b.query(t, b.project.Ingest, `mutation { identify(input: {userId: "ann", traits: {plan: "pro"}}) { accepted } }`, nil, &identified)
	require.Equal(t, 1, identified.Identify.Accepted)

	var users struct {
		Users struct {
			Edges []struct {
				Node struct {
					ExternalID string         `json:"externalId"`
					Traits     map[string]any `json:"traits"`
					EventCount int            `json:"eventCount"`
					Events     struct {
						Edges []struct {
							Node struct {
								Name       string         `json:"name"`
								Platform   string         `json:"platform"`
								MessageID  string         `json:"messageId"`
								Properties map[string]any `json:"properties"`
							}
						}
					}
				}
			}
		}
	}
	b.query(t, b.project.Read, `{ users(first: 5) { edges { node { externalId traits eventCount
	  events(first: 5) { edges { node { name platform messageId properties } } } } } } }`, nil, &users)
	require.Len(t, users.Users.Edges, 1)
	ann := users.Users.Edges[0].Node
	require.Equal(t, "ann", ann.ExternalID)
	require.Equal(t, map[string]any{"plan": "pro"}, ann.Traits)
	require.Equal(t, 1, ann.EventCount)
	require.Equal(t, "export", ann.Events.Edges[0].Node.Name)
	require.Equal(t, "MOBILE", ann.Events.Edges[0].Node.Platform)
	require.Equal(t, "t-1", ann.Events.Edges[0].Node.MessageID)
	require.Equal(t, map[string]any{"format": "csv"}, ann.Events.Edges[0].Node.Properties)

	_, res := b.do(t, b.project.Ingest, `{ users(first: 1) { totalCount } }`, nil)
	require.Equal(t, "FORBIDDEN", res.code(), "an INGEST key writes but never reads")
}

func TestTrackRejections(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name      string
		input     map[string]any
		wantField string
	}{
		{"no user", map[string]any{"event": "export"}, "input.userId"},
		{"empty event", map[string]any{"userId": "ann", "event": " "}, "input.event"},
		{"properties not an object", map[string]any{"userId": "ann", "event": "x", "properties": []any{1, 2}}, "input.properties"},
		{"timestamp far in the future", map[string]any{"userId": "ann", "event": "x", "timestamp": "2999-01-01T00:00:00Z"}, "input.timestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, res := b.do(t, b.project.Ingest, trackMutation, map[string]any{"input": tt.input})
			require.Equal(t, "BAD_USER_INPUT", res.code(), "errors: %+v", res.Errors)
			require.Equal(t, tt.wantField, res.Errors[0].Extensions["field"])
		})
	}
	n, err := b.client.Event.Query().Count(b.project.ctx)
	require.NoError(t, err)
	require.Zero(t, n)
}

// TestIngestEventsPartialBatch: the invalid message is reported with its
// index; the others are stored.
func TestIngestEventsPartialBatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var out struct{ IngestEvents ingestOut }
	b.query(t, b.project.Ingest, `mutation($events: [EventInput!]!) {
	  ingestEvents(events: $events) { accepted duplicates rejected { index idempotencyKey field reason } } }`,
		map[string]any{"events": []any{
			map[string]any{"userId": "ann", "event": "export", "idempotencyKey": "e1"},
			map[string]any{"type": "TRACK", "userId": "ann", "idempotencyKey": "e2"},
			map[string]any{"type": "PAGE", "anonymousId": "v-1", "name": "Home", "idempotencyKey": "e3"},
			map[string]any{"type": "IDENTIFY", "userId": "ann", "anonymousId": "v-1", "traits": map[string]any{"a": 1}, "idempotencyKey": "e4"},
			map[string]any{"type": "ALIAS", "userId": "ann", "idempotencyKey": "e5"},
		}}, &out)
	require.Equal(t, 3, out.IngestEvents.Accepted)
	require.Len(t, out.IngestEvents.Rejected, 2)
	require.Equal(t, 1, out.IngestEvents.Rejected[0].Index)
	require.Equal(t, "event", out.IngestEvents.Rejected[0].Field)
	require.Equal(t, "e2", *out.IngestEvents.Rejected[0].IdempotencyKey)
	require.Equal(t, 4, out.IngestEvents.Rejected[1].Index)
	require.Equal(t, "previousId", out.IngestEvents.Rejected[1].Field)

	users, err := b.client.User.Query().All(b.project.ctx)
	require.NoError(t, err)
	require.Len(t, users, 1, "the anonymous visitor was identified as ann")
	require.EqualValues(t, 2, users[0].EventCount)
}

// TestIngestIsolation: an INGEST key of project B writing the same user id
// never touches project A.
func TestIngestIsolation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := b.newProject(t, "other")
	input := map[string]any{"userId": "ann", "event": "export", "idempotencyKey": "same-key"}
	b.query(t, b.project.Ingest, trackMutation, map[string]any{"input": input}, nil)
	var out struct{ Track ingestOut }
	b.query(t, other.Ingest, trackMutation, map[string]any{"input": input}, &out)
	require.Equal(t, 1, out.Track.Accepted, "idempotency keys are per project")

	for _, p := range []*testProject{b.project, other} {
		var users struct {
			Users struct {
				TotalCount int
				Edges      []struct{ Node struct{ EventCount int } }
			}
		}
		b.query(t, p.Read, `{ users(first: 5) { totalCount edges { node { eventCount } } } }`, nil, &users)
		require.Equal(t, 1, users.Users.TotalCount)
		require.Equal(t, 1, users.Users.Edges[0].Node.EventCount)
	}
}

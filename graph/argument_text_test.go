package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/stretchr/testify/require"
)

// TestArgumentTextPostgreSQLCannotStore sends a NUL character in every kind
// of string argument, inline and in variables, and expects BAD_USER_INPUT
// naming the argument before any resolver runs (no data entry at all).
func TestArgumentTextPostgreSQLCannotStore(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := b.project
	tests := []struct {
		name      string
		key       string
		query     string
		vars      map[string]any
		wantPath  []any
		wantField string
	}{
		{"track event, inline", p.Ingest, `mutation { track(input: {userId: "ann", event: "a\u0000b"}) { accepted } }`, nil,
			[]any{"track"}, "input.event"},
		{"track property, variable", p.Ingest, `mutation($in: TrackInput!) { t: track(input: $in) { accepted } }`,
			map[string]any{"in": map[string]any{"userId": "ann", "event": "e", "properties": map[string]any{"note": "x\x00"}}},
			[]any{"t"}, "input.properties.note"},
		{"track property key", p.Ingest, `mutation($in: TrackInput!) { track(input: $in) { accepted } }`,
			map[string]any{"in": map[string]any{"userId": "ann", "event": "e", "properties": map[string]any{"no\x00te": 1}}},
			[]any{"track"}, "input.properties"},
		{"track context", p.Ingest, `mutation { track(input: {userId: "ann", event: "e", context: {userAgent: "\u0000"}}) { accepted } }`, nil,
			[]any{"track"}, "input.context.userAgent"},
		{"identify trait in a list", p.Ingest, `mutation($in: IdentifyInput!) { identify(input: $in) { accepted } }`,
			map[string]any{"in": map[string]any{"userId": "ann", "traits": map[string]any{"tags": []any{"ok", "b\x00"}}}},
			[]any{"identify"}, "input.traits.tags[1]"},
		{"identify user id", p.Ingest, `mutation { identify(input: {userId: "\u0000ann"}) { accepted } }`, nil,
			[]any{"identify"}, "input.userId"},
		{"ingestEvents second message", p.Ingest, `mutation($events: [EventInput!]!) { ingestEvents(events: $events) { accepted } }`,
			map[string]any{"events": []any{map[string]any{"userId": "ann", "event": "ok"}, map[string]any{"userId": "ann", "event": "e\x00"}}},
			[]any{"ingestEvents"}, "events[1].event"},
		{"submitFeedback tag", p.Ingest, `mutation { submitFeedback(input: {userId: "ann", text: "fine", tags: ["a", "\u0000"]}) { id } }`, nil,
			[]any{"submitFeedback"}, "input.tags[1]"},
		{"eligibleSurveys user", p.Ingest, `{ eligibleSurveys(userId: "ann\u0000") { id } }`, nil,
			[]any{"eligibleSurveys"}, "userId"},
		{"users filter", p.Read, `{ users(first: 1, where: {externalID: "\u0000"}) { totalCount } }`, nil,
			[]any{"users"}, "where.externalID"},
		{"previewSegment rule in a fragment", p.Read, `{ ...P } fragment P on Query { previewSegment(rule: {and: [{trait: {key: "plan", op: EQ, value: "pro"}}, {trait: {key: "p\u0000", op: EXISTS}}]}) { size } }`, nil,
			[]any{"previewSegment"}, "rule.and[1].trait.key"},
		{"node id", p.Read, `{ node(id: "\u0000") { id } }`, nil,
			[]any{"node"}, "id"},
		{"createSegment name", p.Admin, `mutation { createSegment(input: {name: "s\u0000", rule: {firstSeen: {withinDays: 7}}}) { id } }`, nil,
			[]any{"createSegment"}, "input.name"},
		{"createSegment trait value", p.Admin, `mutation($v: JSON) { createSegment(input: {name: "s", rule: {trait: {key: "plan", op: EQ, value: $v}}}) { id } }`,
			map[string]any{"v": "pro\x00"}, []any{"createSegment"}, "input.rule.trait.value"},
		{"createSurvey question", p.Admin, `mutation { createSurvey(input: {name: "s", questions: [{kind: TEXT, prompt: "why\u0000"}]}) { id } }`, nil,
			[]any{"createSurvey"}, "input.questions[0].prompt"},
		{"addSegmentMembers id", p.Admin, `mutation { addSegmentMembers(id: 1, externalIds: ["ann", "\u0000"]) { id } }`, nil,
			[]any{"addSegmentMembers"}, "externalIds[1]"},
		{"submitSurveyResponse answer", p.Ingest, `mutation { submitSurveyResponse(input: {surveyId: 1, userId: "ann", answers: [{questionId: 1, choices: ["a\u0000"]}]}) { id } }`, nil,
			[]any{"submitSurveyResponse"}, "input.answers[0].choices[0]"},
		{"updateSegment description", p.Admin, `mutation { updateSegment(id: 1, input: {description: "\u0000"}) { id } }`, nil,
			[]any{"updateSegment"}, "input.description"},
		{"updateFeedback note", p.Admin, `mutation { updateFeedback(id: 1, input: {note: "n\u0000"}) { id } }`, nil,
			[]any{"updateFeedback"}, "input.note"},
		{"explainMembership user", p.Read, `{ explainMembership(segmentId: 1, userId: "\u0000") { member } }`, nil,
			[]any{"explainMembership"}, "userId"},
		{"createSegmentFromCluster name", p.Admin, `mutation { createSegmentFromCluster(runId: 1, cluster: 0, name: "c\u0000") { id } }`, nil,
			[]any{"createSegmentFromCluster"}, "name"},
		{"createAPIKey name", p.Admin, `mutation { createAPIKey(input: {role: READ, name: "k\u0000"}) { secret } }`, nil,
			[]any{"createAPIKey"}, "input.name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, res := b.do(t, tt.key, tt.query, tt.vars)
			require.Equal(t, http.StatusOK, status)
			require.Len(t, res.Errors, 1, "errors: %+v", res.Errors)
			require.Equal(t, "BAD_USER_INPUT", res.code(), "errors: %+v", res.Errors)
			require.Equal(t, tt.wantField, res.Errors[0].Extensions["field"])
			require.Equal(t, tt.wantPath, res.Errors[0].Path)
			require.Contains(t, res.Errors[0].Message, `contains a NUL character (\u0000)`)
			require.Nil(t, res.Data, "no resolver may run: the response has no data entry")
		})
	}
	b.query(t, p.Read, `{ events { totalCount } users { totalCount } }`, nil, nil)
	var counts struct {
		Events struct{ TotalCount int } `json:"events"`
		Users  struct{ TotalCount int } `json:"users"`
	}
	b.query(t, p.Read, `{ events { totalCount } users { totalCount } }`, nil, &counts)
	require.Zero(t, counts.Events.TotalCount, "nothing was stored")
	require.Zero(t, counts.Users.TotalCount, "nothing was stored")
}

// TestArgumentTextNotUTF8 covers the two ways bytes that are not UTF-8
// arrive: raw in a GET query string, refused as BAD_USER_INPUT; and in a
// JSON body, where the decoder replaces invalid bytes and lone surrogates
// with U+FFFD, stored as such (never a 500).
func TestArgumentTextNotUTF8(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("GET query string", func(t *testing.T) {
		t.Parallel()
		query := "{ users(first: 1, where: {externalID: \"a\xffb\"}) { totalCount } }"
		req, err := http.NewRequest(http.MethodGet, b.server.URL+"/graphql?query="+url.QueryEscape(query), nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+b.project.Read)
		req.Header.Set("Accept", "application/json")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		var out gqlResponse
		require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Equal(t, "BAD_USER_INPUT", out.code(), "errors: %+v", out.Errors)
		require.Equal(t, "where.externalID", out.Errors[0].Extensions["field"])
		require.Contains(t, out.Errors[0].Message, "is not valid UTF-8")
	})

	t.Run("JSON body", func(t *testing.T) {
		t.Parallel()
		// Written by hand: json.Marshal would itself repair the bytes.
		body := "{\"query\":\"mutation { track(input: {userId: \\\"utf\\\", event: \\\"a\xffb\\\", properties: {note: \\\"\\\\ud800!\\\"}}) { accepted } }\"}"
		req, err := http.NewRequest(http.MethodPost, b.server.URL+"/graphql", bytes.NewReader([]byte(body)))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+b.project.Ingest)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		raw, err := io.ReadAll(res.Body)
		res.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", raw)
		require.JSONEq(t, `{"data":{"track":{"accepted":1}}}`, string(raw))

		var users struct {
			Users struct {
				Edges []struct {
					Node struct {
						Events struct {
							Edges []struct {
								Node struct {
									Name       string         `json:"name"`
									Properties map[string]any `json:"properties"`
								}
							}
						}
					}
				}
			}
		}
		b.query(t, b.project.Read, `{ users(first: 1, where: {externalID: "utf"}) { edges { node {
		  events(first: 1) { edges { node { name properties } } } } } } }`, nil, &users)
		require.Len(t, users.Users.Edges, 1)
		event := users.Users.Edges[0].Node.Events.Edges[0].Node
		require.Equal(t, "a\uFFFDb", event.Name)
		require.Equal(t, map[string]any{"note": "\uFFFD!"}, event.Properties)
	})
}

// TestArgumentTextOverWebSocket: a subscription's arguments are checked
// like any operation's; gqlgen sends the refusal as the operation's one
// result, then completes it.
func TestArgumentTextOverWebSocket(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(b.server.URL, "http") + "/graphql"
	conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	require.NoError(t, err)
	defer conn.CloseNow()
	require.NoError(t, wsjson.Write(ctx, conn, map[string]any{
		"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + b.project.Read},
	}))
	require.Equal(t, "connection_ack", readMessage(ctx, t, conn)["type"])
	require.NoError(t, wsjson.Write(ctx, conn, map[string]any{
		"id": "1", "type": "subscribe",
		"payload": map[string]any{"query": `subscription($id: ID!) { segmentRunUpdated(runId: $id) { id } }`, "variables": map[string]any{"id": "1\x00"}},
	}))
	msg := readMessage(ctx, t, conn)
	require.Equal(t, "next", msg["type"], "message: %v", msg)
	raw, err := json.Marshal(msg["payload"])
	require.NoError(t, err)
	var res gqlResponse
	require.NoError(t, json.Unmarshal(raw, &res))
	require.Len(t, res.Errors, 1)
	require.Equal(t, "BAD_USER_INPUT", res.code())
	require.Equal(t, "runId", res.Errors[0].Extensions["field"])
	require.Equal(t, "complete", readMessage(ctx, t, conn)["type"])
}

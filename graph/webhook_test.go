package graph_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/webhookmessage"
	"github.com/pulse-analytics/pulse/internal/webhook"
)

const (
	createEndpoint = `mutation($input: CreateWebhookEndpointInput!) {
	  createWebhookEndpoint(input: $input) { secret endpoint { id kind url description segmentIds events batchSize
	    enabled state disabledAt disabledReason failingSince previousSecretExpiresAt lastAttempt { at } } } }`
	endpointFields = `id kind url description segmentIds events batchSize enabled state disabledReason failingSince
	  previousSecretExpiresAt lastAttempt { at httpStatus latencyMs responseBody error }`
	listEndpoints = `{ webhookEndpoints(first: 10) { totalCount edges { node { ` + endpointFields + ` } } } }`
)

// webhookEndpoint is an endpoint as the API returns it.
type webhookEndpoint struct {
	ID, Kind, URL, Description, State string
	SegmentIDs                        []string `json:"segmentIds"`
	Events                            []string
	BatchSize                         int
	Enabled                           bool
	DisabledAt, DisabledReason        *string
	FailingSince                      *string
	PreviousSecretExpiresAt           *string
	LastAttempt                       *struct {
		At           string
		HTTPStatus   *int `json:"httpStatus"`
		LatencyMs    int
		ResponseBody string
		Error        *string
	}
}

type createdEndpoint struct {
	Secret   string
	Endpoint webhookEndpoint
}

// createWebhook creates an endpoint with admin and returns it with its
// secret; input fields default to a WEBHOOK of ENTERED users.
func createWebhook(t *testing.T, b *testBundle, admin string, input map[string]any) createdEndpoint {
	t.Helper()
	if _, ok := input["events"]; !ok {
		input["events"] = []string{"ENTERED"}
	}
	var out struct{ CreateWebhookEndpoint createdEndpoint }
	b.query(t, admin, createEndpoint, map[string]any{"input": input}, &out)
	return out.CreateWebhookEndpoint
}

func TestWebhookEndpointLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seg, err := b.client.Segment.Create().SetName("Dormant").Save(b.project.ctx)
	require.NoError(t, err)

	created := createWebhook(t, b, b.project.Admin, map[string]any{
		"url": "https://crm.example.com/hooks/pulse", "description": "CRM", "segmentIds": []string{gid(seg.ID)},
		"events": []string{"EXITED", "ENTERED"}, "batchSize": 250,
	})
	key, err := webhook.ParseSecret(created.Secret)
	require.NoError(t, err, "the secret is a Standard Webhooks secret")
	require.Len(t, key, 32)
	e := created.Endpoint
	require.Equal(t, webhookEndpoint{
		ID: e.ID, Kind: "WEBHOOK", URL: "https://crm.example.com/hooks/pulse", Description: "CRM", State: "HEALTHY",
		SegmentIDs: []string{gid(seg.ID)}, Events: []string{"ENTERED", "EXITED"}, BatchSize: 250, Enabled: true,
	}, e)

	// A READ key lists the endpoint, its settings and health, and nowhere
	// in the response is the secret.
	status, res := b.do(t, b.project.Read, listEndpoints, nil)
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, res.Errors)
	require.Equal(t, int64(1), gjson.GetBytes(res.Data, "webhookEndpoints.totalCount").Int())
	require.Equal(t, e.ID, gjson.GetBytes(res.Data, "webhookEndpoints.edges.0.node.id").String())
	require.NotContains(t, string(res.Data), created.Secret[len("whsec_"):])

	var rotated struct {
		RotateWebhookSecret createdEndpoint
	}
	before := time.Now()
	b.query(t, b.project.Admin, `mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret endpoint { `+endpointFields+` } } }`,
		map[string]any{"id": e.ID}, &rotated)
	require.NotEqual(t, created.Secret, rotated.RotateWebhookSecret.Secret)
	_, err = webhook.ParseSecret(rotated.RotateWebhookSecret.Secret)
	require.NoError(t, err)
	expires, err := time.Parse(time.RFC3339Nano, *rotated.RotateWebhookSecret.Endpoint.PreviousSecretExpiresAt)
	require.NoError(t, err)
	require.WithinDuration(t, before.Add(24*time.Hour), expires, time.Minute, "the previous secret signs for 24 hours")
	stored, err := b.client.WebhookEndpoint.Get(b.project.ctx, parseID(t, e.ID))
	require.NoError(t, err)
	require.Equal(t, rotated.RotateWebhookSecret.Secret, stored.Secret)
	require.Equal(t, created.Secret, *stored.PreviousSecret)

	var updated struct{ UpdateWebhookEndpoint webhookEndpoint }
	b.query(t, b.project.Admin, `mutation($id: ID!, $input: UpdateWebhookEndpointInput!) {
	  updateWebhookEndpoint(id: $id, input: $input) { `+endpointFields+` } }`,
		map[string]any{"id": e.ID, "input": map[string]any{"segmentIds": []string{}, "events": []string{"RUN_FAILED"}}}, &updated)
	require.Empty(t, updated.UpdateWebhookEndpoint.SegmentIDs, "every segment")
	require.Equal(t, []string{"RUN_FAILED"}, updated.UpdateWebhookEndpoint.Events)
	require.Equal(t, 250, updated.UpdateWebhookEndpoint.BatchSize, "left alone")

	var disabled struct{ DisableWebhookEndpoint webhookEndpoint }
	b.query(t, b.project.Admin, `mutation($id: ID!) { disableWebhookEndpoint(id: $id, reason: "CRM retired") { `+endpointFields+` disabledAt } }`,
		map[string]any{"id": e.ID}, &disabled)
	require.False(t, disabled.DisableWebhookEndpoint.Enabled)
	require.Equal(t, "DISABLED", disabled.DisableWebhookEndpoint.State)
	require.Equal(t, "CRM retired", *disabled.DisableWebhookEndpoint.DisabledReason)
	require.NotNil(t, disabled.DisableWebhookEndpoint.DisabledAt)

	var enabled struct{ EnableWebhookEndpoint webhookEndpoint }
	b.query(t, b.project.Admin, `mutation($id: ID!) { enableWebhookEndpoint(id: $id) { `+endpointFields+` } }`,
		map[string]any{"id": e.ID}, &enabled)
	require.True(t, enabled.EnableWebhookEndpoint.Enabled)
	require.Equal(t, "HEALTHY", enabled.EnableWebhookEndpoint.State)
	require.Nil(t, enabled.EnableWebhookEndpoint.DisabledReason)

	var deleted struct{ DeleteWebhookEndpoint string }
	b.query(t, b.project.Admin, `mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`, map[string]any{"id": e.ID}, &deleted)
	require.Equal(t, e.ID, deleted.DeleteWebhookEndpoint)
	var after struct{ WebhookEndpoints struct{ TotalCount int } }
	b.query(t, b.project.Read, `{ webhookEndpoints { totalCount } }`, nil, &after)
	require.Zero(t, after.WebhookEndpoints.TotalCount)
	_, res = b.do(t, b.project.Read, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": e.ID})
	require.Equal(t, "NOT_FOUND", res.code())
}

// TestWebhookSecretsNeverRead: no field of the API reads a secret, a
// previous secret or a write key back, whatever the key's role.
func TestWebhookSecretsNeverRead(t *testing.T) {
	t.Parallel()
	b := setup(t)
	track := createWebhook(t, b, b.project.Admin, map[string]any{
		"url": "https://api.segment.io", "kind": "SEGMENT_TRACK", "writeKey": "wk_secret_write_key",
	})
	require.Equal(t, "SEGMENT_TRACK", track.Endpoint.Kind)
	var rotated struct{ RotateWebhookSecret struct{ Secret string } }
	b.query(t, b.project.Admin, `mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }`,
		map[string]any{"id": track.Endpoint.ID}, &rotated)

	var schema struct {
		Type struct{ Fields []struct{ Name string } } `json:"__type"`
	}
	b.query(t, b.project.Read, `{ __type(name: "WebhookEndpoint") { fields { name } } }`, nil, &schema)
	require.NotEmpty(t, schema.Type.Fields)
	for _, f := range schema.Type.Fields {
		if f.Name == "previousSecretExpiresAt" {
			continue
		}
		require.NotContains(t, strings.ToLower(f.Name), "secret", "field %s", f.Name)
		require.NotContains(t, strings.ToLower(f.Name), "key", "field %s", f.Name)
	}
	require.Contains(t, schema.Type.Fields, struct{ Name string }{"previousSecretExpiresAt"}, "when, not what")

	for _, key := range []string{b.project.Read, b.project.Admin} {
		for _, field := range []string{"secret", "previousSecret", "writeKey"} {
			_, res := b.do(t, key, `{ webhookEndpoints(first: 1) { edges { node { id `+field+` } } } }`, nil)
			require.Equal(t, "GRAPHQL_VALIDATION_FAILED", res.code(), "%s is not a field", field)
		}
		for _, where := range []string{`{secret: "x"}`, `{writeKey: "x"}`, `{previousSecretContains: "x"}`} {
			_, res := b.do(t, key, `{ webhookEndpoints(first: 1, where: `+where+`) { totalCount } }`, nil)
			require.Equal(t, "GRAPHQL_VALIDATION_FAILED", res.code(), "no filter %s to guess secrets with", where)
		}
		_, res := b.do(t, key, listEndpoints, nil)
		require.Empty(t, res.Errors)
		for _, secret := range []string{track.Secret, rotated.RotateWebhookSecret.Secret, "wk_secret_write_key"} {
			require.NotContains(t, string(res.Data), secret)
		}
	}
}

func TestWebhookEndpointValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := b.newProject(t, t.Name()+" other")
	foreign, err := b.client.Segment.Create().SetName("theirs").Save(other.ctx)
	require.NoError(t, err)
	for _, tc := range []struct {
		name  string
		input map[string]any
		code  string
		field string // extensions.field of a BAD_USER_INPUT
		want  string
	}{
		{"http", map[string]any{"url": "http://example.com/hook"}, "BAD_USER_INPUT", "input.url", "must be https"},
		{"private address", map[string]any{"url": "https://192.168.1.10/hook"}, "BAD_USER_INPUT", "input.url", "public address"},
		{"relative", map[string]any{"url": "hooks/pulse"}, "BAD_USER_INPUT", "input.url", "absolute URL"},
		{"no events", map[string]any{"url": "https://example.com", "events": []string{}}, "BAD_USER_INPUT", "input.events", "at least one"},
		{"batch of 0", map[string]any{"url": "https://example.com", "batchSize": 0}, "BAD_USER_INPUT", "input.batchSize", "1 to 1000"},
		{"batch of 5000", map[string]any{"url": "https://example.com", "batchSize": 5000}, "BAD_USER_INPUT", "input.batchSize", "got 5000"},
		{"write key of a webhook", map[string]any{"url": "https://example.com", "writeKey": "wk"}, "BAD_USER_INPUT", "input.writeKey", "only SEGMENT_TRACK"},
		{"track without a write key", map[string]any{"url": "https://api.segment.io", "kind": "SEGMENT_TRACK"}, "BAD_USER_INPUT", "input.writeKey", "write key"},
		{"a project's id as a segment", map[string]any{"url": "https://example.com", "segmentIds": []string{gid(b.project.ID)}}, "BAD_USER_INPUT", "input.segmentIds[0]", "Segment"},
		{"another project's segment", map[string]any{"url": "https://example.com", "segmentIds": []string{gid(foreign.ID)}}, "NOT_FOUND", "", "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, ok := tc.input["events"]; !ok {
				tc.input["events"] = []string{"ENTERED"}
			}
			status, res := b.do(t, b.project.Admin, createEndpoint, map[string]any{"input": tc.input})
			require.Equal(t, http.StatusOK, status)
			require.Len(t, res.Errors, 1, "%+v", res.Errors)
			e := res.Errors[0]
			require.Equal(t, tc.code, res.code(), e.Message)
			require.Equal(t, "createWebhookEndpoint", e.Path[0])
			if tc.field != "" {
				require.Equal(t, tc.field, e.Extensions["field"])
			}
			require.Contains(t, e.Message, tc.want)
			require.Contains(t, []string{"", "null"}, string(res.Data))
		})
	}
	n, err := b.client.WebhookEndpoint.Query().Count(b.project.ctx)
	require.NoError(t, err)
	require.Zero(t, n)

	status, res := b.do(t, b.project.Read, `{ webhookEndpoints(first: 1) { edges { node { deliveries { edges { cursor } } } } } }`, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "BAD_USER_INPUT", res.code())
	require.Contains(t, res.Errors[0].Message, "set first or last")
}

// webhookLog is an endpoint of p with messages of seq 1..n in the states
// given in turn, each attempted once (PENDING ones failing with a 503,
// the others answered 200), the latest attempt last.
func webhookLog(t *testing.T, b *testBundle, p *testProject, segmentID int, states ...webhookmessage.State) (*ent.WebhookEndpoint, []*ent.WebhookMessage) {
	t.Helper()
	endpoint, err := b.client.WebhookEndpoint.Create().SetURL("https://example.com/" + t.Name()).
		SetEvents([]string{"ENTERED"}).SetSecret("whsec_x").Save(p.ctx)
	require.NoError(t, err)
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var messages []*ent.WebhookMessage
	for i, state := range states {
		m, err := b.client.WebhookMessage.Create().SetEndpoint(endpoint).SetSegmentID(segmentID).
			SetRunID(segmentID + i).SetSeq(i + 1).SetType("segment.entered").
			SetWebhookID(fmt.Sprintf("msg_%d_%d", endpoint.ID, i)).SetBody(`{}`).SetState(state).SetAttempts(1).
			SetCreatedAt(start.Add(time.Duration(i) * time.Minute)).Save(p.ctx)
		require.NoError(t, err)
		status := 200
		if state != webhookmessage.StateDELIVERED {
			status = 503
		}
		_, err = b.client.WebhookAttempt.Create().SetMessage(m).SetAt(start.Add(time.Duration(i)*time.Minute + time.Second)).
			SetStatusCode(status).SetLatencyMs(20 + i).SetResponseBody(strings.Repeat("x", 1024)).Save(p.ctx)
		require.NoError(t, err)
		messages = append(messages, m)
	}
	return endpoint, messages
}

const deliveriesQuery = `query($id: ID!, $first: Int!, $after: Cursor, $status: WebhookMessageState) { node(id: $id) { ... on WebhookEndpoint {
  deliveries(first: $first, after: $after, status: $status) { pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id webhookId type segmentId part state nextAttemptAt deliveredAt createdAt run { id seq }
      attempts { at httpStatus latencyMs responseBody error } } } } } } }`

func TestWebhookDeliveries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seg, err := b.client.Segment.Create().SetName("Dormant").Save(b.project.ctx)
	require.NoError(t, err)
	endpoint, messages := webhookLog(t, b, b.project, seg.ID, "DELIVERED", "FAILED", "DELIVERED", "PENDING")

	page := func(first int, after, status any) gjson.Result {
		status2, res := b.do(t, b.project.Read, deliveriesQuery, map[string]any{"id": gid(endpoint.ID), "first": first, "after": after, "status": status})
		require.Equal(t, http.StatusOK, status2)
		require.Empty(t, res.Errors)
		return gjson.GetBytes(res.Data, "node.deliveries")
	}
	first := page(2, nil, nil)
	require.Equal(t, "[4,3]", first.Get("edges.#.node.run.seq").Raw, "newest first")
	require.True(t, first.Get("pageInfo.hasNextPage").Bool())
	require.False(t, first.Get("pageInfo.hasPreviousPage").Bool())
	newest := first.Get("edges.0.node")
	require.Equal(t, gid(messages[3].ID), newest.Get("id").String())
	require.Equal(t, messages[3].WebhookID, newest.Get("webhookId").String())
	require.Equal(t, "segment.entered", newest.Get("type").String())
	require.Equal(t, gid(seg.ID), newest.Get("segmentId").String())
	require.Equal(t, gid(seg.ID+3), newest.Get("run.id").String())
	require.Equal(t, "PENDING", newest.Get("state").String())
	require.Equal(t, int64(503), newest.Get("attempts.0.httpStatus").Int())
	require.Equal(t, int64(23), newest.Get("attempts.0.latencyMs").Int())
	require.Len(t, newest.Get("attempts.0.responseBody").String(), 1024)

	rest := page(2, first.Get("pageInfo.endCursor").String(), nil)
	require.Equal(t, "[2,1]", rest.Get("edges.#.node.run.seq").Raw)
	require.False(t, rest.Get("pageInfo.hasNextPage").Bool())
	require.True(t, rest.Get("pageInfo.hasPreviousPage").Bool())

	require.Equal(t, "[3,1]", page(10, nil, "DELIVERED").Get("edges.#.node.run.seq").Raw)
	require.Equal(t, "[2]", page(10, nil, "FAILED").Get("edges.#.node.run.seq").Raw)

	// The endpoint's health: its last attempt, a failure.
	var health struct{ Node webhookEndpoint }
	b.query(t, b.project.Read, `query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { `+endpointFields+` } } }`,
		map[string]any{"id": gid(endpoint.ID)}, &health)
	require.Equal(t, 503, *health.Node.LastAttempt.HTTPStatus)
	require.Equal(t, "2026-03-01T12:03:01Z", health.Node.LastAttempt.At)
	require.Equal(t, "HEALTHY", health.Node.State)
	failingSince := time.Date(2026, 3, 1, 12, 3, 1, 0, time.UTC)
	require.NoError(t, b.client.WebhookEndpoint.UpdateOne(endpoint).SetFailingSince(failingSince).Exec(b.project.ctx))
	b.query(t, b.project.Read, `query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { `+endpointFields+` } } }`,
		map[string]any{"id": gid(endpoint.ID)}, &health)
	require.Equal(t, "FAILING", health.Node.State, "delivery records failures on the endpoint")
	require.Equal(t, "2026-03-01T12:03:01Z", *health.Node.FailingSince)
	require.True(t, health.Node.Enabled)

	_, res := b.do(t, b.project.Read, deliveriesQuery, map[string]any{"id": gid(endpoint.ID), "first": 2, "after": "gaFpAQ"})
	require.Equal(t, "BAD_USER_INPUT", res.code(), "%+v", res.Errors)
}

func TestWebhookRedeliverAndReplay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seg, err := b.client.Segment.Create().SetName("Dormant").Save(b.project.ctx)
	require.NoError(t, err)
	endpoint, messages := webhookLog(t, b, b.project, seg.ID, "DELIVERED", "FAILED", "DELIVERED")

	var redelivered struct {
		RedeliverWebhookMessage struct {
			ID, State string
			Attempts  []struct {
				HTTPStatus int `json:"httpStatus"`
			}
		}
	}
	b.query(t, b.project.Admin, `mutation($id: ID!) { redeliverWebhookMessage(id: $id) { id state attempts { httpStatus } } }`,
		map[string]any{"id": gid(messages[1].ID)}, &redelivered)
	require.Equal(t, gid(messages[1].ID), redelivered.RedeliverWebhookMessage.ID)
	require.Equal(t, "PENDING", redelivered.RedeliverWebhookMessage.State)
	require.Len(t, redelivered.RedeliverWebhookMessage.Attempts, 1, "the attempts made stay in the log")
	require.Equal(t, 1, deliverJobs(t, b, endpoint.ID), "a delivery is queued with it")

	var replayed struct {
		ReplayWebhookEndpoint struct {
			Endpoint struct{ ID string }
			Messages int
		}
	}
	b.query(t, b.project.Admin, `mutation($id: ID!) { replayWebhookEndpoint(id: $id, fromSeq: 1) { endpoint { id } messages } }`,
		map[string]any{"id": gid(endpoint.ID)}, &replayed)
	require.Equal(t, gid(endpoint.ID), replayed.ReplayWebhookEndpoint.Endpoint.ID)
	require.Equal(t, 2, replayed.ReplayWebhookEndpoint.Messages, "seq 2 and 3")
	states, err := b.client.WebhookMessage.Query().Order(webhookmessage.BySeq()).Select(webhookmessage.FieldState).Strings(b.project.ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"DELIVERED", "PENDING", "PENDING"}, states)

	_, res := b.do(t, b.project.Admin, `mutation($id: ID!) { replayWebhookEndpoint(id: $id, fromSeq: -1) { messages } }`, map[string]any{"id": gid(endpoint.ID)})
	require.Equal(t, "BAD_USER_INPUT", res.code())
	require.Equal(t, "fromSeq", res.Errors[0].Extensions["field"])

	b.query(t, b.project.Admin, `mutation($id: ID!) { disableWebhookEndpoint(id: $id) { id } }`, map[string]any{"id": gid(endpoint.ID)}, nil)
	for _, mutation := range []string{
		`mutation($id: ID!) { replayWebhookEndpoint(id: $id, fromSeq: 0) { messages } }`,
	} {
		_, res := b.do(t, b.project.Admin, mutation, map[string]any{"id": gid(endpoint.ID)})
		require.Equal(t, "BAD_USER_INPUT", res.code())
		require.Contains(t, res.Errors[0].Message, "disabled: enable it first")
	}
	_, res = b.do(t, b.project.Admin, `mutation($id: ID!) { redeliverWebhookMessage(id: $id) { id } }`, map[string]any{"id": gid(messages[0].ID)})
	require.Equal(t, "BAD_USER_INPUT", res.code())
	require.Contains(t, res.Errors[0].Message, "disabled: enable it first")
}

// deliverJobs counts the delivery jobs queued for endpoint.
func deliverJobs(t *testing.T, b *testBundle, endpointID int) int {
	t.Helper()
	rows, err := b.client.QueryContext(context.Background(),
		`SELECT count(*) FROM river_job WHERE kind = 'webhook_deliver' AND (args->>'endpoint_id')::bigint = $1`, endpointID)
	require.NoError(t, err)
	defer rows.Close()
	require.True(t, rows.Next())
	var n int
	require.NoError(t, rows.Scan(&n))
	require.NoError(t, rows.Err())
	return n
}

// parseID reads a GraphQL ID.
func parseID(t *testing.T, id string) int {
	t.Helper()
	var n int
	_, err := fmt.Sscan(id, &n)
	require.NoError(t, err)
	return n
}

// TestWebhookQueryCount: a page of endpoints with their health and two
// pages of deliveries each, with attempts, costs the same statements for
// one endpoint as for five.
func TestWebhookQueryCount(t *testing.T) {
	t.Parallel()
	const query = `query($n: Int!) { webhookEndpoints(first: $n) { edges { node { id state lastAttempt { at httpStatus }
	  deliveries(first: 5) { pageInfo { hasNextPage } edges { node { id run { id seq } attempts { at httpStatus latencyMs } } } }
	  failed: deliveries(first: 5, status: FAILED) { edges { node { id attempts { httpStatus } } } } } } } }`

	count := func(endpoints int) int64 {
		b := setupCounting(t)
		seg, err := b.client.Segment.Create().SetName("Dormant").Save(b.project.ctx)
		require.NoError(t, err)
		for range endpoints {
			webhookLog(t, b, b.project, seg.ID, "DELIVERED", "FAILED", "DELIVERED", "PENDING", "DELIVERED", "DELIVERED")
		}
		before := b.queries.Load()
		status, res := b.do(t, b.project.Read, query, map[string]any{"n": endpoints})
		used := b.queries.Load() - before
		require.Equal(t, http.StatusOK, status)
		require.Empty(t, res.Errors)
		edges := gjson.GetBytes(res.Data, "webhookEndpoints.edges")
		require.Len(t, edges.Array(), endpoints)
		for _, e := range edges.Array() {
			require.Equal(t, "[6,5,4,3,2]", e.Get("node.deliveries.edges.#.node.run.seq").Raw)
			require.True(t, e.Get("node.deliveries.pageInfo.hasNextPage").Bool())
			require.Equal(t, "[[200],[200],[503],[200],[503]]", e.Get("node.deliveries.edges.#.node.attempts.#.httpStatus").Raw)
			require.Len(t, e.Get("node.failed.edges").Array(), 1)
			require.Equal(t, "HEALTHY", e.Get("node.state").String())
			require.Equal(t, int64(200), e.Get("node.lastAttempt.httpStatus").Int(), "the last message's attempt")
		}
		return used
	}
	one, five := count(1), count(5)
	t.Logf("SQL statements: %d for 1 endpoint, %d for 5", one, five)
	require.Equal(t, one, five, "endpoints' fields must not issue a query per endpoint")
	// The endpoints; their last attempts; each page of deliveries and its
	// attempts.
	require.Equal(t, int64(6), five)
}

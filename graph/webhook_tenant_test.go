package graph_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/pulse-analytics/pulse/ent/webhookendpoint"
	"github.com/pulse-analytics/pulse/ent/webhookmessage"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// webhookState fingerprints the webhook rows of projectID, read past the
// tenant filter: settings, secrets, states and attempts.
func webhookState(t *testing.T, b *testBundle, projectID int) string {
	t.Helper()
	ctx := tenant.Bypass(context.Background())
	var out strings.Builder
	endpoints, err := b.client.WebhookEndpoint.Query().Where(webhookendpoint.ProjectID(projectID)).Order(webhookendpoint.ByID()).All(ctx)
	require.NoError(t, err)
	for _, e := range endpoints {
		fmt.Fprintf(&out, "endpoint %d %s %v %s previous=%v disabled=%v %s\n", e.ID, e.URL, e.Events, e.Secret, e.PreviousSecret, e.DisabledAt, e.UpdatedAt)
	}
	messages, err := b.client.WebhookMessage.Query().Where(webhookmessage.ProjectID(projectID)).Order(webhookmessage.ByID()).All(ctx)
	require.NoError(t, err)
	for _, m := range messages {
		fmt.Fprintf(&out, "message %d %s attempts=%d\n", m.ID, m.State, m.Attempts)
	}
	return out.String()
}

// TestWebhookTenantIsolation: a key of another project can neither read
// nor change a project's endpoints, their deliveries or their secrets, and
// its errors cannot tell that they exist.
func TestWebhookTenantIsolation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	owner, intruder := b.project, b.newProject(t, t.Name()+" intruder")
	seg, err := b.client.Segment.Create().SetName("Dormant").Save(owner.ctx)
	require.NoError(t, err)
	endpoint, messages := webhookLog(t, b, owner, seg.ID, "FAILED", "DELIVERED")
	mine := createWebhook(t, b, intruder.Admin, map[string]any{"url": "https://intruder.example.com"})
	before := webhookState(t, b, owner.ID)
	require.Contains(t, before, fmt.Sprintf("endpoint %d", endpoint.ID))

	for _, key := range []string{intruder.Read, intruder.Admin} {
		var list struct {
			WebhookEndpoints idConnection
		}
		b.query(t, key, `{ webhookEndpoints(first: 10) { totalCount edges { node { id } } } }`, nil, &list)
		requireConnection(t, []string{mine.Endpoint.ID}, &list.WebhookEndpoints, "only the caller's endpoints")

		_, res := b.do(t, key, deliveriesQuery, map[string]any{"id": gid(endpoint.ID), "first": 10})
		require.Equal(t, "NOT_FOUND", res.code(), "another project's endpoint, and so its deliveries, is not found")
		_, res = b.do(t, key, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": []string{gid(endpoint.ID)}})
		require.Equal(t, "NOT_FOUND", res.code())
		require.NotContains(t, string(res.Data), gid(endpoint.ID))
	}
	// The owner sees them, through the same queries.
	_, res := b.do(t, owner.Read, deliveriesQuery, map[string]any{"id": gid(endpoint.ID), "first": 10})
	require.Empty(t, res.Errors)
	require.Equal(t, int64(2), gjson.GetBytes(res.Data, "node.deliveries.edges.#").Int())

	byID := func(id int) map[string]any { return map[string]any{"id": gid(id)} }
	for _, tc := range []struct {
		name, mutation string
		foreign        int
		vars           func(id int) map[string]any
	}{
		{"updateWebhookEndpoint", `mutation($id: ID!, $input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $input) { id } }`,
			endpoint.ID, func(id int) map[string]any {
				return map[string]any{"id": gid(id), "input": map[string]any{"url": "https://evil.example.com"}}
			}},
		{"rotateWebhookSecret", `mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }`, endpoint.ID, byID},
		{"disableWebhookEndpoint", `mutation($id: ID!) { disableWebhookEndpoint(id: $id) { id } }`, endpoint.ID, byID},
		{"enableWebhookEndpoint", `mutation($id: ID!) { enableWebhookEndpoint(id: $id) { id } }`, endpoint.ID, byID},
		{"deleteWebhookEndpoint", `mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`, endpoint.ID, byID},
		{"replayWebhookEndpoint", `mutation($id: ID!) { replayWebhookEndpoint(id: $id, fromSeq: 0) { messages } }`, endpoint.ID, byID},
		{"redeliverWebhookMessage", `mutation($id: ID!) { redeliverWebhookMessage(id: $id) { id } }`, messages[0].ID, byID},
		{"createWebhookEndpoint segmentIds", `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret } }`,
			seg.ID, func(id int) map[string]any {
				return map[string]any{"input": map[string]any{"url": "https://intruder.example.com", "events": []string{"ENTERED"}, "segmentIds": []string{gid(id)}}}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			field := strings.Fields(tc.name)[0]
			status, res := b.do(t, intruder.Admin, tc.mutation, tc.vars(tc.foreign))
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, "NOT_FOUND", res.code(), "errors: %+v", res.Errors)
			require.Equal(t, []any{field}, res.Errors[0].Path)
			require.Contains(t, []string{"", "null"}, string(res.Data))

			missing := missingID(tc.foreign)
			_, ghost := b.do(t, intruder.Admin, tc.mutation, tc.vars(missing))
			require.Equal(t, "NOT_FOUND", ghost.code())
			require.Equal(t, strings.ReplaceAll(ghost.Errors[0].Message, gid(missing), gid(tc.foreign)), res.Errors[0].Message,
				"the owner's id is answered as an id that exists nowhere")
			require.Equal(t, before, webhookState(t, b, owner.ID), "nothing of the owner's was written")
		})
	}
	require.Zero(t, deliverJobs(t, b, endpoint.ID), "no delivery was queued for the owner's endpoint")
}

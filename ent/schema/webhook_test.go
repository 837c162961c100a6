package schema_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/webhookattempt"
	"github.com/pulse-analytics/pulse/ent/webhookmessage"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// webhookRows creates an endpoint, a message and an attempt of the project
// of ctx.
func webhookRows(t *testing.T, client *ent.Client, ctx context.Context, name string) (*ent.WebhookEndpoint, *ent.WebhookMessage, *ent.WebhookAttempt) {
	t.Helper()
	endpoint, err := client.WebhookEndpoint.Create().
		SetURL("https://example.com/" + name).
		SetEvents([]string{"ENTERED"}).
		SetSecret("whsec_" + name).
		Save(ctx)
	require.NoError(t, err)
	message, err := client.WebhookMessage.Create().
		SetEndpoint(endpoint).
		SetSegmentID(1).
		SetSeq(1).
		SetType("segment.entered").
		SetWebhookID("msg_" + name).
		SetBody(`{}`).
		Save(ctx)
	require.NoError(t, err)
	attempt, err := client.WebhookAttempt.Create().SetMessage(message).SetStatusCode(500).Save(ctx)
	require.NoError(t, err)
	return endpoint, message, attempt
}

func TestWebhookTenantScoping(t *testing.T) {
	t.Parallel()
	client, ctxA, ctxB := setup(t)
	endpointA, messageA, attemptA := webhookRows(t, client, ctxA, "a")
	endpointB, messageB, attemptB := webhookRows(t, client, ctxB, "b")
	scopeA, _ := tenant.FromContext(ctxA)
	for _, projectID := range []int{endpointA.ProjectID, messageA.ProjectID, attemptA.ProjectID} {
		require.Equal(t, scopeA.ProjectID, projectID, "project_id comes from the context")
	}
	require.Equal(t, 100, endpointA.BatchSize)
	require.Equal(t, []int{}, endpointA.SegmentIds, "empty: every segment")
	require.Equal(t, endpointA.ID, attemptA.EndpointID, "an attempt records its message's endpoint")
	require.Equal(t, endpointB.ID, attemptB.EndpointID)

	_, err := client.WebhookEndpoint.Get(ctxA, endpointB.ID)
	require.True(t, ent.IsNotFound(err))
	_, err = client.WebhookMessage.Get(ctxA, messageB.ID)
	require.True(t, ent.IsNotFound(err))
	_, err = client.WebhookAttempt.Get(ctxA, attemptB.ID)
	require.True(t, ent.IsNotFound(err))
	err = client.WebhookEndpoint.UpdateOneID(endpointB.ID).SetURL("https://evil.example").Exec(ctxA)
	require.True(t, ent.IsNotFound(err), "got %v", err)
	require.NoError(t, client.WebhookMessage.Update().SetState(webhookmessage.StateFAILED).Exec(ctxA))
	err = client.WebhookEndpoint.DeleteOneID(endpointB.ID).Exec(ctxA)
	require.True(t, ent.IsNotFound(err), "got %v", err)

	still, err := client.WebhookMessage.Get(ctxB, messageB.ID)
	require.NoError(t, err)
	require.Equal(t, webhookmessage.StatePENDING, still.State)
	_, err = client.WebhookAttempt.Query().All(context.Background())
	require.ErrorIs(t, err, tenant.ErrNoTenant)

	// Deleting an endpoint deletes its log with it.
	require.NoError(t, client.WebhookEndpoint.DeleteOneID(endpointA.ID).Exec(ctxA))
	left, err := client.WebhookAttempt.Query().Where(webhookattempt.EndpointID(endpointA.ID)).Count(ctxA)
	require.NoError(t, err)
	require.Zero(t, left)
	left, err = client.WebhookMessage.Query().Count(ctxA)
	require.NoError(t, err)
	require.Zero(t, left)
}

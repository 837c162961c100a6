package graph_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/apikey"
	entsegment "github.com/pulse-analytics/pulse/ent/segment"
	entsurvey "github.com/pulse-analytics/pulse/ent/survey"
	"github.com/pulse-analytics/pulse/ent/user"
	"github.com/pulse-analytics/pulse/ent/webhookendpoint"
	"github.com/pulse-analytics/pulse/ent/webhookmessage"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/privacy"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// roleFixture is a project of its own for one (field, key) pair, so that a
// mutation that wrongly succeeds is seen in the database, whatever the other
// pairs do at the same time.
type roleFixture struct {
	p             *testProject
	s             *seeded
	spareKeyID    int    // a READ key that revokeAPIKey may revoke
	revokedSecret string // an ADMIN key that was revoked
	suppressed    string // an external id an erasure suppressed, for unsuppressUser
	endpoint      *ent.WebhookEndpoint
	message       *ent.WebhookMessage // the endpoint's, FAILED
}

func newRoleFixture(t *testing.T, b *testBundle) *roleFixture {
	t.Helper()
	p := b.newProject(t, t.Name())
	keys := auth.NewKeys(b.client)
	spare, err := keys.Create(p.ctx, tenant.RoleRead, "spare")
	require.NoError(t, err)
	revoked, err := keys.Create(p.ctx, tenant.RoleAdmin, "revoked")
	require.NoError(t, err)
	_, err = keys.Revoke(p.ctx, revoked.Key.ID)
	require.NoError(t, err)
	f := &roleFixture{p: p, s: seed(t, b, p, "r", 2), spareKeyID: spare.Key.ID, revokedSecret: revoked.Secret}
	f.suppressed = "objected-" + t.Name()
	_, err = privacy.NewEraser(b.db).Erase(p.ctx, privacy.Request{ExternalIDs: []string{f.suppressed}, Suppress: true})
	require.NoError(t, err)
	endpoint, messages := webhookLog(t, b, p, f.s.Segment.ID, "FAILED")
	f.endpoint, f.message = endpoint, messages[0]
	return f
}

// roleEndpoint reads the fixture's endpoint back.
func roleEndpoint(t *testing.T, b *testBundle, f *roleFixture) *ent.WebhookEndpoint {
	t.Helper()
	e, err := b.client.WebhookEndpoint.Get(f.p.ctx, f.endpoint.ID)
	if ent.IsNotFound(err) {
		return nil
	}
	require.NoError(t, err)
	return e
}

// roleKey is one way of calling: no key, a key of a role, or a key that no
// longer or never worked.
type roleKey struct {
	name   string
	role   tenant.Role // empty when the key grants nothing
	secret func(f *roleFixture) string
}

var roleKeys = []roleKey{
	{"none", "", func(*roleFixture) string { return "" }},
	{"INGEST", tenant.RoleIngest, func(f *roleFixture) string { return f.p.Ingest }},
	{"READ", tenant.RoleRead, func(f *roleFixture) string { return f.p.Read }},
	{"ADMIN", tenant.RoleAdmin, func(f *roleFixture) string { return f.p.Admin }},
	{"revoked", "", func(f *roleFixture) string { return f.revokedSecret }},
	{"garbage", "", func(*roleFixture) string { return "pk_admin_" + strings.Repeat("x", 43) }},
}

// roleCase is a root field, the role it needs, and what success looks like.
type roleCase struct {
	field string
	need  tenant.Role
	query string
	vars  func(f *roleFixture) map[string]any
	// check asserts the data of a successful call made with role.
	check func(t *testing.T, f *roleFixture, role tenant.Role, data json.RawMessage)
	// applied reports, from the database, whether a mutation took effect.
	applied func(t *testing.T, b *testBundle, f *roleFixture) bool
}

func noVars(*roleFixture) map[string]any { return nil }

// decode unmarshals data into a new T.
func decode[T any](t *testing.T, data json.RawMessage) T {
	t.Helper()
	var v T
	require.NoError(t, jsonUnmarshal(data, &v))
	return v
}

func requireIDs(t *testing.T, data json.RawMessage, field string, want ...int) {
	t.Helper()
	out := decode[map[string]idConnection](t, data)
	requireConnection(t, gids(want...), ptr(out[field]), field)
}

func ptr[T any](v T) *T { return &v }

var roleQueryCases = []roleCase{
	{field: "users", need: tenant.RoleRead, vars: noVars,
		query: `{ users(first: 10) { totalCount edges { node { id } } } }`,
		check: func(t *testing.T, f *roleFixture, _ tenant.Role, data json.RawMessage) {
			requireIDs(t, data, "users", f.s.Users[0].ID, f.s.Users[1].ID)
		}},
	{field: "events", need: tenant.RoleRead, vars: noVars,
		query: `{ events(first: 10) { totalCount edges { node { id } } } }`,
		check: func(t *testing.T, f *roleFixture, _ tenant.Role, data json.RawMessage) {
			requireIDs(t, data, "events", f.s.Events[0].ID, f.s.Events[1].ID, f.s.Events[2].ID, f.s.Events[3].ID)
		}},
	{field: "feedbacks", need: tenant.RoleRead, vars: noVars,
		query: `{ feedbacks(first: 10) { totalCount edges { node { id } } } }`,
		check: func(t *testing.T, f *roleFixture, _ tenant.Role, data json.RawMessage) {
			requireIDs(t, data, "feedbacks", f.s.Feedback[0].ID, f.s.Feedback[1].ID)
		}},
	{field: "segments", need: tenant.RoleRead, vars: noVars,
		query: `{ segments(first: 10) { totalCount edges { node { id } } } }`,
		check: func(t *testing.T, f *roleFixture, _ tenant.Role, data json.RawMessage) {
			requireIDs(t, data, "segments", f.s.Segment.ID)
		}},
	{field: "surveys", need: tenant.RoleRead, vars: noVars,
		query: `{ surveys(first: 10) { totalCount edges { node { id } } } }`,
		check: func(t *testing.T, f *roleFixture, _ tenant.Role, data json.RawMessage) {
			requireIDs(t, data, "surveys", f.s.Survey.ID)
		}},
	{field: "node", need: tenant.RoleRead,
		query: `query($id: ID!) { node(id: $id) { id ... on User { externalId } } }`,
		vars:  func(f *roleFixture) map[string]any { return map[string]any{"id": gid(f.s.Users[1].ID)} },
		check: func(t *testing.T, f *roleFixture, _ tenant.Role, data json.RawMessage) {
			require.JSONEq(t, `{"node":{"id":"`+gid(f.s.Users[1].ID)+`","externalId":"r-1"}}`, string(data))
		}},
	{field: "nodes", need: tenant.RoleRead,
		query: `query($ids: [ID!]!) { nodes(ids: $ids) { id __typename } }`,
		vars: func(f *roleFixture) map[string]any {
			return map[string]any{"ids": gids(f.s.Segment.ID, f.s.Users[0].ID)}
		},
		check: func(t *testing.T, f *roleFixture, _ tenant.Role, data json.RawMessage) {
			require.JSONEq(t, `{"nodes":[{"id":"`+gid(f.s.Segment.ID)+`","__typename":"Segment"},`+
				`{"id":"`+gid(f.s.Users[0].ID)+`","__typename":"User"}]}`, string(data))
		}},
	{field: "apiKeys", need: tenant.RoleAdmin, vars: noVars,
		query: `{ apiKeys { id role name } }`,
		check: func(t *testing.T, f *roleFixture, _ tenant.Role, data json.RawMessage) {
			out := decode[struct {
				APIKeys []struct{ ID, Role, Name string }
			}](t, data)
			var roles []string
			for _, k := range out.APIKeys {
				roles = append(roles, k.Role)
			}
			require.ElementsMatch(t, []string{"INGEST", "READ", "ADMIN", "READ"}, roles, "the revoked key is left out")
			require.Contains(t, out.APIKeys, struct{ ID, Role, Name string }{gid(f.spareKeyID), "READ", "spare"})
		}},
	{field: "auditLog", need: tenant.RoleAdmin, vars: noVars,
		query: `{ auditLog(first: 10) { totalCount edges { node { action } } } }`,
		check: func(t *testing.T, _ *roleFixture, _ tenant.Role, data json.RawMessage) {
			// The fixture's keys were made by Pulse itself, not by a mutation.
			require.JSONEq(t, `{"auditLog":{"totalCount":0,"edges":[]}}`, string(data))
		}},
	{field: "webhookEndpoints", need: tenant.RoleRead, vars: noVars,
		query: `{ webhookEndpoints(first: 10) { totalCount edges { node { id } } } }`,
		check: func(t *testing.T, f *roleFixture, _ tenant.Role, data json.RawMessage) {
			requireIDs(t, data, "webhookEndpoints", f.endpoint.ID)
		}},
	{field: "viewer", need: tenant.RoleIngest, vars: noVars,
		query: `{ viewer { role project { id } } }`,
		check: func(t *testing.T, f *roleFixture, role tenant.Role, data json.RawMessage) {
			require.JSONEq(t, `{"viewer":{"role":"`+string(role)+`","project":{"id":"`+gid(f.p.ID)+`"}}}`, string(data))
		}},
}

var roleMutationCases = []roleCase{
	{field: "createSegment", need: tenant.RoleAdmin,
		query: `mutation($input: CreateSegmentInput!) { createSegment(input: $input) { name kind status rule } }`,
		vars: func(*roleFixture) map[string]any {
			return map[string]any{"input": map[string]any{"name": "role made", "rule": map[string]any{
				"trait": map[string]any{"key": "plan", "op": "EQ", "value": "pro"}}}}
		},
		check: func(t *testing.T, _ *roleFixture, _ tenant.Role, data json.RawMessage) {
			require.JSONEq(t, `{"createSegment":{"name":"role made","kind":"DYNAMIC","status":"PENDING",
			  "rule":{"trait":{"key":"plan","op":"EQ","value":"pro"}}}}`, string(data))
		},
		applied: func(t *testing.T, b *testBundle, f *roleFixture) bool {
			ok, err := b.client.Segment.Query().Where(entsegment.Name("role made")).Exist(f.p.ctx)
			require.NoError(t, err)
			return ok
		}},
	{field: "updateSegment", need: tenant.RoleAdmin,
		query: `mutation($id: ID!, $input: UpdateSegmentInput!) { updateSegment(id: $id, input: $input) { id name } }`,
		vars: func(f *roleFixture) map[string]any {
			return map[string]any{"id": gid(f.s.Segment.ID), "input": map[string]any{"name": "renamed"}}
		},
		check: func(t *testing.T, f *roleFixture, _ tenant.Role, data json.RawMessage) {
			require.JSONEq(t, `{"updateSegment":{"id":"`+gid(f.s.Segment.ID)+`","name":"renamed"}}`, string(data))
		},
		applied: func(t *testing.T, b *testBundle, f *roleFixture) bool {
			seg, err := b.client.Segment.Get(f.p.ctx, f.s.Segment.ID)
			require.NoError(t, err)
			return seg.Name == "renamed"
		}},
	{field: "archiveSegment", need: tenant.RoleAdmin,
		query: `mutation($id: ID!) { archiveSegment(id: $id) { id archivedAt } }`,
		vars:  func(f *roleFixture) map[string]any { return map[string]any{"id": gid(f.s.Segment.ID)} },
		check: func(t *testing.T, f *roleFixture, _ tenant.Role, data json.RawMessage) {
			out := decode[struct {
				ArchiveSegment struct{ ID, ArchivedAt string }
			}](t, data)
			require.Equal(t, gid(f.s.Segment.ID), out.ArchiveSegment.ID)
			require.NotEmpty(t, out.ArchiveSegment.ArchivedAt)
		},
		applied: func(t *testing.T, b *testBundle, f *roleFixture) bool {
			seg, err := b.client.Segment.Get(f.p.ctx, f.s.Segment.ID)
			require.NoError(t, err)
			return seg.ArchivedAt != nil
		}},
	{field: "createSurvey", need: tenant.RoleAdmin,
		query: `mutation($input: CreateSurveyInput!) { createSurvey(input: $input) { name status targetSegment { id } questions { kind prompt } } }`,
		vars: func(f *roleFixture) map[string]any {
			return map[string]any{"input": map[string]any{"name": "role survey", "status": "ACTIVE",
				"targetSegmentId": gid(f.s.Segment.ID), "questions": []any{map[string]any{"kind": "NPS", "prompt": "How likely?"}}}}
		},
		check: func(t *testing.T, f *roleFixture, _ tenant.Role, data json.RawMessage) {
			require.JSONEq(t, `{"createSurvey":{"name":"role survey","status":"ACTIVE","targetSegment":{"id":"`+
				gid(f.s.Segment.ID)+`"},"questions":[{"kind":"NPS","prompt":"How likely?"}]}}`, string(data))
		},
		applied: func(t *testing.T, b *testBundle, f *roleFixture) bool {
			ok, err := b.client.Survey.Query().Where(entsurvey.Name("role survey")).Exist(f.p.ctx)
			require.NoError(t, err)
			return ok
		}},
	{field: "updateSurvey", need: tenant.RoleAdmin,
		query: `mutation($id: ID!, $input: UpdateSurveyInput!) { updateSurvey(id: $id, input: $input) { id name status } }`,
		vars: func(f *roleFixture) map[string]any {
			return map[string]any{"id": gid(f.s.Survey.ID), "input": map[string]any{"name": "renamed", "status": "CLOSED"}}
		},
		check: func(t *testing.T, f *roleFixture, _ tenant.Role, data json.RawMessage) {
			require.JSONEq(t, `{"updateSurvey":{"id":"`+gid(f.s.Survey.ID)+`","name":"renamed","status":"CLOSED"}}`, string(data))
		},
		applied: func(t *testing.T, b *testBundle, f *roleFixture) bool {
			sv, err := b.client.Survey.Get(f.p.ctx, f.s.Survey.ID)
			require.NoError(t, err)
			return sv.Name == "renamed"
		}},
	{field: "updateFeedback", need: tenant.RoleAdmin,
		query: `mutation($id: ID!, $input: UpdateFeedbackInput!) { updateFeedback(id: $id, input: $input) { id status tags } }`,
		vars: func(f *roleFixture) map[string]any {
			return map[string]any{"id": gid(f.s.Feedback[0].ID), "input": map[string]any{"status": "CLOSED", "addTags": []string{"vip"}}}
		},
		check: func(t *testing.T, f *roleFixture, _ tenant.Role, data json.RawMessage) {
			require.JSONEq(t, `{"updateFeedback":{"id":"`+gid(f.s.Feedback[0].ID)+`","status":"CLOSED","tags":["checkout","vip"]}}`, string(data))
		},
		applied: func(t *testing.T, b *testBundle, f *roleFixture) bool {
			fb, err := b.client.Feedback.Get(f.p.ctx, f.s.Feedback[0].ID)
			require.NoError(t, err)
			return fb.Status == "CLOSED"
		}},
	{field: "createAPIKey", need: tenant.RoleAdmin,
		query: `mutation($input: CreateAPIKeyInput!) { createAPIKey(input: $input) { apiKey { role name } secret } }`,
		vars: func(*roleFixture) map[string]any {
			return map[string]any{"input": map[string]any{"role": "READ", "name": "role made"}}
		},
		check: func(t *testing.T, _ *roleFixture, _ tenant.Role, data json.RawMessage) {
			out := decode[struct {
				CreateAPIKey struct {
					APIKey struct{ Role, Name string }
					Secret string
				}
			}](t, data)
			require.Equal(t, struct{ Role, Name string }{"READ", "role made"}, out.CreateAPIKey.APIKey)
			require.True(t, strings.HasPrefix(out.CreateAPIKey.Secret, "pk_read_"), out.CreateAPIKey.Secret)
		},
		applied: func(t *testing.T, b *testBundle, f *roleFixture) bool {
			ok, err := b.client.APIKey.Query().Where(apikey.Name("role made")).Exist(f.p.ctx)
			require.NoError(t, err)
			return ok
		}},
	{field: "revokeAPIKey", need: tenant.RoleAdmin,
		query: `mutation($id: ID!) { revokeAPIKey(id: $id) { id role revokedAt } }`,
		vars:  func(f *roleFixture) map[string]any { return map[string]any{"id": gid(f.spareKeyID)} },
		check: func(t *testing.T, f *roleFixture, _ tenant.Role, data json.RawMessage) {
			out := decode[struct {
				RevokeAPIKey struct{ ID, Role, RevokedAt string }
			}](t, data)
			require.Equal(t, gid(f.spareKeyID), out.RevokeAPIKey.ID)
			require.Equal(t, "READ", out.RevokeAPIKey.Role)
			require.NotEmpty(t, out.RevokeAPIKey.RevokedAt)
		},
		applied: func(t *testing.T, b *testBundle, f *roleFixture) bool {
			key, err := b.client.APIKey.Get(f.p.ctx, f.spareKeyID)
			require.NoError(t, err)
			return key.RevokedAt != nil
		}},
	{field: "deleteUser", need: tenant.RoleAdmin,
		query: `mutation($id: String!) { deleteUser(externalId: $id) { userId suppressed removed { table rows } } }`,
		vars:  func(f *roleFixture) map[string]any { return map[string]any{"id": f.s.Users[1].ExternalID} },
		check: func(t *testing.T, f *roleFixture, _ tenant.Role, data json.RawMessage) {
			require.JSONEq(t, `{"deleteUser":{"userId":"`+gid(f.s.Users[1].ID)+`","suppressed":false,"removed":[
				{"table":"events","rows":2},{"table":"feedbacks","rows":1},{"table":"users","rows":1}]}}`, string(data))
		},
		applied: func(t *testing.T, b *testBundle, f *roleFixture) bool {
			exists, err := b.client.User.Query().Where(user.ID(f.s.Users[1].ID)).Exist(f.p.ctx)
			require.NoError(t, err)
			return !exists
		}},
	{field: "deleteUsers", need: tenant.RoleAdmin,
		query: `mutation($ids: [String!]!) { deleteUsers(externalIds: $ids, suppress: true) { userId suppressed } }`,
		vars: func(f *roleFixture) map[string]any {
			return map[string]any{"ids": []string{*f.s.Users[0].ExternalID, *f.s.Users[1].ExternalID}}
		},
		check: func(t *testing.T, f *roleFixture, _ tenant.Role, data json.RawMessage) {
			require.JSONEq(t, `{"deleteUsers":[{"userId":"`+gid(f.s.Users[0].ID)+`","suppressed":true},
				{"userId":"`+gid(f.s.Users[1].ID)+`","suppressed":true}]}`, string(data))
		},
		applied: func(t *testing.T, b *testBundle, f *roleFixture) bool {
			left, err := b.client.User.Query().Count(f.p.ctx)
			require.NoError(t, err)
			return left == 0
		}},
	{field: "unsuppressUser", need: tenant.RoleAdmin,
		query: `mutation($id: String!) { unsuppressUser(externalId: $id) { userId suppressed } }`,
		vars:  func(f *roleFixture) map[string]any { return map[string]any{"id": f.suppressed} },
		check: func(t *testing.T, _ *roleFixture, _ tenant.Role, data json.RawMessage) {
			require.JSONEq(t, `{"unsuppressUser":[{"userId":null,"suppressed":false}]}`, string(data))
		},
		applied: func(t *testing.T, b *testBundle, f *roleFixture) bool {
			var suppressed int
			require.NoError(t, b.db.QueryRow(`SELECT count(*) FROM suppressed_ids WHERE project_id = $1`, f.p.ID).Scan(&suppressed))
			return suppressed == 0
		}},
}

var roleWebhookCases = []roleCase{
	{field: "createWebhookEndpoint", need: tenant.RoleAdmin,
		query: `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { url events } secret } }`,
		vars: func(*roleFixture) map[string]any {
			return map[string]any{"input": map[string]any{"url": "https://role.example.com", "events": []string{"EXITED"}}}
		},
		check: func(t *testing.T, _ *roleFixture, _ tenant.Role, data json.RawMessage) {
			out := decode[struct {
				CreateWebhookEndpoint struct {
					Endpoint struct {
						URL    string
						Events []string
					}
					Secret string
				}
			}](t, data)
			require.Equal(t, "https://role.example.com", out.CreateWebhookEndpoint.Endpoint.URL)
			require.Equal(t, []string{"EXITED"}, out.CreateWebhookEndpoint.Endpoint.Events)
			require.True(t, strings.HasPrefix(out.CreateWebhookEndpoint.Secret, "whsec_"))
		},
		applied: func(t *testing.T, b *testBundle, f *roleFixture) bool {
			ok, err := b.client.WebhookEndpoint.Query().Where(webhookendpoint.URL("https://role.example.com")).Exist(f.p.ctx)
			require.NoError(t, err)
			return ok
		}},
	{field: "updateWebhookEndpoint", need: tenant.RoleAdmin,
		query: `mutation($id: ID!, $input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $input) { id batchSize } }`,
		vars: func(f *roleFixture) map[string]any {
			return map[string]any{"id": gid(f.endpoint.ID), "input": map[string]any{"batchSize": 7}}
		},
		check: func(t *testing.T, f *roleFixture, _ tenant.Role, data json.RawMessage) {
			require.JSONEq(t, `{"updateWebhookEndpoint":{"id":"`+gid(f.endpoint.ID)+`","batchSize":7}}`, string(data))
		},
		applied: func(t *testing.T, b *testBundle, f *roleFixture) bool { return roleEndpoint(t, b, f).BatchSize == 7 }},
	{field: "rotateWebhookSecret", need: tenant.RoleAdmin,
		query: `mutation($id: ID!) { rotateWebhookSecret(id: $id) { endpoint { id } secret } }`,
		vars:  func(f *roleFixture) map[string]any { return map[string]any{"id": gid(f.endpoint.ID)} },
		check: func(t *testing.T, f *roleFixture, _ tenant.Role, data json.RawMessage) {
			require.Equal(t, gid(f.endpoint.ID), gjson.GetBytes(data, "rotateWebhookSecret.endpoint.id").String())
			require.True(t, strings.HasPrefix(gjson.GetBytes(data, "rotateWebhookSecret.secret").String(), "whsec_"))
		},
		applied: func(t *testing.T, b *testBundle, f *roleFixture) bool {
			return roleEndpoint(t, b, f).Secret != f.endpoint.Secret
		}},
	{field: "disableWebhookEndpoint", need: tenant.RoleAdmin,
		query: `mutation($id: ID!) { disableWebhookEndpoint(id: $id, reason: "role") { id state } }`,
		vars:  func(f *roleFixture) map[string]any { return map[string]any{"id": gid(f.endpoint.ID)} },
		check: func(t *testing.T, f *roleFixture, _ tenant.Role, data json.RawMessage) {
			require.JSONEq(t, `{"disableWebhookEndpoint":{"id":"`+gid(f.endpoint.ID)+`","state":"DISABLED"}}`, string(data))
		},
		applied: func(t *testing.T, b *testBundle, f *roleFixture) bool { return roleEndpoint(t, b, f).DisabledAt != nil }},
	{field: "redeliverWebhookMessage", need: tenant.RoleAdmin,
		query: `mutation($id: ID!) { redeliverWebhookMessage(id: $id) { id state } }`,
		vars:  func(f *roleFixture) map[string]any { return map[string]any{"id": gid(f.message.ID)} },
		check: func(t *testing.T, f *roleFixture, _ tenant.Role, data json.RawMessage) {
			require.JSONEq(t, `{"redeliverWebhookMessage":{"id":"`+gid(f.message.ID)+`","state":"PENDING"}}`, string(data))
		},
		applied: func(t *testing.T, b *testBundle, f *roleFixture) bool {
			m, err := b.client.WebhookMessage.Get(f.p.ctx, f.message.ID)
			require.NoError(t, err)
			return m.State == webhookmessage.StatePENDING
		}},
	{field: "replayWebhookEndpoint", need: tenant.RoleAdmin,
		query: `mutation($id: ID!) { replayWebhookEndpoint(id: $id, fromSeq: 0) { messages } }`,
		vars:  func(f *roleFixture) map[string]any { return map[string]any{"id": gid(f.endpoint.ID)} },
		check: func(t *testing.T, _ *roleFixture, _ tenant.Role, data json.RawMessage) {
			require.JSONEq(t, `{"replayWebhookEndpoint":{"messages":1}}`, string(data))
		},
		applied: func(t *testing.T, b *testBundle, f *roleFixture) bool {
			m, err := b.client.WebhookMessage.Get(f.p.ctx, f.message.ID)
			require.NoError(t, err)
			return m.State == webhookmessage.StatePENDING
		}},
	{field: "deleteWebhookEndpoint", need: tenant.RoleAdmin,
		query: `mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`,
		vars:  func(f *roleFixture) map[string]any { return map[string]any{"id": gid(f.endpoint.ID)} },
		check: func(t *testing.T, f *roleFixture, _ tenant.Role, data json.RawMessage) {
			require.JSONEq(t, `{"deleteWebhookEndpoint":"`+gid(f.endpoint.ID)+`"}`, string(data))
		},
		applied: func(t *testing.T, b *testBundle, f *roleFixture) bool { return roleEndpoint(t, b, f) == nil }},
}

// TestRoleEnforcement calls every guarded root field with every kind of key.
func TestRoleEnforcement(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tc := range slices.Concat(roleQueryCases, roleMutationCases, roleWebhookCases) {
		t.Run(tc.field, func(t *testing.T) {
			t.Parallel()
			for _, key := range roleKeys {
				t.Run(key.name, func(t *testing.T) {
					t.Parallel()
					f := newRoleFixture(t, b)
					status, res := b.do(t, key.secret(f), tc.query, tc.vars(f))
					allowed := key.role != "" && key.role.Allows(tc.need)
					switch {
					case key.name == "revoked" || key.name == "garbage":
						require.Equal(t, http.StatusUnauthorized, status)
						require.Equal(t, "UNAUTHENTICATED", res.code())
						require.Contains(t, []string{"", "null"}, string(res.Data))
					case key.name == "none":
						require.Equal(t, http.StatusOK, status)
						require.Len(t, res.Errors, 1, "errors: %+v", res.Errors)
						require.Equal(t, "UNAUTHENTICATED", res.code())
						require.Equal(t, []any{tc.field}, res.Errors[0].Path)
					case !allowed:
						require.Equal(t, http.StatusOK, status)
						require.Len(t, res.Errors, 1, "errors: %+v", res.Errors)
						require.Equal(t, "FORBIDDEN", res.code())
						require.Equal(t, []any{tc.field}, res.Errors[0].Path)
						require.Contains(t, res.Errors[0].Message, "needs a "+string(tc.need)+" key")
					default:
						require.Equal(t, http.StatusOK, status)
						require.Empty(t, res.Errors)
						tc.check(t, f, key.role, res.Data)
					}
					if tc.applied != nil {
						require.Equal(t, allowed, tc.applied(t, b, f), "the mutation took effect")
					}
				})
			}
		})
	}
}

const (
	roleCreateKey = `mutation($input: CreateAPIKeyInput!) { createAPIKey(input: $input) { apiKey { id role name prefix revokedAt } secret } }`
	roleRevokeKey = `mutation($id: ID!) { revokeAPIKey(id: $id) { id revokedAt } }`
)

type createdKey struct {
	APIKey struct {
		ID, Role, Name, Prefix string
		RevokedAt              *string
	}
	Secret string
}

func createKey(t *testing.T, b *testBundle, admin, role, name string) createdKey {
	t.Helper()
	var out struct{ CreateAPIKey createdKey }
	b.query(t, admin, roleCreateKey, map[string]any{"input": map[string]any{"role": role, "name": name}}, &out)
	return out.CreateAPIKey
}

func TestRevokedKeyStopsAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seed(t, b, b.project, "k", 2)
	key := createKey(t, b, b.project.Admin, "READ", "dashboard")

	var users struct{ Users struct{ TotalCount int } }
	b.query(t, key.Secret, `{ users { totalCount } }`, nil, &users)
	require.Equal(t, 2, users.Users.TotalCount)

	var revoked struct {
		RevokeAPIKey struct{ ID, RevokedAt string }
	}
	b.query(t, b.project.Admin, roleRevokeKey, map[string]any{"id": key.APIKey.ID}, &revoked)
	require.Equal(t, key.APIKey.ID, revoked.RevokeAPIKey.ID)
	require.NotEmpty(t, revoked.RevokeAPIKey.RevokedAt)

	for _, query := range []string{`{ users { totalCount } }`, `{ viewer { role } }`} {
		status, res := b.do(t, key.Secret, query, nil)
		require.Equal(t, http.StatusUnauthorized, status, query)
		require.Equal(t, "UNAUTHENTICATED", res.code())
	}

	var listed struct {
		Active []struct{ ID string } `json:"active"`
		All    []struct {
			ID        string
			RevokedAt *string
		} `json:"all"`
	}
	b.query(t, b.project.Admin, `{ active: apiKeys { id } all: apiKeys(includeRevoked: true) { id revokedAt } }`, nil, &listed)
	require.Len(t, listed.Active, 3)
	require.NotContains(t, listed.Active, struct{ ID string }{key.APIKey.ID})
	require.Len(t, listed.All, 4)
	for _, k := range listed.All {
		require.Equal(t, k.ID == key.APIKey.ID, k.RevokedAt != nil, "key %s", k.ID)
	}

	// Revoking again changes nothing (the database keeps microseconds).
	var again struct {
		RevokeAPIKey struct{ ID, RevokedAt string }
	}
	b.query(t, b.project.Admin, roleRevokeKey, map[string]any{"id": key.APIKey.ID}, &again)
	require.Equal(t, key.APIKey.ID, again.RevokeAPIKey.ID)
	first, err := time.Parse(time.RFC3339Nano, revoked.RevokeAPIKey.RevokedAt)
	require.NoError(t, err)
	second, err := time.Parse(time.RFC3339Nano, again.RevokeAPIKey.RevokedAt)
	require.NoError(t, err)
	require.WithinDuration(t, first, second, time.Microsecond)
}

func TestAdminCannotRevokeItself(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ownID, err := b.client.APIKey.Query().Where(apikey.RoleEQ(apikey.RoleADMIN)).OnlyID(b.project.ctx)
	require.NoError(t, err)

	status, res := b.do(t, b.project.Admin, roleRevokeKey, map[string]any{"id": gid(ownID)})
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "BAD_USER_INPUT", res.code())
	require.Equal(t, []any{"revokeAPIKey"}, res.Errors[0].Path)
	require.Equal(t, "id", res.Errors[0].Extensions["field"])
	own, err := b.client.APIKey.Get(b.project.ctx, ownID)
	require.NoError(t, err)
	require.Nil(t, own.RevokedAt)
	var viewer struct{ Viewer struct{ Role string } }
	b.query(t, b.project.Admin, `{ viewer { role } }`, nil, &viewer)
	require.Equal(t, "ADMIN", viewer.Viewer.Role)

	// Another admin key may revoke it, and then it is locked out.
	second := createKey(t, b, b.project.Admin, "ADMIN", "second admin")
	b.query(t, second.Secret, roleRevokeKey, map[string]any{"id": gid(ownID)}, nil)
	status, res = b.do(t, b.project.Admin, `{ viewer { role } }`, nil)
	require.Equal(t, http.StatusUnauthorized, status)
	require.Equal(t, "UNAUTHENTICATED", res.code())
	b.query(t, second.Secret, `{ viewer { role } }`, nil, &viewer)
	require.Equal(t, "ADMIN", viewer.Viewer.Role)
}

func TestCreateAPIKeyRoles(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, role := range []tenant.Role{tenant.RoleIngest, tenant.RoleRead, tenant.RoleAdmin} {
		t.Run(string(role), func(t *testing.T) {
			t.Parallel()
			name := "key for " + strings.ToLower(string(role))
			key := createKey(t, b, b.project.Admin, string(role), name)
			require.Equal(t, string(role), key.APIKey.Role)
			require.Equal(t, name, key.APIKey.Name)
			require.Nil(t, key.APIKey.RevokedAt)
			require.True(t, strings.HasPrefix(key.Secret, "pk_"+strings.ToLower(string(role))+"_"), key.Secret)
			require.Len(t, key.Secret, len("pk_"+string(role)+"_")+43, "256 random bits, base64url")
			require.True(t, strings.HasPrefix(key.Secret, key.APIKey.Prefix))
			require.Less(t, len(key.APIKey.Prefix), len(key.Secret)/2)

			var viewer struct {
				Viewer struct {
					Role    string
					Project struct{ ID string }
				}
			}
			b.query(t, key.Secret, `{ viewer { role project { id } } }`, nil, &viewer)
			require.Equal(t, string(role), viewer.Viewer.Role)
			require.Equal(t, gid(b.project.ID), viewer.Viewer.Project.ID)

			// The new key can do what its role allows and nothing more.
			for query, need := range map[string]tenant.Role{
				`{ users { totalCount } }`: tenant.RoleRead,
				`{ apiKeys { id } }`:       tenant.RoleAdmin,
			} {
				_, res := b.do(t, key.Secret, query, nil)
				if role.Allows(need) {
					require.Empty(t, res.Errors, query)
				} else {
					require.Equal(t, "FORBIDDEN", res.code(), query)
				}
			}

			id, err := b.client.APIKey.Query().Where(apikey.Name(name)).OnlyID(b.project.ctx)
			require.NoError(t, err)
			require.Equal(t, key.APIKey.ID, gid(id))
			stored, err := b.client.APIKey.Get(b.project.ctx, id)
			require.NoError(t, err)
			require.NotContains(t, stored.Hash, key.Secret[len(key.APIKey.Prefix):], "only a hash of the secret is stored")
			require.Equal(t, b.project.ID, stored.ProjectID)
		})
	}
}

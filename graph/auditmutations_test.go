package graph_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
	"github.com/vektah/gqlparser/v2/ast"

	entsegment "github.com/pulse-analytics/pulse/ent/segment"
	"github.com/pulse-analytics/pulse/ent/webhookmessage"
	"github.com/pulse-analytics/pulse/graph/generated"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/privacy"
	"github.com/pulse-analytics/pulse/internal/recompute"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// auditFixture is a project of its own for one audited mutation.
type auditFixture struct {
	p           *testProject
	s           *seeded
	static      int // a STATIC segment whose one member is a-0
	spareKeyID  int // a READ key revokeAPIKey may revoke
	adminKeyID  int
	adminPrefix string
	runID       int // a discovery run, when the case prepared one
	endpointID  int // a webhook endpoint, when the case prepared one
	messageID   int // a message of it, when the case prepared one
}

// withEndpoint gives the fixture a webhook endpoint with one delivered
// message.
func withEndpoint(t *testing.T, b *testBundle, f *auditFixture) {
	t.Helper()
	endpoint, err := b.client.WebhookEndpoint.Create().SetURL("https://example.com/audited").
		SetEvents([]string{"ENTERED"}).SetSecret("whsec_x").Save(f.p.ctx)
	require.NoError(t, err)
	m, err := b.client.WebhookMessage.Create().SetEndpoint(endpoint).SetSegmentID(f.s.Segment.ID).
		SetRunID(f.s.Run.ID).SetSeq(1).SetType("segment.entered").SetWebhookID(fmt.Sprintf("msg_audited_%d", endpoint.ID)).
		SetBody(`{}`).SetState(webhookmessage.StateDELIVERED).Save(f.p.ctx)
	require.NoError(t, err)
	f.endpointID, f.messageID = endpoint.ID, m.ID
}

// endpointCase is the audit case of a mutation of the fixture's endpoint.
func endpointCase(query string, check func(t *testing.T, after json.RawMessage)) auditCase {
	return auditCase{
		query:   query,
		prepare: withEndpoint,
		vars:    func(f *auditFixture) map[string]any { return map[string]any{"id": gid(f.endpointID)} },
		objects: func(f *auditFixture, _ gjson.Result) []int { return []int{f.endpointID} },
		check: func(t *testing.T, _ *testBundle, _ *auditFixture, _ gjson.Result, e []auditEntry) {
			require.NotContains(t, string(e[0].After), "whsec_", "no secret in the log")
			if check != nil {
				check(t, e[0].After)
			}
		},
	}
}

func newAuditFixture(t *testing.T, b *testBundle) *auditFixture {
	t.Helper()
	p := b.newProject(t, t.Name())
	f := &auditFixture{p: p, s: seed(t, b, p, "a", 2)}
	static, err := b.client.Segment.Create().SetName("a static").SetKind(entsegment.KindSTATIC).Save(p.ctx)
	require.NoError(t, err)
	f.static = static.ID
	_, err = recompute.ChangeStatic(p.ctx, pgtest.DB(t), p.ID, f.static, []string{"a-0"}, false)
	require.NoError(t, err)
	spare, err := auth.NewKeys(b.client).Create(p.ctx, tenant.RoleRead, "spare")
	require.NoError(t, err)
	f.spareKeyID = spare.Key.ID
	f.adminKeyID, f.adminPrefix = b.adminKey(t, p)
	return f
}

// auditCase is an example call of one audited mutation and what its
// entries must say beyond who, when and from where.
type auditCase struct {
	query string
	vars  func(f *auditFixture) map[string]any
	// prepare, when set, gives the fixture what the call needs.
	prepare func(t *testing.T, b *testBundle, f *auditFixture)
	// objects are the ids the call's entries name, one entry each, from
	// the fixture and the data the call returned.
	objects func(f *auditFixture, data gjson.Result) []int
	// check asserts the entries' before and after (newest first).
	check func(t *testing.T, b *testBundle, f *auditFixture, data gjson.Result, entries []auditEntry)
}

func idOf(data gjson.Result, path string) int { return int(data.Get(path).Int()) }

func segmentRule(plan string) map[string]any {
	return map[string]any{"trait": map[string]any{"key": "plan", "op": "EQ", "value": plan}}
}

// auditCases has an example of every audited mutation, by field name:
// TestEveryAdminMutationIsAudited fails for a mutation that has none.
var auditCases = map[string]auditCase{
	"createWebhookEndpoint": {
		query: `mutation { createWebhookEndpoint(input: {url: "https://example.com/hook", events: [ENTERED, EXITED]}) { endpoint { id } } }`,
		objects: func(_ *auditFixture, data gjson.Result) []int {
			return []int{idOf(data, "createWebhookEndpoint.endpoint.id")}
		},
		check: func(t *testing.T, _ *testBundle, _ *auditFixture, _ gjson.Result, e []auditEntry) {
			require.NotContains(t, string(e[0].After), "whsec_", "no secret in the log")
			require.Equal(t, "https://example.com/hook", gjson.GetBytes(e[0].After, "url").String())
			require.JSONEq(t, `["ENTERED","EXITED"]`, gjson.GetBytes(e[0].After, "events").Raw)
		}},
	"updateWebhookEndpoint": endpointCase(`mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {description: "crm"}) { id } }`,
		func(t *testing.T, after json.RawMessage) {
			require.Equal(t, "crm", gjson.GetBytes(after, "description").String())
		}),
	"rotateWebhookSecret": endpointCase(`mutation($id: ID!) { rotateWebhookSecret(id: $id) { endpoint { id } } }`,
		func(t *testing.T, after json.RawMessage) {
			require.Equal(t, gjson.String, gjson.GetBytes(after, "previousSecretUntil").Type)
		}),
	"disableWebhookEndpoint": endpointCase(`mutation($id: ID!) { disableWebhookEndpoint(id: $id, reason: "audit") { id } }`,
		func(t *testing.T, after json.RawMessage) {
			require.Equal(t, "audit", gjson.GetBytes(after, "disabledReason").String())
		}),
	"enableWebhookEndpoint": endpointCase(`mutation($id: ID!) { enableWebhookEndpoint(id: $id) { id } }`,
		func(t *testing.T, after json.RawMessage) {
			require.Equal(t, gjson.Null, gjson.GetBytes(after, "disabledAt").Type)
		}),
	"replayWebhookEndpoint": endpointCase(`mutation($id: ID!) { replayWebhookEndpoint(id: $id, fromSeq: 0) { __typename } }`,
		func(t *testing.T, after json.RawMessage) { require.JSONEq(t, `{"fromSeq":0}`, string(after)) }),
	"deleteWebhookEndpoint": endpointCase(`mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`, nil),
	"redeliverWebhookMessage": {
		query:   `mutation($id: ID!) { redeliverWebhookMessage(id: $id) { id } }`,
		prepare: withEndpoint,
		vars:    func(f *auditFixture) map[string]any { return map[string]any{"id": gid(f.messageID)} },
		objects: func(f *auditFixture, _ gjson.Result) []int { return []int{f.messageID} },
	},
	"createSegment": {
		query: `mutation($rule: RuleInput!) { createSegment(input: {name: "audited", rule: $rule}) { id } }`,
		vars:  func(*auditFixture) map[string]any { return map[string]any{"rule": segmentRule("pro")} },
		objects: func(_ *auditFixture, data gjson.Result) []int {
			return []int{idOf(data, "createSegment.id")}
		},
		check: func(t *testing.T, _ *testBundle, _ *auditFixture, _ gjson.Result, e []auditEntry) {
			requireJSON(t, e[0].Before, `null`)
			requireJSON(t, e[0].After, `{"name":"audited","description":"","kind":"DYNAMIC","definitionVersion":1,
				"rule":{"trait":{"key":"plan","op":"EQ","value":"pro"}},"refreshIntervalSeconds":900,"realtime":true,"archivedAt":null}`)
		}},
	"updateSegment": {
		query: `mutation($id: ID!, $rule: RuleInput!) { updateSegment(id: $id, input: {name: "renamed", rule: $rule}) { id } }`,
		vars: func(f *auditFixture) map[string]any {
			return map[string]any{"id": gid(f.s.Segment.ID), "rule": segmentRule("pro")}
		},
		objects: func(f *auditFixture, _ gjson.Result) []int { return []int{f.s.Segment.ID} },
		check: func(t *testing.T, _ *testBundle, _ *auditFixture, _ gjson.Result, e []auditEntry) {
			before, after := gjson.ParseBytes(e[0].Before), gjson.ParseBytes(e[0].After)
			require.Equal(t, []any{"a evens", int64(1), "free"},
				[]any{before.Get("name").String(), before.Get("definitionVersion").Int(), before.Get("rule.trait.value").String()})
			require.Equal(t, []any{"renamed", int64(2), "pro"},
				[]any{after.Get("name").String(), after.Get("definitionVersion").Int(), after.Get("rule.trait.value").String()})
		}},
	"archiveSegment": {
		query:   `mutation($id: ID!) { archiveSegment(id: $id) { id archivedAt } }`,
		vars:    func(f *auditFixture) map[string]any { return map[string]any{"id": gid(f.s.Segment.ID)} },
		objects: func(f *auditFixture, _ gjson.Result) []int { return []int{f.s.Segment.ID} },
		check: func(t *testing.T, _ *testBundle, _ *auditFixture, data gjson.Result, e []auditEntry) {
			require.Equal(t, gjson.Null, gjson.GetBytes(e[0].Before, "archivedAt").Type)
			archived, err := time.Parse(time.RFC3339Nano, gjson.GetBytes(e[0].After, "archivedAt").String())
			require.NoError(t, err)
			answered, err := time.Parse(time.RFC3339Nano, data.Get("archiveSegment.archivedAt").String())
			require.NoError(t, err)
			require.WithinDuration(t, answered, archived, time.Microsecond)
		}},
	"recomputeSegment": {
		query:   `mutation($id: ID!) { recomputeSegment(id: $id) { id } }`,
		vars:    func(f *auditFixture) map[string]any { return map[string]any{"id": gid(f.s.Segment.ID)} },
		objects: func(f *auditFixture, _ gjson.Result) []int { return []int{f.s.Segment.ID} },
		check: func(t *testing.T, _ *testBundle, _ *auditFixture, data gjson.Result, e []auditEntry) {
			requireJSON(t, e[0].Before, `null`)
			requireJSON(t, e[0].After, `{"runId":"`+data.Get("recomputeSegment.id").String()+`"}`)
		}},
	"recomputeAllSegments": {
		query: `mutation { recomputeAllSegments { id segment { id } } }`,
		objects: func(_ *auditFixture, data gjson.Result) []int {
			var ids []int
			for _, run := range data.Get("recomputeAllSegments").Array() {
				ids = append(ids, int(run.Get("segment.id").Int()))
			}
			return ids
		},
		check: func(t *testing.T, _ *testBundle, f *auditFixture, data gjson.Result, e []auditEntry) {
			require.Len(t, e, 2, "one entry per segment: the dynamic and the static one")
			runs := map[string]string{} // segment → run
			for _, run := range data.Get("recomputeAllSegments").Array() {
				runs[run.Get("segment.id").String()] = run.Get("id").String()
			}
			for _, entry := range e {
				requireJSON(t, entry.After, `{"runId":"`+runs[*entry.ObjectID]+`"}`)
			}
		}},
	"addSegmentMembers": {
		query:   `mutation($id: ID!) { addSegmentMembers(id: $id, externalIds: ["a-1"]) { id } }`,
		vars:    func(f *auditFixture) map[string]any { return map[string]any{"id": gid(f.static)} },
		objects: func(f *auditFixture, _ gjson.Result) []int { return []int{f.static} },
		check: func(t *testing.T, _ *testBundle, _ *auditFixture, _ gjson.Result, e []auditEntry) {
			requireJSON(t, e[0].Before, `{"size":1}`)
			requireJSON(t, e[0].After, `{"size":2,"requested":1}`, "sizes, never the external ids")
		}},
	"removeSegmentMembers": {
		query:   `mutation($id: ID!) { removeSegmentMembers(id: $id, externalIds: ["a-0"]) { id } }`,
		vars:    func(f *auditFixture) map[string]any { return map[string]any{"id": gid(f.static)} },
		objects: func(f *auditFixture, _ gjson.Result) []int { return []int{f.static} },
		check: func(t *testing.T, _ *testBundle, _ *auditFixture, _ gjson.Result, e []auditEntry) {
			requireJSON(t, e[0].Before, `{"size":1}`)
			requireJSON(t, e[0].After, `{"size":0,"requested":1}`)
		}},
	"createSurvey": {
		query: `mutation { createSurvey(input: {name: "audited", questions: [{kind: NPS, prompt: "How likely?"}]}) { id } }`,
		objects: func(_ *auditFixture, data gjson.Result) []int {
			return []int{idOf(data, "createSurvey.id")}
		},
		check: func(t *testing.T, _ *testBundle, _ *auditFixture, _ gjson.Result, e []auditEntry) {
			requireJSON(t, e[0].Before, `null`)
			requireJSON(t, e[0].After, `{"name":"audited","status":"DRAFT","targetSegmentId":null,
				"questions":[{"kind":"NPS","prompt":"How likely?","choices":null,"required":false}]}`)
		}},
	"updateSurvey": {
		query: `mutation($id: ID!, $segment: ID!) { updateSurvey(id: $id, input: {name: "renamed", status: ACTIVE, targetSegmentId: $segment}) { id } }`,
		vars: func(f *auditFixture) map[string]any {
			return map[string]any{"id": gid(f.s.Survey.ID), "segment": gid(f.s.Segment.ID)}
		},
		objects: func(f *auditFixture, _ gjson.Result) []int { return []int{f.s.Survey.ID} },
		check: func(t *testing.T, _ *testBundle, f *auditFixture, _ gjson.Result, e []auditEntry) {
			question := `[{"kind":"NPS","prompt":"How likely?","choices":null,"required":false}]`
			requireJSON(t, e[0].Before, `{"name":"a survey","status":"DRAFT","targetSegmentId":null,"questions":`+question+`}`)
			requireJSON(t, e[0].After, `{"name":"renamed","status":"ACTIVE","targetSegmentId":"`+gid(f.s.Segment.ID)+`","questions":`+question+`}`)
		}},
	"updateFeedback": {
		query:   `mutation($id: ID!) { updateFeedback(id: $id, input: {status: CLOSED, addTags: ["vip"], note: "called a-0 back"}) { id } }`,
		vars:    func(f *auditFixture) map[string]any { return map[string]any{"id": gid(f.s.Feedback[0].ID)} },
		objects: func(f *auditFixture, _ gjson.Result) []int { return []int{f.s.Feedback[0].ID} },
		check: func(t *testing.T, _ *testBundle, _ *auditFixture, _ gjson.Result, e []auditEntry) {
			requireJSON(t, e[0].Before, `{"status":"NEW","tags":["checkout"],"assignee":null}`)
			requireJSON(t, e[0].After, `{"status":"CLOSED","tags":["checkout","vip"],"assignee":null,"noteAdded":true}`,
				"a note's text stays in the feedback's own history")
		}},
	"createAPIKey": {
		query: `mutation { createAPIKey(input: {role: READ, name: "audited"}) { apiKey { id prefix } secret } }`,
		objects: func(_ *auditFixture, data gjson.Result) []int {
			return []int{idOf(data, "createAPIKey.apiKey.id")}
		},
		check: func(t *testing.T, b *testBundle, f *auditFixture, data gjson.Result, e []auditEntry) {
			requireJSON(t, e[0].Before, `null`)
			requireJSON(t, e[0].After, `{"role":"READ","name":"audited","prefix":"`+
				data.Get("createAPIKey.apiKey.prefix").String()+`","revokedAt":null}`)
			key, err := b.client.APIKey.Get(f.p.ctx, idOf(data, "createAPIKey.apiKey.id"))
			require.NoError(t, err)
			secret := data.Get("createAPIKey.secret").String()
			stored := b.storedEntries(t, f.p)
			require.NotContains(t, stored, secret[len(key.Prefix):], "never the secret")
			require.NotContains(t, stored, key.Hash, "nor its hash")
		}},
	"revokeAPIKey": {
		query:   `mutation($id: ID!) { revokeAPIKey(id: $id) { id } }`,
		vars:    func(f *auditFixture) map[string]any { return map[string]any{"id": gid(f.spareKeyID)} },
		objects: func(f *auditFixture, _ gjson.Result) []int { return []int{f.spareKeyID} },
		check: func(t *testing.T, _ *testBundle, _ *auditFixture, _ gjson.Result, e []auditEntry) {
			require.Equal(t, gjson.Null, gjson.GetBytes(e[0].Before, "revokedAt").Type)
			require.Equal(t, "spare", gjson.GetBytes(e[0].Before, "name").String())
			require.Equal(t, gjson.String, gjson.GetBytes(e[0].After, "revokedAt").Type)
		}},
	"deleteUser": {
		query:   `mutation($id: ID!) { deleteUser(id: $id) { id } }`,
		vars:    func(f *auditFixture) map[string]any { return map[string]any{"id": gid(f.s.Users[1].ID)} },
		objects: func(_ *auditFixture, data gjson.Result) []int { return []int{idOf(data, "deleteUser.id")} },
		check: func(t *testing.T, b *testBundle, f *auditFixture, _ gjson.Result, e []auditEntry) {
			requireJSON(t, e[0].After, `{"suppressed":false,"removed":{"events":2,"feedbacks":1,"users":1}}`)
			stored := b.storedEntries(t, f.p)
			require.NotContains(t, stored, *f.s.Users[1].ExternalID, "no end user's external id in the log")
			require.NotContains(t, stored, gid(f.s.Users[1].ID), "nor their id")
		}},
	"deleteUsers": {
		query: `mutation { deleteUsers(externalIds: ["a-0", "a-1"], suppress: true) { id } }`,
		objects: func(_ *auditFixture, data gjson.Result) []int {
			return []int{idOf(data, "deleteUsers.0.id"), idOf(data, "deleteUsers.1.id")}
		},
		check: func(t *testing.T, b *testBundle, f *auditFixture, _ gjson.Result, e []auditEntry) {
			for _, entry := range e {
				require.True(t, gjson.GetBytes(entry.After, "suppressed").Bool())
			}
			stored := b.storedEntries(t, f.p)
			require.NotContains(t, stored, `"a-0"`)
			require.NotContains(t, stored, gid(f.s.Users[0].ID))
		}},
	"unsuppressUser": {
		query: `mutation { unsuppressUser(externalId: "objected") { id } }`,
		prepare: func(t *testing.T, _ *testBundle, f *auditFixture) {
			_, err := privacy.NewEraser(pgtest.DB(t)).Erase(f.p.ctx, privacy.Request{ExternalIDs: []string{"objected"}, Suppress: true})
			require.NoError(t, err)
		},
		objects: func(_ *auditFixture, data gjson.Result) []int { return []int{idOf(data, "unsuppressUser.0.id")} },
		check: func(t *testing.T, b *testBundle, f *auditFixture, _ gjson.Result, e []auditEntry) {
			requireJSON(t, e[0].Before, `{"suppressed":true}`)
			requireJSON(t, e[0].After, `{"suppressed":false}`)
			require.NotContains(t, b.storedEntries(t, f.p), "objected")
		}},
	"updateProject": {
		query:   `mutation { updateProject(input: {realtime: false, retentionDays: 30, name: "Renamed", timezone: "Europe/Paris"}) { id } }`,
		objects: func(f *auditFixture, _ gjson.Result) []int { return []int{f.p.ID} },
		check: func(t *testing.T, b *testBundle, f *auditFixture, _ gjson.Result, e []auditEntry) {
			project, err := b.client.Project.Get(f.p.ctx, f.p.ID)
			require.NoError(t, err)
			require.Equal(t, "Renamed", project.Name)
			name, err := json.Marshal(t.Name()) // newAuditFixture's
			require.NoError(t, err)
			requireJSON(t, e[0].Before, `{"name":`+string(name)+`,"timezone":"UTC","activeEvents":null,"realtime":true,"retentionDays":null}`)
			requireJSON(t, e[0].After, `{"name":"Renamed","timezone":"Europe/Paris","activeEvents":null,"realtime":false,"retentionDays":30}`)
		}},
	"discoverSegments": {
		query: `mutation { discoverSegments(k: 2, withinDays: 14) { id } }`,
		objects: func(_ *auditFixture, data gjson.Result) []int {
			return []int{idOf(data, "discoverSegments.id")}
		},
		check: func(t *testing.T, _ *testBundle, _ *auditFixture, _ gjson.Result, e []auditEntry) {
			requireJSON(t, e[0].After, `{"k":2,"withinDays":14,"seed":1}`)
		}},
	"createSegmentFromCluster": {
		prepare: func(t *testing.T, b *testBundle, f *auditFixture) {
			plantUsers(t, f.p)
			f.runID = discover(t, b, f.p, ptr(2))
		},
		query: `mutation($run: ID!) { createSegmentFromCluster(runId: $run, cluster: 0, name: "from a cluster", kind: STATIC) { id } }`,
		vars:  func(f *auditFixture) map[string]any { return map[string]any{"run": gid(f.runID)} },
		objects: func(_ *auditFixture, data gjson.Result) []int {
			return []int{idOf(data, "createSegmentFromCluster.id")}
		},
		check: func(t *testing.T, _ *testBundle, _ *auditFixture, _ gjson.Result, e []auditEntry) {
			after := gjson.ParseBytes(e[0].After)
			require.Equal(t, "from a cluster", after.Get("name").String())
			require.Equal(t, "STATIC", after.Get("kind").String())
		}},
}

// storedEntries is every audit entry of p as stored, as text, for checks
// that a value is nowhere in them.
func (b *testBundle) storedEntries(t *testing.T, p *testProject) string {
	t.Helper()
	entries, err := b.client.AuditEntry.Query().All(p.ctx)
	require.NoError(t, err)
	raw, err := json.Marshal(entries)
	require.NoError(t, err)
	return string(raw)
}

// auditedMutations are the Mutation fields the audit log must record: all
// but those an INGEST key may call.
func auditedMutations(t *testing.T) (audited, ingest []*ast.FieldDefinition) {
	t.Helper()
	schema := generated.NewExecutableSchema(generated.Config{}).Schema()
	require.NotNil(t, schema.Mutation)
	for _, field := range schema.Mutation.Fields {
		if strings.HasPrefix(field.Name, "__") {
			continue
		}
		d := field.Directives.ForName("hasRole")
		if d != nil && d.Arguments.ForName("role").Value.Raw == string(tenant.RoleIngest) {
			ingest = append(ingest, field)
			continue
		}
		audited = append(audited, field)
	}
	return audited, ingest
}

// TestEveryAdminMutationIsAudited calls every audited mutation of the
// schema with its example from auditCases and checks its entries: the
// action, the objects, the key (id and prefix), the time, the request id
// and the source address, and what each case says of before and after. A
// mutation added to the schema without an example fails here.
func TestEveryAdminMutationIsAudited(t *testing.T) {
	t.Parallel()
	b := setup(t)
	audited, ingest := auditedMutations(t)
	require.NotEmpty(t, ingest, "ingestion mutations exist and are not audited")
	names := map[string]bool{}
	for _, field := range audited {
		names[field.Name] = true
	}
	for name := range auditCases {
		require.True(t, names[name], "auditCases has %s, which is not an audited mutation of the schema", name)
	}
	for _, field := range audited {
		tc, ok := auditCases[field.Name]
		if !ok {
			t.Errorf("mutation %s is audited but auditCases has no example of it: add one, so that its entries are checked", field.Name)
			continue
		}
		t.Run(field.Name, func(t *testing.T) {
			t.Parallel()
			checkAudited(t, b, field.Name, tc)
		})
	}
}

func checkAudited(t *testing.T, b *testBundle, action string, tc auditCase) {
	f := newAuditFixture(t, b)
	if tc.prepare != nil {
		tc.prepare(t, b, f)
	}
	var vars map[string]any
	if tc.vars != nil {
		vars = tc.vars(f)
	}
	requestID := "audit-" + action
	started := time.Now()
	res := b.doAs(t, f.p.Admin, requestID, tc.query, vars)
	finished := time.Now()
	require.Empty(t, res.Errors, "%+v", res.Errors)
	data := gjson.ParseBytes(res.Data)

	entries := b.actionLog(t, f.p, action)
	want := gids(tc.objects(f, data)...)
	var got []string
	for _, e := range entries {
		require.Equal(t, action, e.Action)
		require.NotNil(t, e.ObjectID, "entry %s names no object", e.ID)
		got = append(got, *e.ObjectID)
		require.Equal(t, ptrOf(gid(f.adminKeyID)), e.KeyID)
		require.Equal(t, ptrOf(f.adminPrefix), e.KeyPrefix)
		require.Equal(t, ptrOf(requestID), e.RequestID)
		require.Equal(t, ptrOf("127.0.0.1"), e.SourceIP)
		require.WithinRange(t, e.At, started.Add(-time.Millisecond), finished.Add(time.Millisecond))
	}
	sort.Strings(want)
	sort.Strings(got)
	require.Equal(t, want, got, "the objects of the entries")
	if tc.check != nil {
		tc.check(t, b, f, data, entries)
	}
}

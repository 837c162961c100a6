package graph_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent/apikey"
	"github.com/pulse-analytics/pulse/ent/event"
	"github.com/pulse-analytics/pulse/ent/feedback"
	"github.com/pulse-analytics/pulse/ent/predicate"
	"github.com/pulse-analytics/pulse/ent/schema/schematype"
	entsegment "github.com/pulse-analytics/pulse/ent/segment"
	"github.com/pulse-analytics/pulse/ent/segmentmembership"
	"github.com/pulse-analytics/pulse/ent/segmentrun"
	entsurvey "github.com/pulse-analytics/pulse/ent/survey"
	"github.com/pulse-analytics/pulse/ent/surveyquestion"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// tenantFixture is two seeded projects in one database: A, whose keys the
// tests use, and B, whose rows A must never see or change.
type tenantFixture struct {
	bundle       *testBundle
	a, b         *testProject
	seedA, seedB *seeded
	keysB        []int // B's API key ids
}

func setupTenants(t *testing.T) *tenantFixture {
	t.Helper()
	bundle := setup(t)
	f := &tenantFixture{bundle: bundle, a: bundle.project, b: bundle.newProject(t, t.Name()+" (B)")}
	f.seedA = seed(t, bundle, f.a, "a", 4)
	f.seedB = seed(t, bundle, f.b, "b", 3)
	var err error
	f.keysB, err = bundle.client.APIKey.Query().IDs(f.b.ctx)
	require.NoError(t, err)
	require.Len(t, f.keysB, 3)
	return f
}

// idsOfB is every id of project B, as GraphQL ids.
func (f *tenantFixture) idsOfB() []string {
	s := f.seedB
	ids := []int{f.b.ID, s.Segment.ID, s.Membership.ID, s.Run.ID, s.Survey.ID, s.Question.ID, s.Response.ID}
	for _, u := range s.Users {
		ids = append(ids, u.ID)
	}
	for _, e := range s.Events {
		ids = append(ids, e.ID)
	}
	for _, fb := range s.Feedback {
		ids = append(ids, fb.ID)
	}
	return gids(append(ids, f.keysB...)...)
}

// requireNoneOf fails when any of ids appears as an "id" in a response body:
// the bluntest statement of isolation, independent of the response's shape.
func requireNoneOf(t *testing.T, data []byte, ids []string) {
	t.Helper()
	for _, id := range ids {
		require.NotContains(t, string(data), `"id":"`+id+`"`)
	}
}

// idConnection is the part of any Relay connection the isolation tests read.
type idConnection struct {
	TotalCount int
	Edges      []struct{ Node struct{ ID string } }
}

func (c idConnection) ids() []string {
	out := make([]string, len(c.Edges))
	for i, e := range c.Edges {
		out[i] = e.Node.ID
	}
	return out
}

// requireConnection asserts a connection holds exactly want, and counts it.
func requireConnection(t *testing.T, want []string, got *idConnection, msg string) {
	t.Helper()
	require.NotNil(t, got, msg)
	require.ElementsMatch(t, want, got.ids(), msg)
	require.Equal(t, len(want), got.TotalCount, "%s: totalCount", msg)
}

func gids(ids ...int) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = gid(id)
	}
	return out
}

func TestTenantRootConnections(t *testing.T) {
	t.Parallel()
	f := setupTenants(t)
	a := f.seedA
	var users, events, feedbacks []int
	for _, u := range a.Users {
		users = append(users, u.ID)
	}
	for _, e := range a.Events {
		events = append(events, e.ID)
	}
	for _, fb := range a.Feedback {
		feedbacks = append(feedbacks, fb.ID)
	}
	b := f.seedB
	tests := []struct {
		name, field string
		want        []int
	}{
		{"users", `users(first: 50)`, users},
		{"events", `events(first: 50)`, events},
		{"feedbacks", `feedbacks(first: 50)`, feedbacks},
		{"segments", `segments(first: 50, includeArchived: true)`, []int{a.Segment.ID}},
		{"surveys", `surveys(first: 50)`, []int{a.Survey.ID}},
		// Filters that name B's rows outright still see only A's.
		{"users by B ids", fmt.Sprintf(`users(first: 50, where: {idIn: [%d, %d]})`, b.Users[0].ID, a.Users[1].ID), []int{a.Users[1].ID}},
		{"users by B external ids", `users(first: 50, where: {externalIDIn: ["b-0", "b-1", "a-2"]})`, []int{a.Users[2].ID}},
		{"events of B's user", fmt.Sprintf(`events(first: 50, where: {userID: %d})`, b.Users[0].ID), nil},
		{"feedbacks by B ids", fmt.Sprintf(`feedbacks(first: 50, where: {idIn: [%d, %d]})`, b.Feedback[0].ID, a.Feedback[0].ID), []int{a.Feedback[0].ID}},
		{"segments with B's members", `segments(first: 50, where: {hasMembersWith: [{externalIDHasPrefix: "b-"}]})`, nil},
		{"surveys by B id", fmt.Sprintf(`surveys(first: 50, where: {id: %d})`, b.Survey.ID), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, res := f.bundle.do(t, f.a.Read, `{ conn: `+tt.field+` { totalCount edges { node { id } } } }`, nil)
			require.Equal(t, http.StatusOK, status)
			require.Empty(t, res.Errors)
			var out struct{ Conn idConnection }
			require.NoError(t, jsonUnmarshal(res.Data, &out))
			requireConnection(t, gids(tt.want...), &out.Conn, tt.name)
			requireNoneOf(t, res.Data, f.idsOfB())
		})
	}
	t.Run("user external ids", func(t *testing.T) {
		t.Parallel()
		var out struct {
			Users struct {
				Edges []struct{ Node struct{ ExternalID string } }
			}
		}
		f.bundle.query(t, f.a.Read, `{ users(first: 50) { edges { node { externalId } } } }`, nil, &out)
		var got []string
		for _, e := range out.Users.Edges {
			got = append(got, e.Node.ExternalID)
		}
		require.ElementsMatch(t, []string{"a-0", "a-1", "a-2", "a-3"}, got)
	})
}

// plantCrossLinks writes rows of project B that point at A's rows, as a bug
// in internal code could: only the tenant filter on every edge keeps them out
// of A's nested connections. It returns their ids.
func plantCrossLinks(t *testing.T, f *tenantFixture) []string {
	t.Helper()
	ctx, c, a, b := f.b.ctx, f.bundle.client, f.seedA, f.seedB
	ev, err := c.Event.Create().SetUserID(a.Users[0].ID).SetName("planted").SetTimestamp(time.Now()).
		SetPlatform(event.PlatformDESKTOP).SetMessageID("planted").Save(ctx)
	require.NoError(t, err)
	fb, err := c.Feedback.Create().SetUserID(a.Users[0].ID).SetKind(feedback.KindBUG).SetText("planted").Save(ctx)
	require.NoError(t, err)
	score := 0
	resp, err := c.SurveyResponse.Create().SetSurveyID(a.Survey.ID).SetUserID(a.Users[0].ID).
		SetAnswers([]schematype.SurveyAnswer{{QuestionID: a.Question.ID, Score: &score}}).Save(ctx)
	require.NoError(t, err)
	q, err := c.SurveyQuestion.Create().SetSurveyID(a.Survey.ID).SetPosition(1).
		SetKind(surveyquestion.KindTEXT).SetPrompt("planted").Save(ctx)
	require.NoError(t, err)
	run, err := c.SegmentRun.Create().SetSegmentID(a.Segment.ID).SetTrigger(segmentrun.TriggerMANUAL).
		SetStatus(segmentrun.StatusCOMPLETED).SetSeq(2).Save(ctx)
	require.NoError(t, err)
	m, err := c.SegmentMembership.Create().SetSegmentID(a.Segment.ID).SetUserID(a.Users[1].ID).
		SetEnteredAt(time.Now()).Save(ctx)
	require.NoError(t, err)
	// Current members carry no project of their own: each side is filtered.
	require.NoError(t, c.SegmentMember.Create().SetSegmentID(a.Segment.ID).SetUserID(b.Users[1].ID).Exec(ctx))
	require.NoError(t, c.SegmentMember.Create().SetSegmentID(b.Segment.ID).SetUserID(a.Users[1].ID).Exec(ctx))
	// A's own survey, pointed at B's segment.
	require.NoError(t, c.Survey.UpdateOneID(a.Survey.ID).SetTargetSegmentID(b.Segment.ID).Exec(f.a.ctx))
	return gids(ev.ID, fb.ID, resp.ID, q.ID, run.ID, m.ID)
}

const nestedConn = `(first: 20) { totalCount edges { node { id } } }`

var tenantNestedQuery = `query($segment: ID!, $user: ID!, $survey: ID!) {
  segments(first: 20) { edges { node { ...segmentEdges } } }
  users(first: 20) { edges { node { ...userEdges } } }
  surveys(first: 20) { edges { node { ...surveyEdges } } }
  segment: node(id: $segment) { ...segmentEdges }
  user: node(id: $user) { ...userEdges }
  survey: node(id: $survey) { ...surveyEdges }
}
fragment segmentEdges on Segment { id members` + nestedConn + ` memberships` + nestedConn + ` runs` + nestedConn + ` }
fragment userEdges on User { id events` + nestedConn + ` feedback` + nestedConn + ` segments` + nestedConn +
	` surveyResponses` + nestedConn + ` memberships` + nestedConn + ` }
fragment surveyEdges on Survey { id responses` + nestedConn + ` questions { id } targetSegment { id } }`

// nestedParent is a segment, user or survey with its nested connections.
type nestedParent struct {
	ID                                          string
	Members, Memberships, Runs                  *idConnection
	Events, Feedback, Segments, SurveyResponses *idConnection
	Responses                                   *idConnection
	Questions                                   []struct{ ID string }
	TargetSegment                               *struct{ ID string }
}

func (p nestedParent) connections() map[string]*idConnection {
	all := map[string]*idConnection{
		"members": p.Members, "memberships": p.Memberships, "runs": p.Runs, "events": p.Events,
		"feedback": p.Feedback, "segments": p.Segments, "surveyResponses": p.SurveyResponses, "responses": p.Responses,
	}
	for name, c := range all {
		if c == nil {
			delete(all, name)
		}
	}
	return all
}

func TestTenantNestedConnections(t *testing.T) {
	t.Parallel()
	f := setupTenants(t)
	planted := plantCrossLinks(t, f)
	a := f.seedA
	memberships := func(t *testing.T, preds ...predicate.SegmentMembership) []string {
		// Read with the bypass and an explicit project filter, so the
		// expectation does not rest on the mechanism under test.
		ids, err := f.bundle.client.SegmentMembership.Query().
			Where(segmentmembership.ProjectID(f.a.ID)).Where(preds...).IDs(tenant.Bypass(context.Background()))
		require.NoError(t, err)
		return gids(ids...)
	}
	segMemberships := memberships(t, segmentmembership.SegmentID(a.Segment.ID))
	require.Len(t, segMemberships, 2)

	want := map[string]map[string][]string{gid(a.Segment.ID): {
		"members":     gids(a.Users[0].ID, a.Users[2].ID),
		"memberships": segMemberships,
		"runs":        gids(a.Run.ID),
	}, gid(a.Survey.ID): {"responses": gids(a.Response.ID)}}
	for i, u := range a.Users {
		w := map[string][]string{
			"events":          gids(a.Events[2*i].ID, a.Events[2*i+1].ID),
			"feedback":        gids(a.Feedback[i].ID),
			"segments":        {},
			"surveyResponses": {},
			"memberships":     memberships(t, segmentmembership.UserID(u.ID)),
		}
		if i%2 == 0 {
			w["segments"] = gids(a.Segment.ID)
		}
		if i == 0 {
			w["surveyResponses"] = gids(a.Response.ID)
		}
		want[gid(u.ID)] = w
	}

	status, res := f.bundle.do(t, f.a.Read, tenantNestedQuery, map[string]any{
		"segment": gid(a.Segment.ID), "user": gid(a.Users[0].ID), "survey": gid(a.Survey.ID)})
	require.Equal(t, http.StatusOK, status)
	require.Empty(t, res.Errors)
	requireNoneOf(t, res.Data, append(f.idsOfB(), planted...))

	var out struct {
		Segments, Users, Surveys struct{ Edges []struct{ Node nestedParent } }
		Segment, User, Survey    nestedParent
	}
	require.NoError(t, jsonUnmarshal(res.Data, &out))
	parents := []nestedParent{out.Segment, out.User, out.Survey}
	for _, conn := range [][]struct{ Node nestedParent }{out.Segments.Edges, out.Users.Edges, out.Surveys.Edges} {
		for _, e := range conn {
			parents = append(parents, e.Node)
		}
	}
	require.Len(t, parents, 3+1+4+1, "node lookups plus every parent of A")
	for _, p := range parents {
		wantConns, ok := want[p.ID]
		require.True(t, ok, "unexpected parent %s", p.ID)
		got := p.connections()
		require.Len(t, got, len(wantConns), "connections of %s", p.ID)
		for name, ids := range wantConns {
			requireConnection(t, ids, got[name], fmt.Sprintf("%s of %s", name, p.ID))
		}
		if p.ID == gid(a.Survey.ID) {
			require.Equal(t, []struct{ ID string }{{gid(a.Question.ID)}}, p.Questions)
			require.Nil(t, p.TargetSegment, "B's segment must not be reachable through A's survey")
		}
	}
}

func TestTenantNode(t *testing.T) {
	t.Parallel()
	f := setupTenants(t)
	keysA, err := f.bundle.client.APIKey.Query().IDs(f.a.ctx)
	require.NoError(t, err)
	a, b := f.seedA, f.seedB
	tests := []struct {
		typename   string
		ownID, bID int
	}{
		{"User", a.Users[0].ID, b.Users[0].ID},
		{"Event", a.Events[0].ID, b.Events[0].ID},
		{"Feedback", a.Feedback[0].ID, b.Feedback[0].ID},
		{"Segment", a.Segment.ID, b.Segment.ID},
		{"SegmentMembership", a.Membership.ID, b.Membership.ID},
		{"SegmentRun", a.Run.ID, b.Run.ID},
		{"Survey", a.Survey.ID, b.Survey.ID},
		{"SurveyQuestion", a.Question.ID, b.Question.ID},
		{"SurveyResponse", a.Response.ID, b.Response.ID},
		{"Project", f.a.ID, f.b.ID},
		{"APIKey", keysA[0], f.keysB[0]},
	}
	const query = `query($id: ID!) { node(id: $id) { __typename id } }`
	for _, tt := range tests {
		t.Run(tt.typename, func(t *testing.T) {
			t.Parallel()
			// A's own row resolves, so a null for B's is not a broken lookup.
			var out map[string]map[string]string
			f.bundle.query(t, f.a.Admin, query, map[string]any{"id": gid(tt.ownID)}, &out)
			require.Equal(t, map[string]string{"__typename": tt.typename, "id": gid(tt.ownID)}, out["node"])

			for _, key := range []string{f.a.Read, f.a.Admin} {
				status, res := f.bundle.do(t, key, query, map[string]any{"id": gid(tt.bID)})
				require.Equal(t, http.StatusOK, status)
				require.JSONEq(t, `{"node":null}`, string(res.Data))
				require.Len(t, res.Errors, 1)
				require.Equal(t, "NOT_FOUND", res.code(), "not FORBIDDEN: B's rows do not exist for A")
				require.Equal(t, []any{"node"}, res.Errors[0].Path)
			}
		})
	}
}

// tenantNodesCase is one id of a nodes lookup and whether A may see it.
type tenantNodesCase struct {
	id  int
	own bool
}

func TestTenantNodes(t *testing.T) {
	t.Parallel()
	f := setupTenants(t)
	a, b := f.seedA, f.seedB
	lookups := []tenantNodesCase{
		{a.Users[0].ID, true}, {b.Users[0].ID, false}, {a.Segment.ID, true}, {b.Segment.ID, false},
		{b.Events[1].ID, false}, {a.Events[1].ID, true}, {b.Survey.ID, false}, {a.Survey.ID, true},
		{b.Response.ID, false}, {b.Membership.ID, false}, {b.Run.ID, false}, {b.Question.ID, false},
		{b.Feedback[0].ID, false}, {f.keysB[0], false}, {f.b.ID, false}, {f.a.ID, true},
	}
	ids := make([]string, len(lookups))
	for i, l := range lookups {
		ids[i] = gid(l.id)
	}
	for _, key := range []string{f.a.Read, f.a.Admin} {
		status, res := f.bundle.do(t, key, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": ids})
		require.Equal(t, http.StatusOK, status)
		var out struct{ Nodes []*struct{ ID string } }
		require.NoError(t, jsonUnmarshal(res.Data, &out))
		require.Len(t, out.Nodes, len(lookups))
		var wantPaths, gotPaths [][]any
		for i, l := range lookups {
			if l.own {
				require.NotNil(t, out.Nodes[i], "index %d", i)
				require.Equal(t, gid(l.id), out.Nodes[i].ID)
				continue
			}
			require.Nil(t, out.Nodes[i], "index %d: B's id %d", i, l.id)
			wantPaths = append(wantPaths, []any{"nodes", float64(i)})
		}
		for _, e := range res.Errors {
			require.Equal(t, "NOT_FOUND", e.Extensions["code"], "error %+v", e)
			gotPaths = append(gotPaths, e.Path)
		}
		require.ElementsMatch(t, wantPaths, gotPaths, "one NOT_FOUND per id of B")
	}
}

// TestTenantNodesSingleForeignID asks nodes for one id of B: the answer is a
// list with one null, as for several ids, not an error that nulls the whole
// response (nodes is non-null, so its siblings would be lost too).
func TestTenantNodesSingleForeignID(t *testing.T) {
	t.Parallel()
	f := setupTenants(t)
	b := f.seedB
	status, res := f.bundle.do(t, f.a.Read, `query($ids: [ID!]!) { nodes(ids: $ids) { id } viewer { role } }`,
		map[string]any{"ids": []string{gid(b.Users[0].ID)}})
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "NOT_FOUND", res.code())
	require.JSONEq(t, `{"nodes":[null],"viewer":{"role":"READ"}}`, string(res.Data),
		"one unknown id must not null the whole response")
}

func TestTenantViewer(t *testing.T) {
	t.Parallel()
	f := setupTenants(t)
	tests := []struct {
		name    string
		key     string
		project *testProject
		pname   string
		role    string
	}{
		{"A ingest", f.a.Ingest, f.a, t.Name(), "INGEST"},
		{"A read", f.a.Read, f.a, t.Name(), "READ"},
		{"A admin", f.a.Admin, f.a, t.Name(), "ADMIN"},
		{"B read", f.b.Read, f.b, t.Name() + " (B)", "READ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out struct {
				Viewer struct {
					Project struct{ ID, Name string }
					Role    string
				}
			}
			f.bundle.query(t, tt.key, `{ viewer { project { id name } role } }`, nil, &out)
			require.Equal(t, gid(tt.project.ID), out.Viewer.Project.ID)
			require.Equal(t, tt.pname, out.Viewer.Project.Name)
			require.Equal(t, tt.role, out.Viewer.Role)
		})
	}
}

// tenantMutationCase is a mutation of A's admin that names an id of B.
type tenantMutationCase struct {
	name, mutation string
	// foreign is B's id the mutation names; vars builds the variables around
	// it (or around an id that exists nowhere).
	foreign int
	vars    func(id int) map[string]any
}

// missingID is an id of the same type as id that exists in no project.
func missingID(id int) int { return id + 1<<20 }

// state fingerprints every row a mutation of the tests below could touch,
// in both projects, read past the tenant filter.
func (f *tenantFixture) state(t *testing.T) string {
	t.Helper()
	ctx, c, projects := tenant.Bypass(context.Background()), f.bundle.client, []int{f.a.ID, f.b.ID}
	var out strings.Builder
	segments, err := c.Segment.Query().Where(entsegment.ProjectIDIn(projects...)).Order(entsegment.ByID()).All(ctx)
	require.NoError(t, err)
	for _, s := range segments {
		fmt.Fprintf(&out, "segment %d %q %s v%d archived=%t %s\n", s.ID, s.Name, s.Rule, s.DefinitionVersion, s.ArchivedAt != nil, s.UpdatedAt)
	}
	surveys, err := c.Survey.Query().Where(entsurvey.ProjectIDIn(projects...)).Order(entsurvey.ByID()).All(ctx)
	require.NoError(t, err)
	for _, s := range surveys {
		fmt.Fprintf(&out, "survey %d %q %s target=%v %s\n", s.ID, s.Name, s.Status, s.TargetSegmentID != nil, s.UpdatedAt)
	}
	feedbacks, err := c.Feedback.Query().Where(feedback.ProjectIDIn(projects...)).Order(feedback.ByID()).All(ctx)
	require.NoError(t, err)
	for _, fb := range feedbacks {
		fmt.Fprintf(&out, "feedback %d %s %q %s\n", fb.ID, fb.Status, fb.Tags, fb.UpdatedAt)
	}
	keys, err := c.APIKey.Query().Where(apikey.ProjectIDIn(projects...)).Order(apikey.ByID()).All(ctx)
	require.NoError(t, err)
	for _, k := range keys {
		fmt.Fprintf(&out, "key %d revoked=%t\n", k.ID, k.RevokedAt != nil)
	}
	return out.String()
}

func TestTenantMutationsRefuseOtherProjects(t *testing.T) {
	t.Parallel()
	f := setupTenants(t)
	a, b := f.seedA, f.seedB
	before := f.state(t)
	require.Contains(t, before, fmt.Sprintf("segment %d %q", b.Segment.ID, b.Segment.Name))

	trait := map[string]any{"trait": map[string]any{"key": "plan", "op": "EQ", "value": "pro"}}
	surveyRule := func(surveyID, questionID int) map[string]any {
		return map[string]any{"or": []any{trait, map[string]any{"survey": map[string]any{
			"surveyId": gid(surveyID), "questionId": gid(questionID), "score": map[string]any{"op": "GTE", "value": 9}}}}}
	}
	tests := []tenantMutationCase{
		{"updateSegment", `mutation($id: ID!, $input: UpdateSegmentInput!) { updateSegment(id: $id, input: $input) { id } }`,
			b.Segment.ID, func(id int) map[string]any {
				return map[string]any{"id": gid(id), "input": map[string]any{"name": "hijacked", "rule": trait}}
			}},
		{"archiveSegment", `mutation($id: ID!) { archiveSegment(id: $id) { id } }`,
			b.Segment.ID, func(id int) map[string]any { return map[string]any{"id": gid(id)} }},
		{"updateSurvey", `mutation($id: ID!, $input: UpdateSurveyInput!) { updateSurvey(id: $id, input: $input) { id } }`,
			b.Survey.ID, func(id int) map[string]any {
				return map[string]any{"id": gid(id), "input": map[string]any{"name": "hijacked", "status": "CLOSED"}}
			}},
		{"updateFeedback", `mutation($id: ID!, $input: UpdateFeedbackInput!) { updateFeedback(id: $id, input: $input) { id } }`,
			b.Feedback[0].ID, func(id int) map[string]any {
				return map[string]any{"id": gid(id), "input": map[string]any{"status": "CLOSED", "tags": []string{"hijacked"}}}
			}},
		{"createSegment inSegment", `mutation($input: CreateSegmentInput!) { createSegment(input: $input) { id } }`,
			b.Segment.ID, func(id int) map[string]any {
				return map[string]any{"input": map[string]any{"name": "spy", "rule": map[string]any{
					"and": []any{trait, map[string]any{"not": map[string]any{"inSegment": gid(id)}}}}}}
			}},
		{"updateSegment inSegment", `mutation($id: ID!, $input: UpdateSegmentInput!) { updateSegment(id: $id, input: $input) { id } }`,
			b.Segment.ID, func(id int) map[string]any {
				return map[string]any{"id": gid(a.Segment.ID), "input": map[string]any{"rule": map[string]any{"inSegment": gid(id)}}}
			}},
		{"createSegment survey", `mutation($input: CreateSegmentInput!) { createSegment(input: $input) { id } }`,
			b.Survey.ID, func(id int) map[string]any {
				return map[string]any{"input": map[string]any{"name": "spy", "rule": surveyRule(id, b.Question.ID)}}
			}},
		{"createSegment question of B in A's survey", `mutation($input: CreateSegmentInput!) { createSegment(input: $input) { id } }`,
			b.Question.ID, func(id int) map[string]any {
				return map[string]any{"input": map[string]any{"name": "spy", "rule": surveyRule(a.Survey.ID, id)}}
			}},
		{"createSurvey targetSegmentId", `mutation($input: CreateSurveyInput!) { createSurvey(input: $input) { id } }`,
			b.Segment.ID, func(id int) map[string]any {
				return map[string]any{"input": map[string]any{"name": "spy", "targetSegmentId": gid(id),
					"questions": []any{map[string]any{"kind": "NPS", "prompt": "How likely?"}}}}
			}},
		{"updateSurvey targetSegmentId", `mutation($id: ID!, $input: UpdateSurveyInput!) { updateSurvey(id: $id, input: $input) { id } }`,
			b.Segment.ID, func(id int) map[string]any {
				return map[string]any{"id": gid(a.Survey.ID), "input": map[string]any{"targetSegmentId": gid(id)}}
			}},
	}
	for i, keyID := range f.keysB {
		tests = append(tests, tenantMutationCase{fmt.Sprintf("revokeAPIKey %d", i), `mutation($id: ID!) { revokeAPIKey(id: $id) { id } }`,
			keyID, func(id int) map[string]any { return map[string]any{"id": gid(id)} }})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			field := strings.Fields(tt.name)[0]
			status, res := f.bundle.do(t, f.a.Admin, tt.mutation, tt.vars(tt.foreign))
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, "NOT_FOUND", res.code(), "errors: %+v", res.Errors)
			require.Equal(t, []any{field}, res.Errors[0].Path)
			require.Contains(t, []string{"", "null"}, string(res.Data))

			// B's id is answered exactly as an id that exists nowhere, so the
			// error cannot tell A that B's row exists.
			missing := missingID(tt.foreign)
			_, ghost := f.bundle.do(t, f.a.Admin, tt.mutation, tt.vars(missing))
			require.Equal(t, "NOT_FOUND", ghost.code())
			require.Equal(t, strings.ReplaceAll(ghost.Errors[0].Message, gid(missing), gid(tt.foreign)), res.Errors[0].Message)
			require.Equal(t, before, f.state(t), "no row of A or B was written")
		})
	}
}

func TestTenantAPIKeys(t *testing.T) {
	t.Parallel()
	f := setupTenants(t)
	c := f.bundle.client
	// A revoked key of B must not show up in A's includeRevoked listing either.
	require.NoError(t, c.APIKey.UpdateOneID(f.keysB[0]).SetRevokedAt(time.Now()).Exec(f.b.ctx))
	stored, err := c.APIKey.Query().Where(apikey.ProjectID(f.a.ID)).All(tenant.Bypass(context.Background()))
	require.NoError(t, err)
	require.Len(t, stored, 3)
	secrets := map[string]string{"INGEST": f.a.Ingest, "READ": f.a.Read, "ADMIN": f.a.Admin}

	for _, includeRevoked := range []bool{false, true} {
		status, res := f.bundle.do(t, f.a.Admin, `query($r: Boolean) { apiKeys(includeRevoked: $r) { id role prefix name revokedAt } }`,
			map[string]any{"r": includeRevoked})
		require.Equal(t, http.StatusOK, status)
		require.Empty(t, res.Errors)
		var out struct {
			APIKeys []struct {
				ID, Role, Prefix, Name string
				RevokedAt              *string
			}
		}
		require.NoError(t, jsonUnmarshal(res.Data, &out))
		var ids, roles []string
		for _, k := range out.APIKeys {
			ids = append(ids, k.ID)
			roles = append(roles, k.Role)
			require.Nil(t, k.RevokedAt)
			require.True(t, strings.HasPrefix(secrets[k.Role], k.Prefix), "prefix %q of the %s key", k.Prefix, k.Role)
			require.Less(t, len(k.Prefix), len(secrets[k.Role])/2, "the prefix shows a small part of the key")
		}
		require.ElementsMatch(t, []string{"INGEST", "READ", "ADMIN"}, roles)
		require.ElementsMatch(t, gids(stored[0].ID, stored[1].ID, stored[2].ID), ids)
		requireNoneOf(t, res.Data, gids(f.keysB...))
		for _, k := range stored {
			require.NotContains(t, string(res.Data), k.Hash)
		}
		for _, secret := range secrets {
			require.NotContains(t, string(res.Data), secret)
		}
	}

	_, res := f.bundle.do(t, f.a.Admin, `{ apiKeys { id hash } }`, nil)
	require.Equal(t, "GRAPHQL_VALIDATION_FAILED", res.code())
	require.Contains(t, res.Errors[0].Message, `Cannot query field "hash"`)

	var schema struct {
		Type struct{ Fields []struct{ Name string } } `json:"__type"`
	}
	f.bundle.query(t, f.a.Admin, `{ __type(name: "APIKey") { fields { name } } }`, nil, &schema)
	var fields []string
	for _, fd := range schema.Type.Fields {
		fields = append(fields, fd.Name)
	}
	require.ElementsMatch(t, []string{"id", "createdAt", "updatedAt", "name", "role", "prefix", "revokedAt"}, fields)
}

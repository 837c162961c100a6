package graph_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

const deleteUserMutation = `mutation($externalId: String, $id: ID, $suppress: Boolean) {
  deleteUser(externalId: $externalId, id: $id, suppress: $suppress) { id userId suppressed erasedAt removed { table rows } } }`

// TestDeleteUserIsolation: an ADMIN key erases users of its own project
// only; another project's user is NOT_FOUND, by external id and by id,
// and stays.
func TestDeleteUserIsolation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := seed(t, b, b.project, "iso", 2)
	other := b.newProject(t, "other")
	for _, vars := range []map[string]any{{"externalId": "iso-0"}, {"id": gid(s.Users[0].ID)}} {
		_, res := b.do(t, other.Admin, deleteUserMutation, vars)
		require.Equal(t, "NOT_FOUND", res.code(), "%v: %+v", vars, res.Errors)
		require.Equal(t, []any{"deleteUser"}, res.Errors[0].Path)
	}
	exists, err := b.client.User.Query().Count(b.project.ctx)
	require.NoError(t, err)
	require.Equal(t, 2, exists, "nothing was erased")

	var out struct {
		DeleteUser struct {
			ID, UserID, ErasedAt string
			Suppressed           bool
		}
	}
	b.query(t, b.project.Admin, deleteUserMutation, map[string]any{"id": gid(s.Users[0].ID), "suppress": true}, &out)
	require.Equal(t, gid(s.Users[0].ID), out.DeleteUser.UserID)
	require.True(t, out.DeleteUser.Suppressed)
	require.NotEmpty(t, out.DeleteUser.ErasedAt)
	require.NotEqual(t, out.DeleteUser.UserID, out.DeleteUser.ID, "the erasure has an id of its own")
}

// TestDeleteUserInput: the errors of bad requests, with their codes,
// paths and fields.
func TestDeleteUserInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := seed(t, b, b.project, "in", 1)
	many := make([]string, 1001)
	for i := range many {
		many[i] = fmt.Sprintf("u-%d", i)
	}
	for _, tc := range []struct {
		name, query  string
		vars         map[string]any
		code, field  string
		path         []any
		messageCheck string
	}{
		{"both ids", deleteUserMutation, map[string]any{"externalId": "in-0", "id": gid(s.Users[0].ID)},
			"BAD_USER_INPUT", "externalId", []any{"deleteUser"}, "exactly one of externalId and id"},
		{"neither", deleteUserMutation, map[string]any{}, "BAD_USER_INPUT", "externalId", []any{"deleteUser"}, "exactly one of externalId and id"},
		{"an id of another type", deleteUserMutation, map[string]any{"id": gid(s.Segment.ID)},
			"BAD_USER_INPUT", "id", []any{"deleteUser", "id"}, "not the id of a User"},
		{"unknown", deleteUserMutation, map[string]any{"externalId": "nobody"}, "NOT_FOUND", "", []any{"deleteUser"}, "nobody"},
		{"over the limit", `mutation($ids: [String!]!) { deleteUsers(externalIds: $ids) { id } }`, map[string]any{"ids": many},
			"BAD_USER_INPUT", "externalIds", []any{"deleteUsers"}, "at most 1000 users can be erased at once, got 1001"},
		{"unknown among known", `mutation($ids: [String!]!) { deleteUsers(externalIds: $ids) { id } }`,
			map[string]any{"ids": []string{"in-0", "ghost"}}, "NOT_FOUND", "", []any{"deleteUsers"}, "ghost"},
		{"not suppressed", `mutation { unsuppressUser(externalId: "in-0") { id } }`, nil, "NOT_FOUND", "", []any{"unsuppressUser"}, "not suppressed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, res := b.do(t, b.project.Admin, tc.query, tc.vars)
			require.Len(t, res.Errors, 1, "%+v", res)
			require.Equal(t, tc.code, res.code())
			require.Equal(t, tc.path, res.Errors[0].Path)
			if tc.field != "" {
				require.Equal(t, tc.field, res.Errors[0].Extensions["field"])
			}
			require.Contains(t, res.Errors[0].Message, tc.messageCheck)
		})
	}
	exists, err := b.client.User.Query().Count(b.project.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, exists, "no refused request erased anyone")
}

// TestSuppressedSubmissions: the GraphQL ingestion mutations report
// suppressed messages, and submitFeedback and submitSurveyResponse answer
// suppressed without an id.
func TestSuppressedSubmissions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := seed(t, b, b.project, "sub", 1)
	_, err := b.client.Survey.UpdateOneID(s.Survey.ID).SetStatus("ACTIVE").Save(b.project.ctx)
	require.NoError(t, err)
	b.query(t, b.project.Admin, deleteUserMutation, map[string]any{"externalId": "sub-0", "suppress": true}, nil)

	for _, tc := range []struct{ query, want string }{
		{`mutation { track(input: {userId: "sub-0", event: "export"}) { accepted suppressed } }`,
			`{"track":{"accepted":0,"suppressed":1}}`},
		{`mutation { identify(input: {userId: "sub-0", traits: {plan: "pro"}}) { accepted suppressed } }`,
			`{"identify":{"accepted":0,"suppressed":1}}`},
		{`mutation { ingestEvents(events: [{userId: "sub-0", event: "a"}, {userId: "someone", event: "a"}]) { accepted suppressed } }`,
			`{"ingestEvents":{"accepted":1,"suppressed":1}}`},
		{`mutation { submitFeedback(input: {userId: "sub-0", text: "hello"}) { id suppressed } }`,
			`{"submitFeedback":{"id":null,"suppressed":true}}`},
		{fmt.Sprintf(`mutation { submitSurveyResponse(input: {surveyId: "%d", userId: "sub-0", answers: [{questionId: "%d", score: 9}]}) { id suppressed } }`,
			s.Survey.ID, s.Question.ID), `{"submitSurveyResponse":{"id":null,"suppressed":true}}`},
	} {
		_, res := b.do(t, b.project.Ingest, tc.query, nil)
		require.Empty(t, res.Errors, tc.query)
		require.JSONEq(t, tc.want, string(res.Data), tc.query)
	}
	users, err := b.client.User.Query().Count(b.project.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, users, "only someone was stored")

	var fb struct {
		SubmitFeedback struct {
			ID         *string
			Suppressed bool
		}
	}
	b.query(t, b.project.Ingest, `mutation { submitFeedback(input: {userId: "someone", text: "hello"}) { id suppressed } }`, nil, &fb)
	require.NotNil(t, fb.SubmitFeedback.ID)
	require.False(t, fb.SubmitFeedback.Suppressed)
}

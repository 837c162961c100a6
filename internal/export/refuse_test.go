package export_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/export"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// TestTenantIsolation checks that another project's key finds neither the
// segment nor the run, exactly as ids that do not exist, in every format.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	b := setup(t, nil, export.Options{})
	ids := b.createUsers(t, user{externalID: "ann"})
	seg := b.createSegment(t, "Mine")
	run := b.addMembers(t, seg, ids)
	other, err := auth.CreateProject(context.Background(), b.client, t.Name()+" other")
	require.NoError(t, err)

	for _, path := range []string{
		fmt.Sprintf("/v1/segments/%d/members.csv", seg),
		fmt.Sprintf("/v1/segments/%d/members.ndjson", seg),
		fmt.Sprintf("/v1/segments/%d/members.csv?at=2030-01-01T00:00:00Z", seg),
		fmt.Sprintf("/v1/runs/%d/changes.csv", run),
		fmt.Sprintf("/v1/runs/%d/changes.ndjson", run),
	} {
		require.Equal(t, http.StatusOK, b.get(t, path, b.project.Read.Secret).StatusCode, path)
		require.Equal(t, http.StatusOK, b.get(t, path, b.project.Admin.Secret).StatusCode, "%s: ADMIN allows READ", path)
		e := b.refused(t, path, other.Read.Secret, http.StatusNotFound)
		require.Equal(t, "NOT_FOUND", e.Error.Code)
		require.NotContains(t, e.Error.Message, "Mine", "nothing of the other project leaks")
		e = b.refused(t, path, other.Admin.Secret, http.StatusNotFound)
		require.Equal(t, "NOT_FOUND", e.Error.Code)
	}
	absent := b.refused(t, fmt.Sprintf("/v1/segments/%d/members.csv", seg+1000), b.project.Read.Secret, http.StatusNotFound)
	foreign := b.refused(t, fmt.Sprintf("/v1/segments/%d/members.csv", seg), other.Read.Secret, http.StatusNotFound)
	require.Equal(t, strings.Replace(absent.Error.Message, fmt.Sprint(seg+1000), fmt.Sprint(seg), 1), foreign.Error.Message,
		"another project's segment reads as one that does not exist")
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	b := setup(t, nil, export.Options{})
	seg := b.createSegment(t, "Mine")
	path := fmt.Sprintf("/v1/segments/%d/members.csv", seg)

	e := b.refused(t, path, "", http.StatusUnauthorized)
	require.Equal(t, "UNAUTHENTICATED", e.Error.Code)
	require.Contains(t, e.Error.Message, "Authorization: Bearer")
	e = b.refused(t, path, "pk_read_"+strings.Repeat("A", 43), http.StatusUnauthorized)
	require.Equal(t, "unknown or revoked API key", e.Error.Message)
	e = b.refused(t, path, b.project.Ingest.Secret, http.StatusForbidden)
	require.Equal(t, "FORBIDDEN", e.Error.Code)
	require.Equal(t, "needs a READ key, this is a INGEST key", e.Error.Message)

	req, err := http.NewRequest(http.MethodGet, b.server.URL+path, nil)
	require.NoError(t, err)
	req.SetBasicAuth(b.project.Read.Secret, "")
	res, err := b.server.Client().Do(req)
	require.NoError(t, err)
	defer func() { _ = res.Body.Close() }()
	require.Equal(t, http.StatusUnauthorized, res.StatusCode, "a key goes as a Bearer token")
	require.Equal(t, `Bearer realm="pulse"`, res.Header.Get("WWW-Authenticate"))
	require.Contains(t, body(t, res), `the Authorization header must be \"Bearer <key>\"`)

	_, err = auth.NewKeys(b.client).Revoke(tenant.ForProject(context.Background(), b.projectID()), b.project.Read.Key.ID)
	require.NoError(t, err)
	b.refused(t, path, b.project.Read.Secret, http.StatusUnauthorized)

	req, err = http.NewRequest(http.MethodPost, b.server.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+b.project.Admin.Secret)
	res, err = b.server.Client().Do(req)
	require.NoError(t, err)
	defer func() { _ = res.Body.Close() }()
	require.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
	require.Equal(t, "GET, HEAD", res.Header.Get("Allow"))

	req, err = http.NewRequest(http.MethodHead, b.server.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+b.project.Admin.Secret)
	res, err = b.server.Client().Do(req)
	require.NoError(t, err)
	defer func() { _ = res.Body.Close() }()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, `attachment; filename="Mine-members.csv"`, res.Header.Get("Content-Disposition"))
}

// TestBadRequests checks that every malformed request is a 400 naming the
// parameter, and hostile ones (NUL, bytes that are not UTF-8, a huge list
// of traits) are refused the same way, never a 500.
func TestBadRequests(t *testing.T) {
	t.Parallel()
	b := setup(t, nil, export.Options{})
	ids := b.createUsers(t, user{externalID: "ann"})
	seg := b.createSegment(t, "Mine")
	run := b.addMembers(t, seg, ids)
	members := fmt.Sprintf("/v1/segments/%d/members.csv", seg)
	many := strings.Repeat("t,", export.MaxTraitColumns) + "last"
	var numbered []string
	for i := range export.MaxTraitColumns + 1 {
		numbered = append(numbered, fmt.Sprint("t", i))
	}

	for _, tc := range []struct {
		path, field, message string
	}{
		{members + "?at=yesterday", "at", `at: an RFC 3339 instant such as 2026-03-01T12:00:00Z (an offset's + encoded as %2B), got "yesterday"`},
		{members + "?at=2026-03-01", "at", "at: an RFC 3339 instant"},
		{members + "?at=2026-03-01T00:00:00Z&at=2026-03-02T00:00:00Z", "at", "at: give one instant, not 2"},
		{members + "?at=%00", "at", `got "\x00"`},
		{members + "?trait=plan", "trait", "trait: is not a parameter of this export, which takes at and traits"},
		{fmt.Sprintf("/v1/runs/%d/changes.csv?at=2026-03-01T00:00:00Z", run), "at", "at: is not a parameter of this export, which takes traits"},
		{members + "?traits=a%00b", "traits", `"a\x00b" is not a trait name`},
		{members + "?traits=%FF%FE", "traits", `"\xff\xfe" is not a trait name`},
		{members + "?traits=" + strings.Repeat("k", export.MaxTraitNameBytes+1), "traits", "a trait name is at most 1024 bytes"},
		{members + "?traits=" + strings.Join(numbered, ","), "traits", "names more than 1000 traits"},
		{members + "?" + strings.Repeat("traits=x&", 20) + "traits=" + strings.Join(numbered, ","), "traits", "names more than 1000 traits"},
		{members + "?%zz", "", "the query string is malformed"},
		{"/v1/segments/abc/members.csv", "id", `id: an id is a number as the API returns it, such as "17179869185"; got "abc"`},
		{"/v1/segments/0017179869185/members.csv", "id", "an id is a number"},
		{"/v1/segments/-1/members.csv", "id", "an id is a number"},
		{"/v1/runs/1e9/changes.csv", "id", "an id is a number"},
	} {
		e := b.refused(t, tc.path, b.project.Read.Secret, http.StatusBadRequest)
		require.Equal(t, "BAD_USER_INPUT", e.Error.Code, tc.path)
		require.Equal(t, tc.field, e.Error.Field, tc.path)
		require.Contains(t, e.Error.Message, tc.message, tc.path)
	}
	// Repeated names are one column: a long list of few names is fine.
	require.Len(t, b.readCSV(t, members+"?traits="+many)[0], 3+2)

	// An id of another kind of thing is no segment or run.
	e := b.refused(t, fmt.Sprintf("/v1/segments/%d/members.csv", ids[0]), b.project.Read.Secret, http.StatusNotFound)
	require.Equal(t, fmt.Sprintf("segment %d not found", ids[0]), e.Error.Message)
	e = b.refused(t, fmt.Sprintf("/v1/runs/%d/changes.csv", seg), b.project.Read.Secret, http.StatusNotFound)
	require.Equal(t, fmt.Sprintf("run %d not found", seg), e.Error.Message)
}

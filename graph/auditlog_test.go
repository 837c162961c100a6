package graph_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/pulse-analytics/pulse/ent/apikey"
	"github.com/pulse-analytics/pulse/internal/httplog"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

const auditLogQuery = `query($first: Int, $after: Cursor, $last: Int, $before: Cursor, $where: AuditLogWhereInput) {
  auditLog(first: $first, after: $after, last: $last, before: $before, where: $where) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id action objectId keyId keyPrefix at requestId sourceIp before after } }
  }
}`

// auditEntry is the wire shape of an AuditEntry.
type auditEntry struct {
	ID, Action                                      string
	ObjectID, KeyID, KeyPrefix, RequestID, SourceIP *string
	At                                              time.Time
	Before, After                                   json.RawMessage
}

type auditPage struct {
	TotalCount int
	PageInfo   struct {
		HasNextPage, HasPreviousPage bool
		StartCursor, EndCursor       *string
	}
	Edges []struct {
		Cursor string
		Node   auditEntry
	}
}

func (p auditPage) entries() []auditEntry {
	out := make([]auditEntry, len(p.Edges))
	for i, e := range p.Edges {
		out[i] = e.Node
	}
	return out
}

func (p auditPage) ids() []string {
	out := make([]string, len(p.Edges))
	for i, e := range p.Edges {
		out[i] = e.Node.ID
	}
	return out
}

// auditLog reads a page of the audit log with key; vars are auditLog's
// arguments.
func (b *testBundle) auditLog(t *testing.T, key string, vars map[string]any) auditPage {
	t.Helper()
	var out struct{ AuditLog auditPage }
	b.query(t, key, auditLogQuery, vars, &out)
	return out.AuditLog
}

// actionLog is every entry of action in p's log, newest first.
func (b *testBundle) actionLog(t *testing.T, p *testProject, action string) []auditEntry {
	t.Helper()
	page := b.auditLog(t, p.Admin, map[string]any{"first": 1000, "where": map[string]any{"action": action}})
	require.False(t, page.PageInfo.HasNextPage)
	return page.entries()
}

// doAs posts an operation as do does, with X-Request-Id requestID.
func (b *testBundle) doAs(t *testing.T, key, requestID, query string, vars map[string]any) gqlResponse {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, b.server.URL+"/graphql", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set(httplog.HeaderRequestID, requestID)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, requestID, res.Header.Get(httplog.HeaderRequestID))
	var out gqlResponse
	require.NoError(t, json.Unmarshal(raw, &out), "%s", raw)
	return out
}

// adminKey is the id and prefix of p's ADMIN key.
func (b *testBundle) adminKey(t *testing.T, p *testProject) (int, string) {
	t.Helper()
	key, err := b.client.APIKey.Query().Where(apikey.RoleEQ(apikey.RoleADMIN), apikey.RevokedAtIsNil()).
		Order(apikey.ByID()).First(p.ctx)
	require.NoError(t, err)
	return key.ID, key.Prefix
}

// requireJSON asserts that raw is the JSON want.
func requireJSON(t *testing.T, raw json.RawMessage, want string, msg ...any) {
	t.Helper()
	require.JSONEq(t, want, string(raw), msg...)
}

func ptrOf(s string) *string { return &s }

// TestAuditLogNeedsAnAdminKey: READ and INGEST keys are refused the log
// with FORBIDDEN at its path, and an entry is not reachable through node.
func TestAuditLogNeedsAnAdminKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := b.project
	b.query(t, p.Admin, `mutation { createSegment(input: {name: "seen", kind: STATIC}) { id } }`, nil, nil)
	entries := b.actionLog(t, p, "createSegment")
	require.Len(t, entries, 1)

	for role, key := range map[tenant.Role]string{tenant.RoleRead: p.Read, tenant.RoleIngest: p.Ingest} {
		_, res := b.do(t, key, auditLogQuery, map[string]any{"first": 10})
		require.Len(t, res.Errors, 1, "%s: %+v", role, res.Errors)
		require.Equal(t, "FORBIDDEN", res.code(), role)
		require.Equal(t, []any{"auditLog"}, res.Errors[0].Path, role)
		require.Contains(t, res.Errors[0].Message, "needs a ADMIN key")
		require.JSONEq(t, `null`, string(res.Data), role)

		_, res = b.do(t, key, `query($id: ID!) { node(id: $id) { ... on AuditEntry { action } } }`,
			map[string]any{"id": entries[0].ID})
		require.Equal(t, "FORBIDDEN", res.code(), role)
		require.JSONEq(t, `{"node":null}`, string(res.Data), role)
	}
	var node struct{ Node struct{ Action string } }
	b.query(t, p.Admin, `query($id: ID!) { node(id: $id) { ... on AuditEntry { action } } }`,
		map[string]any{"id": entries[0].ID}, &node)
	require.Equal(t, "createSegment", node.Node.Action)
}

// TestAuditLogIsPerProject: an admin sees its project's entries only,
// whatever the filter, and another project's entry does not resolve.
func TestAuditLogIsPerProject(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a, other := b.project, b.newProject(t, t.Name()+" other")
	create := `mutation($name: String!) { createSegment(input: {name: $name, kind: STATIC}) { id } }`
	var made struct{ CreateSegment struct{ ID string } }
	b.query(t, a.Admin, create, map[string]any{"name": "a"}, &made)
	aSegment := made.CreateSegment.ID
	b.query(t, other.Admin, create, map[string]any{"name": "other"}, &made)
	otherSegment := made.CreateSegment.ID
	b.query(t, other.Admin, `mutation($id: ID!) { archiveSegment(id: $id) { id } }`, map[string]any{"id": otherSegment}, nil)

	mine := b.auditLog(t, a.Admin, map[string]any{"first": 100})
	require.Equal(t, 1, mine.TotalCount)
	require.Equal(t, aSegment, *mine.Edges[0].Node.ObjectID)
	theirs := b.auditLog(t, other.Admin, map[string]any{"first": 100})
	require.Equal(t, 2, theirs.TotalCount)
	for _, e := range theirs.entries() {
		require.Equal(t, otherSegment, *e.ObjectID)
	}

	for _, where := range []map[string]any{
		{"objectId": otherSegment}, {"action": "archiveSegment"},
		{"from": theirs.Edges[1].Node.At.Format(time.RFC3339Nano)},
	} {
		page := b.auditLog(t, a.Admin, map[string]any{"first": 100, "where": where})
		require.Zero(t, page.TotalCount, "where %v", where)
		require.Empty(t, page.Edges, "where %v", where)
	}
	_, res := b.do(t, a.Admin, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": theirs.Edges[0].Node.ID})
	require.Equal(t, "NOT_FOUND", res.code(), "%+v", res.Errors)
	require.JSONEq(t, `{"node":null}`, string(res.Data))
}

// TestFailedMutationsAreNotAudited: a mutation refused for its input, for
// its key or for a missing object changed nothing and leaves no entry;
// ingestion (INGEST mutations) is not audited, whatever the key.
func TestFailedMutationsAreNotAudited(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := b.project
	var made struct{ CreateSegment struct{ ID string } }
	b.query(t, p.Admin, `mutation { createSegment(input: {name: "kept", rule: {lastSeen: {withinDays: 7}}}) { id } }`, nil, &made)
	seg := made.CreateSegment.ID

	for _, call := range []struct {
		key, query, code string
	}{
		{p.Admin, `mutation { createSegment(input: {name: "", rule: {lastSeen: {withinDays: 7}}}) { id } }`, "BAD_USER_INPUT"},
		{p.Admin, `mutation { updateSegment(id: "` + seg + `", input: {rule: {and: []}}) { id } }`, "BAD_USER_INPUT"},
		{p.Admin, `mutation { archiveSegment(id: "` + unknownID(t, "segments") + `") { id } }`, "NOT_FOUND"},
		{p.Read, `mutation { archiveSegment(id: "` + seg + `") { id } }`, "FORBIDDEN"},
		{p.Admin, `mutation { createAPIKey(input: {role: READ, name: "` + strings.Repeat("x", 201) + `"}) { secret } }`, "BAD_USER_INPUT"},
	} {
		_, res := b.do(t, call.key, call.query, nil)
		require.Equal(t, call.code, res.code(), "%s: %+v", call.query, res.Errors)
	}
	for event, key := range map[string]string{"open": p.Ingest, "close": p.Admin} {
		var tracked struct{ Track struct{ Accepted int } }
		b.query(t, key, `mutation($event: String!) { track(input: {userId: "ann", event: $event}) { accepted } }`,
			map[string]any{"event": event}, &tracked)
		require.Equal(t, 1, tracked.Track.Accepted)
	}

	page := b.auditLog(t, p.Admin, map[string]any{"first": 100})
	require.Equal(t, 1, page.TotalCount, "only the createSegment that succeeded: %+v", page.entries())
	require.Equal(t, "createSegment", page.Edges[0].Node.Action)
	requireJSON(t, page.Edges[0].Node.After, `{"name":"kept","description":"","kind":"DYNAMIC","rule":{"lastSeen":{"withinDays":7}},
		"definitionVersion":1,"refreshIntervalSeconds":900,"realtime":true,"archivedAt":null}`)
}

// TestAuditedOverWebSocket: a mutation sent over graphql-transport-ws is
// recorded with the address and request id of the connection's upgrade.
func TestAuditedOverWebSocket(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := dialLive(t, b.server.URL, b.project.Admin, "graphql-transport-ws")
	c.start(t, "1", `mutation { createSegment(input: {name: "over ws", kind: STATIC}) { id } }`, nil)
	var out struct{ CreateSegment struct{ ID string } }
	c.next(t, "1", &out)

	entries := b.actionLog(t, b.project, "createSegment")
	require.Len(t, entries, 1)
	e := entries[0]
	require.Equal(t, out.CreateSegment.ID, *e.ObjectID)
	require.Equal(t, ptrOf("127.0.0.1"), e.SourceIP)
	require.NotNil(t, e.RequestID)
	require.NotEmpty(t, *e.RequestID)
	keyID, prefix := b.adminKey(t, b.project)
	require.Equal(t, ptrOf(gid(keyID)), e.KeyID)
	require.Equal(t, ptrOf(prefix), e.KeyPrefix)
}

// TestAuditLogFiltersAndPages filters one project's log by action, object
// and time (at the exact instants of entries: from is inclusive, to is
// not) and pages through it, filtered or not, at the boundaries.
func TestAuditLogFiltersAndPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := b.project
	create := `mutation($name: String!) { createSegment(input: {name: $name, kind: STATIC}) { id } }`
	var made struct{ CreateSegment struct{ ID string } }
	b.query(t, p.Admin, create, map[string]any{"name": "s"}, &made)
	s := made.CreateSegment.ID
	for i := range 5 {
		b.query(t, p.Admin, `mutation($id: ID!, $name: String!) { updateSegment(id: $id, input: {name: $name}) { id } }`,
			map[string]any{"id": s, "name": fmt.Sprintf("n%d", i)}, nil)
	}
	b.query(t, p.Admin, create, map[string]any{"name": "other"}, &made)
	other := made.CreateSegment.ID

	all := b.auditLog(t, p.Admin, map[string]any{"first": 100})
	require.Equal(t, 7, all.TotalCount)
	e := all.entries() // newest first: e[0] created other, e[6] created s
	require.Equal(t, "createSegment", e[0].Action)
	require.Equal(t, other, *e[0].ObjectID)
	require.Equal(t, "createSegment", e[6].Action)
	require.Equal(t, s, *e[6].ObjectID)
	for i := 1; i <= 5; i++ {
		require.Equal(t, "updateSegment", e[i].Action)
		require.Equal(t, fmt.Sprintf("n%d", 5-i), gjson.GetBytes(e[i].After, "name").String(), "newest first")
		require.True(t, e[i-1].At.After(e[i].At), "entry %d is newer than %d", i-1, i)
	}
	ids := func(entries ...auditEntry) []string {
		out := []string{}
		for _, entry := range entries {
			out = append(out, entry.ID)
		}
		return out
	}
	at := func(i int) string { return e[i].At.Format(time.RFC3339Nano) }

	for name, tc := range map[string]struct {
		where map[string]any
		want  []string
	}{
		"action":                 {map[string]any{"action": "updateSegment"}, ids(e[1:6]...)},
		"object":                 {map[string]any{"objectId": other}, ids(e[0])},
		"action and object":      {map[string]any{"action": "createSegment", "objectId": s}, ids(e[6])},
		"unknown action":         {map[string]any{"action": "deleteEverything"}, ids()},
		"from is inclusive":      {map[string]any{"from": at(3)}, ids(e[0:4]...)},
		"to is exclusive":        {map[string]any{"to": at(3)}, ids(e[4:]...)},
		"from = to is empty":     {map[string]any{"from": at(3), "to": at(3)}, ids()},
		"from and to":            {map[string]any{"from": at(4), "to": at(1)}, ids(e[2:5]...)},
		"after the newest":       {map[string]any{"from": e[0].At.Add(time.Microsecond).Format(time.RFC3339Nano)}, ids()},
		"to the oldest's":        {map[string]any{"to": e[6].At.Add(time.Microsecond).Format(time.RFC3339Nano)}, ids(e[6])},
		"every filter at once":   {map[string]any{"action": "updateSegment", "objectId": s, "from": at(5), "to": at(1)}, ids(e[2:6]...)},
		"another object's range": {map[string]any{"objectId": other, "to": at(0)}, ids()},
	} {
		page := b.auditLog(t, p.Admin, map[string]any{"first": 100, "where": tc.where})
		require.Equal(t, tc.want, page.ids(), name)
		require.Equal(t, len(tc.want), page.TotalCount, name)
	}

	// Forward by 3: 3 + 3 + 1, the last page saying it is the last.
	var paged []string
	var after any
	for _, want := range []struct {
		n    int
		more bool
	}{{3, true}, {3, true}, {1, false}} {
		page := b.auditLog(t, p.Admin, map[string]any{"first": 3, "after": after})
		require.Len(t, page.Edges, want.n)
		require.Equal(t, want.more, page.PageInfo.HasNextPage)
		require.Equal(t, 7, page.TotalCount)
		paged = append(paged, page.ids()...)
		after = *page.PageInfo.EndCursor
	}
	require.Equal(t, ids(e...), paged)
	last := b.auditLog(t, p.Admin, map[string]any{"first": 3, "after": all.Edges[6].Cursor})
	require.Empty(t, last.Edges, "nothing after the oldest")
	require.False(t, last.PageInfo.HasNextPage)
	for first, more := range map[int]bool{6: true, 7: false, 8: false} {
		page := b.auditLog(t, p.Admin, map[string]any{"first": first})
		require.Equal(t, more, page.PageInfo.HasNextPage, "first %d", first)
		require.Equal(t, ids(e[:min(first, 7)]...), page.ids(), "first %d", first)
	}

	// Backward: the oldest two, then the two before them.
	oldest := b.auditLog(t, p.Admin, map[string]any{"last": 2})
	require.Equal(t, ids(e[5:]...), oldest.ids())
	require.True(t, oldest.PageInfo.HasPreviousPage)
	before := b.auditLog(t, p.Admin, map[string]any{"last": 2, "before": oldest.Edges[0].Cursor})
	require.Equal(t, ids(e[3:5]...), before.ids())
	newest := b.auditLog(t, p.Admin, map[string]any{"last": 2, "before": all.Edges[1].Cursor})
	require.Equal(t, ids(e[0]), newest.ids(), "only one entry is newer")
	require.False(t, newest.PageInfo.HasPreviousPage)

	// Filtered pages: the updates by 2.
	paged, after = nil, nil
	for _, want := range []struct {
		n    int
		more bool
	}{{2, true}, {2, true}, {1, false}} {
		page := b.auditLog(t, p.Admin, map[string]any{"first": 2, "after": after, "where": map[string]any{"action": "updateSegment"}})
		require.Len(t, page.Edges, want.n)
		require.Equal(t, want.more, page.PageInfo.HasNextPage)
		require.Equal(t, 5, page.TotalCount)
		paged = append(paged, page.ids()...)
		after = *page.PageInfo.EndCursor
	}
	require.Equal(t, ids(e[1:6]...), paged)
}

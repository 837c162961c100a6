package export_test

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent"
	entsegment "github.com/pulse-analytics/pulse/ent/segment"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/export"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/recompute"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// bundle is an export server over the package database and a project of
// the test's own.
type bundle struct {
	db      *sql.DB
	client  *ent.Client
	project *auth.NewProject
	keys    *auth.Keys
	server  *httptest.Server
}

// setup serves the exports of db (the package database unless given) with
// opts.
func setup(t testing.TB, db *sql.DB, opts export.Options) *bundle {
	t.Helper()
	if db == nil {
		db = pgtest.DB(t)
	}
	client := database.NewClient(db)
	project, err := auth.CreateProject(context.Background(), client, t.Name())
	require.NoError(t, err)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	keys := auth.NewKeys(client)
	server := httptest.NewServer(export.NewHandler(keys, export.New(db), opts))
	t.Cleanup(server.Close)
	return &bundle{db: db, client: client, project: project, keys: keys, server: server}
}

// cacheKeys turns on the key cache, as pulse serve does: after its first
// lookup a key costs no database connection.
func (b *bundle) cacheKeys(t testing.TB) {
	t.Helper()
	require.NoError(t, b.keys.Listen(context.Background(), auth.ListenConfig{DSN: pgtest.DSN(t)}))
	t.Cleanup(b.keys.Stop)
}

func (b *bundle) projectID() int { return b.project.Project.ID }

// user is a user to create: external id ("" for none) and traits as JSON.
type user struct {
	externalID string
	traits     string
}

// createUsers stores users directly and returns their ids in order.
func (b *bundle) createUsers(t testing.TB, users ...user) []int64 {
	t.Helper()
	ext := make([]sql.NullString, len(users))
	traits := make([]string, len(users))
	for i, u := range users {
		ext[i] = sql.NullString{String: u.externalID, Valid: u.externalID != ""}
		traits[i] = u.traits
		if traits[i] == "" {
			traits[i] = "{}"
		}
	}
	rows, err := b.db.Query(`INSERT INTO users (project_id, external_id, traits, created_at, updated_at)
		SELECT $1, e, t::jsonb, now(), now() FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS x(e, t, i) ORDER BY i
		RETURNING id`, b.projectID(), pq.Array(ext), pq.Array(traits))
	require.NoError(t, err)
	defer func() { _ = rows.Close() }()
	var ids []int64
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	require.Len(t, ids, len(users))
	return ids
}

// createManyUsers stores n users u1..un whose traits are about traitBytes
// long, in one statement, and returns their ids in order.
func (b *bundle) createManyUsers(t testing.TB, n, traitBytes int) []int64 {
	t.Helper()
	rows, err := b.db.Query(`INSERT INTO users (project_id, external_id, traits, created_at, updated_at)
		SELECT $1, 'u' || g, jsonb_build_object('plan', CASE WHEN g % 3 = 0 THEN 'pro' ELSE 'free' END,
			'n', g, 'note', repeat('x', $3) || ', "quoted"' || chr(10) || 'line'), now(), now()
		FROM generate_series(1, $2) g ORDER BY g RETURNING id`, b.projectID(), n, traitBytes)
	require.NoError(t, err)
	defer func() { _ = rows.Close() }()
	ids := make([]int64, 0, n)
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	return ids
}

// createSegment creates a STATIC segment named name.
func (b *bundle) createSegment(t testing.TB, name string) int {
	t.Helper()
	seg, err := b.client.Segment.Create().SetName(name).SetKind(entsegment.KindSTATIC).
		Save(tenant.ForProject(context.Background(), b.projectID()))
	require.NoError(t, err)
	return seg.ID
}

// addMembers makes users members of a STATIC segment, as one run, and
// returns the run's id.
func (b *bundle) addMembers(t testing.TB, segmentID int, userIDs []int64) int {
	t.Helper()
	runID, err := recompute.AddStaticUsers(context.Background(), b.db, b.projectID(), segmentID, userIDs)
	require.NoError(t, err)
	return runID
}

// change adds or removes users by external id, as one run.
func (b *bundle) change(t testing.TB, segmentID int, remove bool, externalIDs ...string) int {
	t.Helper()
	runID, err := recompute.ChangeStatic(context.Background(), b.db, b.projectID(), segmentID, externalIDs, remove)
	require.NoError(t, err)
	return runID
}

// reply is a response read whole.
type reply struct {
	StatusCode int
	Header     http.Header
	Body       string
}

// get sends GET path with a Bearer key ("" for none) and reads the answer.
func (b *bundle) get(t testing.TB, path, key string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.server.URL+path, nil)
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := b.server.Client().Do(req)
	require.NoError(t, err)
	defer func() { _ = res.Body.Close() }()
	return reply{StatusCode: res.StatusCode, Header: res.Header, Body: body(t, res)}
}

// readCSV gets a CSV export, which must answer 200, and parses it.
func (b *bundle) readCSV(t testing.TB, path string) [][]string {
	t.Helper()
	res := b.get(t, path, b.project.Read.Secret)
	if res.StatusCode != http.StatusOK {
		require.FailNow(t, "the export is refused", "%s: %d %s", path, res.StatusCode, res.Body)
	}
	require.Equal(t, "text/csv; charset=utf-8", res.Header.Get("Content-Type"))
	r := csv.NewReader(strings.NewReader(res.Body))
	r.FieldsPerRecord = 0 // every record as long as the header
	records, err := r.ReadAll()
	require.NoError(t, err)
	return records
}

// readNDJSON gets an NDJSON export, which must answer 200, and decodes
// each line.
func (b *bundle) readNDJSON(t testing.TB, path string) []map[string]any {
	t.Helper()
	res := b.get(t, path, b.project.Read.Secret)
	if res.StatusCode != http.StatusOK {
		require.FailNow(t, "the export is refused", "%s: %d %s", path, res.StatusCode, res.Body)
	}
	require.Equal(t, "application/x-ndjson", res.Header.Get("Content-Type"))
	raw := res.Body
	var lines []map[string]any
	for line := range strings.Lines(raw) {
		require.True(t, strings.HasSuffix(line, "\n"), "every line ends with a newline")
		var v map[string]any
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		require.NoError(t, dec.Decode(&v), line)
		lines = append(lines, v)
	}
	return lines
}

// apiError is the JSON body of a refused request.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// refused gets path with key, which must answer status with a JSON error.
func (b *bundle) refused(t testing.TB, path, key string, status int) apiError {
	t.Helper()
	res := b.get(t, path, key)
	raw := res.Body
	require.Equal(t, status, res.StatusCode, "%s: %s", path, raw)
	require.Equal(t, "application/json; charset=utf-8", res.Header.Get("Content-Type"))
	var e apiError
	require.NoError(t, json.Unmarshal([]byte(raw), &e), raw)
	require.NotEmpty(t, e.Error.Message)
	return e
}

func body(t testing.TB, res *http.Response) string {
	t.Helper()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(raw)
}

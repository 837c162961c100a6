package jobui_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/jobui"
	"github.com/pulse-analytics/pulse/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const operatorToken = "op-7c1e0d5f2b9a48e3a6d4"

type testBundle struct {
	server *httptest.Server
	keys   *auth.NewProject
}

// setup serves River's UI guarded by operatorToken over the package
// database, and creates a project whose keys must not open it.
func setup(t *testing.T) *testBundle {
	t.Helper()
	db := pgtest.DB(t)
	client, err := river.NewClient(riverdatabasesql.New(db), &river.Config{})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ui, err := jobui.New(ctx, client, operatorToken, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	server := httptest.NewServer(ui)
	t.Cleanup(server.Close)
	return &testBundle{server: server, keys: createProject(t, db)}
}

func createProject(t *testing.T, db *sql.DB) *auth.NewProject {
	t.Helper()
	created, err := auth.CreateProject(context.Background(), database.NewClient(db), "Tenant of "+t.Name())
	require.NoError(t, err)
	return created
}

// get requests the UI's queue list with authorize applied, and returns the
// status and body.
func (b *testBundle) get(t *testing.T, authorize func(*http.Request)) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.server.URL+jobui.Prefix+"/api/queues", nil)
	require.NoError(t, err)
	authorize(req)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	if res.StatusCode == http.StatusUnauthorized {
		require.Contains(t, res.Header.Get("WWW-Authenticate"), "Basic realm=", "a browser prompts for the token")
		require.Equal(t, "application/json", res.Header.Get("Content-Type"))
		require.Contains(t, string(body), "operator token")
	}
	return res.StatusCode, string(body)
}

func basic(user, password string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(user, password) }
}

func bearer(token string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

func TestOperatorTokenOpensTheUI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for name, authorize := range map[string]func(*http.Request){
		"Basic password":                    basic("", operatorToken),
		"Basic password with any user name": basic("ops", operatorToken),
		"Bearer":                            bearer(operatorToken),
	} {
		status, body := b.get(t, authorize)
		require.Equal(t, http.StatusOK, status, name)
		require.True(t, strings.HasPrefix(body, `{"data":`), "%s: River's queue list, got %s", name, body)
	}
}

func TestProjectKeysAndWrongTokensAreRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for name, authorize := range map[string]func(*http.Request){
		"nothing":                         func(*http.Request) {},
		"a project's ADMIN key as Basic":  basic("", b.keys.Admin.Secret),
		"a project's ADMIN key as user":   basic(b.keys.Admin.Secret, ""),
		"a project's ADMIN key as Bearer": bearer(b.keys.Admin.Secret),
		"a project's READ key":            bearer(b.keys.Read.Secret),
		"a wrong token":                   bearer(operatorToken[:len(operatorToken)-1] + "X"),
		"a prefix of the token":           bearer(operatorToken[:len(operatorToken)-1]),
		"the token as the user name":      basic(operatorToken, ""),
		"the token with a suffix":         basic("", operatorToken+"x"),
	} {
		status, _ := b.get(t, authorize)
		require.Equal(t, http.StatusUnauthorized, status, name)
	}
}

func TestWeakTokensAreRefused(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	client, err := river.NewClient(riverdatabasesql.New(db), &river.Config{})
	require.NoError(t, err)
	for _, token := range []string{"", "short", "pk_admin_0123456789abcdef", " " + operatorToken} {
		_, err := jobui.New(context.Background(), client, token, nil)
		require.ErrorIs(t, err, jobui.ErrWeakToken, "%q", token)
	}
	require.NoError(t, jobui.CheckToken(operatorToken))
}

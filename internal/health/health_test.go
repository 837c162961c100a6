package health_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/health"
	"github.com/pulse-analytics/pulse/internal/migrate"
	"github.com/pulse-analytics/pulse/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func probe(t *testing.T, h http.Handler) (int, map[string]string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	var body map[string]string
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	return rec.Code, body
}

func TestReady(t *testing.T) {
	t.Parallel()
	code, body := probe(t, health.Ready(pgtest.DB(t)))
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ready", body["status"])

	code, _ = probe(t, health.Live())
	require.Equal(t, http.StatusOK, code)
}

func TestNotReady(t *testing.T) {
	t.Parallel()
	t.Run("database unreachable", func(t *testing.T) {
		t.Parallel()
		db, err := sql.Open("postgres", "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
		require.NoError(t, err)
		defer db.Close()
		code, body := probe(t, health.Ready(db))
		require.Equal(t, http.StatusServiceUnavailable, code)
		require.Contains(t, body["error"], "database unreachable")
	})
	t.Run("migrations pending", func(t *testing.T) {
		t.Parallel()
		u, err := url.Parse(pgtest.DSN(t))
		require.NoError(t, err)
		u.Path += "_unmigrated"
		require.NoError(t, migrate.EnsureDatabase(context.Background(), u.String()))
		db, err := sql.Open("postgres", u.String())
		require.NoError(t, err)
		t.Cleanup(func() {
			_ = db.Close()
			_, _ = pgtest.DB(t).Exec("DROP DATABASE IF EXISTS " + strings.TrimPrefix(u.Path, "/") + " WITH (FORCE)")
		})
		code, body := probe(t, health.Ready(db))
		require.Equal(t, http.StatusServiceUnavailable, code)
		require.Regexp(t, `^\d+ migrations not applied$`, body["error"])
	})
}

package dashboard_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/dashboard"
)

var configRE = regexp.MustCompile(`<script id="pulse-config" type="application/json">(.*?)</script>`)

// pageConfig requests the page as from remoteAddr with headers and returns
// the configuration it embeds.
func pageConfig(t *testing.T, h http.Handler, remoteAddr string, headers map[string]string) map[string]any {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr = remoteAddr
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Header().Get("Content-Security-Policy"), "default-src 'self'")
	m := configRE.FindStringSubmatch(rec.Body.String())
	require.Len(t, m, 2, "the page embeds its configuration")
	var cfg map[string]any
	require.NoError(t, json.Unmarshal([]byte(m[1]), &cfg))
	return cfg
}

// TestSharedKeysIgnoreTheRequest checks that the page gets the shared keys
// or not by the options alone: no peer address or forwarding header (which
// a proxy on the same host makes whatever it likes) changes the answer.
func TestSharedKeysIgnoreTheRequest(t *testing.T) {
	t.Parallel()
	keys := &dashboard.Keys{Read: "pk_read_x", Admin: "pk_admin_</script><script>alert(1)"}
	shared, err := dashboard.New(dashboard.Options{Demo: true, SharedKeys: keys})
	require.NoError(t, err)
	asking, err := dashboard.New(dashboard.Options{Demo: true})
	require.NoError(t, err)

	for name, tc := range map[string]struct {
		addr    string
		headers map[string]string
	}{
		"this machine":         {addr: "127.0.0.1:5000"},
		"this machine over v6": {addr: "[::1]:5000"},
		"another machine":      {addr: "192.0.2.10:5000"},
		"X-Forwarded-For":      {addr: "127.0.0.1:5000", headers: map[string]string{"X-Forwarded-For": "192.0.2.10"}},
		"Forwarded":            {addr: "127.0.0.1:5000", headers: map[string]string{"Forwarded": "for=192.0.2.10"}},
		"True-Client-IP":       {addr: "127.0.0.1:5000", headers: map[string]string{"True-Client-IP": "192.0.2.10"}},
		"CF-Connecting-IP":     {addr: "127.0.0.1:5000", headers: map[string]string{"CF-Connecting-IP": "192.0.2.10"}},
		"Via":                  {addr: "127.0.0.1:5000", headers: map[string]string{"Via": "1.1 proxy"}},
		"an unparsable peer":   {addr: "somewhere"},
	} {
		cfg := pageConfig(t, shared, tc.addr, tc.headers)
		require.Equal(t, map[string]any{"read": keys.Read, "admin": keys.Admin}, cfg["keys"], "%s: escaped JSON survives the round trip", name)
		require.Equal(t, true, cfg["demo"], name)

		cfg = pageConfig(t, asking, tc.addr, tc.headers)
		require.Nil(t, cfg["keys"], name)
		require.Equal(t, true, cfg["demo"], "%s: the page says where the demo's keys are", name)
	}

	plain, err := dashboard.New(dashboard.Options{})
	require.NoError(t, err)
	cfg := pageConfig(t, plain, "127.0.0.1:5000", nil)
	require.Nil(t, cfg["keys"], "without the demo the page asks for a key")
	require.Equal(t, false, cfg["demo"])
	require.Equal(t, float64(86400), cfg["historyWindowSeconds"])
}

func TestAssetsAreEmbedded(t *testing.T) {
	t.Parallel()
	h, err := dashboard.New(dashboard.Options{})
	require.NoError(t, err)
	for path, contentType := range map[string]string{
		"/dashboard/app.js":      "text/javascript; charset=utf-8",
		"/dashboard/graphql.js":  "text/javascript; charset=utf-8",
		"/dashboard/charts.js":   "text/javascript; charset=utf-8",
		"/dashboard/webhooks.js": "text/javascript; charset=utf-8",
		"/dashboard/style.css":   "text/css; charset=utf-8",
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		require.Equal(t, http.StatusOK, rec.Code, path)
		require.Equal(t, contentType, rec.Header().Get("Content-Type"), path)
		require.NotZero(t, rec.Body.Len(), path)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/dashboard/nope.js", nil))
	require.Equal(t, http.StatusNotFound, rec.Code)
}

package graphiql_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/graphiql"
)

func get(t *testing.T, h http.Handler, path string, headers map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestPageLoadsOnlyItsOwnFiles checks that every script and stylesheet of
// the page is one Assets serves, by a path of this origin: nothing comes
// from a CDN.
func TestPageLoadsOnlyItsOwnFiles(t *testing.T) {
	t.Parallel()
	rec := get(t, graphiql.Page("/graphql"), "/graphql", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
	require.Contains(t, rec.Header().Get("Content-Security-Policy"), "default-src 'self'; script-src 'self';")
	page := rec.Body.String()
	require.Contains(t, page, `data-endpoint="/graphql"`)
	require.NotRegexp(t, `(src|href)="(https?:)?//`, page, "no file of another origin")

	links := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(page, -1)
	loaded := 0
	assets := graphiql.Assets()
	for _, m := range links {
		switch url := m[1]; url {
		case "/", "data:,": // the dashboard link and the empty icon
		default:
			require.Equal(t, http.StatusOK, get(t, assets, url, nil).Code, url)
			loaded++
		}
	}
	require.Equal(t, 6, loaded, "React, ReactDOM, GraphiQL's script and style, Pulse's script and style")
}

func TestPageEscapesTheEndpoint(t *testing.T) {
	t.Parallel()
	rec := get(t, graphiql.Page(`/g"><script>alert(1)</script>`), "/graphql", nil)
	require.NotContains(t, rec.Body.String(), "<script>alert(1)")
}

func TestAssetsAreEmbedded(t *testing.T) {
	t.Parallel()
	assets := graphiql.Assets()
	types := map[string]string{
		"react.production.min.js":     "text/javascript; charset=utf-8",
		"react-dom.production.min.js": "text/javascript; charset=utf-8",
		"graphiql.min.js":             "text/javascript; charset=utf-8",
		"graphiql.min.css":            "text/css; charset=utf-8",
		"pulse-graphiql.js":           "text/javascript; charset=utf-8",
		"pulse-graphiql.css":          "text/css; charset=utf-8",
		"LICENSES.txt":                "text/plain; charset=utf-8",
	}
	require.Len(t, graphiql.AssetNames, len(types))
	total := 0
	for _, name := range graphiql.AssetNames {
		rec := get(t, assets, graphiql.Prefix+name, nil)
		require.Equal(t, http.StatusOK, rec.Code, name)
		require.Equal(t, types[name], rec.Header().Get("Content-Type"), name)
		require.NotZero(t, rec.Body.Len(), name)
		total += rec.Body.Len()

		etag := rec.Header().Get("ETag")
		require.Regexp(t, `^"[0-9a-f]{24}"$`, etag, name)
		again := get(t, assets, graphiql.Prefix+name, map[string]string{"If-None-Match": etag})
		require.Equal(t, http.StatusNotModified, again.Code, "%s: a browser revalidates its copy", name)
		require.Zero(t, again.Body.Len())
	}
	require.Less(t, total, 2<<20, "minified production builds only")

	for _, path := range []string{graphiql.Prefix, graphiql.Prefix + "index.html", graphiql.Prefix + "nope.js", graphiql.Prefix + "../graphiql.go", "/elsewhere/graphiql.min.js"} {
		require.Equal(t, http.StatusNotFound, get(t, assets, path, nil).Code, path)
	}
	req := httptest.NewRequest(http.MethodPost, graphiql.Prefix+"graphiql.min.js", nil)
	rec := httptest.NewRecorder()
	assets.ServeHTTP(rec, req)
	require.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	require.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))
}

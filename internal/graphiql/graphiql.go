// Package graphiql serves GraphiQL, the in-browser GraphQL IDE, entirely
// from the binary: React, ReactDOM and GraphiQL's production bundles are
// embedded (versions and licenses in README.md), so the page works without
// internet and loads nothing from another origin. Like the dashboard, the
// page asks for an API key, keeps it in the tab's sessionStorage and sends
// it as "Authorization: Bearer" (and in connection_init for subscriptions).
package graphiql

import (
	"bytes"
	_ "embed" // the page's template
	"html/template"
	"net/http"
)

// Prefix is where Assets serves the page's files; mount Assets there.
const Prefix = "/graphiql/"

//go:embed static/index.html
var pageSource string

// page is the page's template, parsed once: it is part of the binary, so a
// parse error is a broken build, found by any test of the package.
var page = template.Must(template.New("graphiql").Parse(pageSource))

// Page returns the GraphiQL page for the GraphQL endpoint at the path
// endpoint (e.g. "/graphql"). Its files are served by Assets at Prefix.
func Page(endpoint string) http.Handler {
	data := struct{ Prefix, Endpoint string }{Prefix, endpoint}
	return withHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var html bytes.Buffer
		if err := page.Execute(&html, data); err != nil {
			http.Error(w, "graphiql page: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = html.WriteTo(w) // a failed write is the client's disconnect
	}))
}

// withHeaders sets a Content-Security-Policy that keeps the page on its own
// origin: scripts, styles and connections go nowhere else. GraphiQL sets
// inline styles, and its fonts are data: URLs.
func withHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "+
			"font-src 'self' data:; img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

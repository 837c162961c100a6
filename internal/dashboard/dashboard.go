// Package dashboard serves Pulse's live dashboard: plain HTML, CSS and
// JavaScript embedded in the binary (no CDN, no build step). The page talks
// to /graphql like any client: queries for the segment tiles and charts, a
// graphql-transport-ws subscription to segmentsChanged for the live feed,
// a CSV export of each segment's members (GET /v1/segments/{id}/members.csv),
// and recomputeSegment with an ADMIN key.
package dashboard

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Keys are API keys the page may use without asking: only the demo sets them.
type Keys struct {
	Read  string `json:"read"`
	Admin string `json:"admin"`
}

// Options configure the dashboard.
type Options struct {
	// Demo marks the page as the demo's: it tells a visitor asked for a
	// key where the demo prints its keys.
	Demo bool
	// SharedKeys, when set, are handed to every page, so the demo needs no
	// typing. Who may see them is decided by where the server listens
	// (see cmd/pulse), never by the request: peer addresses and forwarding
	// headers are what a proxy makes them. Without SharedKeys every
	// visitor is asked for a key.
	SharedKeys *Keys
	// HistoryWindowSeconds is how far back the size sparklines reach
	// (default a day; the demo, recomputing every few seconds, uses less).
	HistoryWindowSeconds int
}

// pageConfig is what the page reads from its #pulse-config element.
type pageConfig struct {
	Demo                 bool  `json:"demo"`
	Keys                 *Keys `json:"keys,omitempty"`
	HistoryWindowSeconds int   `json:"historyWindowSeconds"`
}

// configMarker is replaced in index.html by the page's JSON configuration.
const configMarker = "{{PULSE_CONFIG}}"

// New returns the dashboard: the page at "/" and its files under
// /dashboard/. Mount it at both.
func New(opts Options) (http.Handler, error) {
	if opts.HistoryWindowSeconds == 0 {
		opts.HistoryWindowSeconds = 24 * 60 * 60
	}
	files, err := fs.Sub(static, "static")
	if err != nil {
		return nil, fmt.Errorf("dashboard files: %w", err)
	}
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		return nil, fmt.Errorf("dashboard page: %w", err)
	}
	if !bytes.Contains(index, []byte(configMarker)) {
		return nil, fmt.Errorf("dashboard page: no %s marker", configMarker)
	}
	assets := http.StripPrefix("/dashboard/", http.FileServerFS(files))
	mux := http.NewServeMux()
	mux.Handle("GET /dashboard/", withHeaders(assets))
	mux.Handle("GET /{$}", withHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cfg := pageConfig{Demo: opts.Demo, Keys: opts.SharedKeys, HistoryWindowSeconds: opts.HistoryWindowSeconds}
		// json.Marshal escapes <, > and &, so the JSON cannot end the
		// script element it is placed in.
		raw, err := json.Marshal(cfg)
		if err != nil {
			http.Error(w, "dashboard configuration", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(bytes.Replace(index, []byte(configMarker), raw, 1))
	})))
	return mux, nil
}

// withHeaders sets a strict Content-Security-Policy: the page loads only
// its own files and talks only to its own origin.
func withHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

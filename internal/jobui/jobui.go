// Package jobui mounts River's web UI (riverqueue.com/riverui), where
// operators watch, retry and cancel the recompute jobs, behind an ADMIN key.
package jobui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/riverqueue/river"
	"riverqueue.com/riverui"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// Prefix is where the UI is mounted.
const Prefix = "/riverui"

// New returns River's UI and its JSON API under Prefix, for requests that
// carry an ADMIN key, and starts the UI's background services until ctx
// ends. A browser is asked for the key with HTTP Basic authentication (the
// key as the password; the user name is ignored); API clients may send
// "Authorization: Bearer <key>".
//
// River's tables are shared by every project of the database, so the UI
// shows the jobs of all projects: it is an operator's tool.
func New[TTx any](ctx context.Context, client *river.Client[TTx], keys *auth.Keys, logger *slog.Logger) (http.Handler, error) {
	ui, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(client, nil),
		Logger:    logger,
		Prefix:    Prefix,
		// Job args carry project and segment ids only, but an operator
		// browsing across projects should opt in to seeing them.
		JobListHideArgsByDefault: true,
	})
	if err != nil {
		return nil, fmt.Errorf("river ui: %w", err)
	}
	if err := ui.Start(ctx); err != nil {
		return nil, fmt.Errorf("start river ui: %w", err)
	}
	return requireAdmin(keys, ui), nil
}

// requireAdmin lets through requests with an ADMIN key and answers the
// others with 401 and a Basic challenge, so a browser prompts for the key.
func requireAdmin(keys *auth.Keys, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret := keyOf(r)
		scope, err := keys.Authenticate(r.Context(), secret)
		switch {
		case err == nil && scope.Role.Allows(tenant.RoleAdmin):
			next.ServeHTTP(w, r)
		case err == nil:
			http.Error(w, "River's UI needs an ADMIN key; this is a "+string(scope.Role)+" key", http.StatusForbidden)
		case errors.Is(err, auth.ErrUnauthenticated):
			w.Header().Set("WWW-Authenticate", `Basic realm="Pulse jobs: an ADMIN key as the password", charset="UTF-8"`)
			http.Error(w, "River's UI needs an ADMIN key (Basic auth password or Bearer token)", http.StatusUnauthorized)
		default:
			http.Error(w, "could not check the API key", http.StatusInternalServerError)
		}
	})
}

// keyOf reads the key from "Bearer <key>" or from Basic auth, where it may
// be the password (what the prompt asks for) or the user name (as Segment's
// write key convention has it).
func keyOf(r *http.Request) string {
	if bearer, ok := auth.BearerToken(r.Header.Get("Authorization")); ok {
		return bearer
	}
	user, password, ok := r.BasicAuth()
	if !ok {
		return ""
	}
	if password != "" {
		return password
	}
	return strings.TrimSpace(user)
}

// Package jobui mounts River's web UI (riverqueue.com/riverui), where an
// operator watches, retries and cancels the jobs of every project, behind an
// operator token that is not any project's API key.
package jobui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/riverqueue/river"
	"riverqueue.com/riverui"
)

// Prefix is where the UI is mounted.
const Prefix = "/riverui"

// New returns River's UI and its JSON API under Prefix, for requests that
// carry token, and starts the UI's background services until ctx ends. A
// browser is asked for the token with HTTP Basic authentication (the token
// as the password; the user name is ignored); API clients may send
// "Authorization: Bearer <token>". The token must pass CheckToken.
//
// River's tables are shared by every project of the database, so the UI
// shows and changes the jobs of all projects: it is an operator's tool, and
// no project's key, not even an ADMIN one, opens it.
func New[TTx any](ctx context.Context, client *river.Client[TTx], token string, logger *slog.Logger) (http.Handler, error) {
	if err := CheckToken(token); err != nil {
		return nil, err
	}
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
	return requireToken(token, ui), nil
}

// ErrWeakToken is returned by CheckToken for a token too short to resist
// guessing or one that looks like a project's API key.
var ErrWeakToken = errors.New("weak operator token")

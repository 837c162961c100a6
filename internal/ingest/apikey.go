package ingest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/httplog"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// requestKey is the API key of a request: the HTTP Basic-auth user (the
// Segment convention; SDKs that encode the key without the colon are
// accepted too), else the key found in the body, else a Bearer token.
func requestKey(r *http.Request, bodyKey string) string {
	if user := basicAuthUser(r); user != "" {
		return user
	}
	if bodyKey != "" {
		return bodyKey
	}
	if token, ok := auth.BearerToken(strings.TrimSpace(r.Header.Get("Authorization"))); ok {
		return token
	}
	return ""
}

// basicAuthUser is the user of the request's HTTP Basic authorization, ""
// when it has none.
func basicAuthUser(r *http.Request) string {
	scheme, value, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !strings.EqualFold(scheme, "Basic") {
		return ""
	}
	decoded, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
	if err != nil {
		return ""
	}
	user, _, _ := strings.Cut(string(decoded), ":")
	return user
}

// authenticate scopes ctx to the project of key, which must allow INGEST.
func (h *handler) authenticate(ctx context.Context, key, howToSend string) (context.Context, *apiError) {
	if key == "" {
		return nil, &apiError{http.StatusUnauthorized, "UNAUTHENTICATED", "no API key: " + howToSend}
	}
	scope, err := h.keys.Authenticate(ctx, key)
	return h.judge(ctx, scope, err)
}

// judge turns the outcome of a key lookup into the request's scope.
func (h *handler) judge(ctx context.Context, scope tenant.Scope, err error) (context.Context, *apiError) {
	switch {
	case errors.Is(err, auth.ErrUnauthenticated):
		return nil, &apiError{http.StatusUnauthorized, "UNAUTHENTICATED", "unknown or revoked API key"}
	case err != nil:
		httplog.Logger(ctx, h.logger).Error("authenticate ingest key", "error", err)
		return nil, &apiError{http.StatusInternalServerError, "INTERNAL", "internal error; retry later"}
	case !scope.Role.Allows(tenant.RoleIngest):
		return nil, &apiError{http.StatusForbidden, "FORBIDDEN", fmt.Sprintf("a %s key cannot ingest", scope.Role)}
	}
	return tenant.NewContext(ctx, scope), nil
}

// earlyLookup is the lookup of a request's Basic-auth key, started before
// its body is parsed: the key is a database lookup, and SDKs send it in the
// header, so the lookup and the parsing overlap instead of adding up. A
// Basic-auth key is the request's key whatever the body says (requestKey);
// its outcome is only judged after the body parsed, so a malformed body is
// still answered 400 first.
type earlyLookup struct {
	done  chan struct{}
	scope tenant.Scope
	err   error
}

// lookUpEarly starts looking up r's Basic-auth key; nil when r has none.
func (h *handler) lookUpEarly(r *http.Request) *earlyLookup {
	key := basicAuthUser(r)
	if key == "" {
		return nil
	}
	early := &earlyLookup{done: make(chan struct{})}
	go func() {
		defer close(early.done)
		early.scope, early.err = h.keys.Authenticate(r.Context(), key)
	}()
	return early
}

// authenticateKey scopes r's context to the project of key, using the
// early lookup when there was one: a Basic-auth key is the request's key.
func (h *handler) authenticateKey(r *http.Request, early *earlyLookup, key, howToSend string) (context.Context, *apiError) {
	if early == nil {
		return h.authenticate(r.Context(), key, howToSend)
	}
	<-early.done
	return h.judge(r.Context(), early.scope, early.err)
}

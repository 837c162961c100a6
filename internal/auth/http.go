package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/pulse-analytics/pulse/internal/tenant"
)

// BearerToken returns the key of an "Authorization: Bearer <key>" header.
func BearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// Middleware authenticates a Bearer key and puts its scope into the request
// context. A request without a key passes unscoped (fields then answer
// UNAUTHENTICATED one by one); a key that is unknown or revoked is refused
// with reject, so a typo in a key never looks like an empty project.
func (k *Keys) Middleware(reject func(w http.ResponseWriter, r *http.Request, err error)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			header := r.Header.Get("Authorization")
			if header == "" {
				next.ServeHTTP(w, r)
				return
			}
			secret, ok := BearerToken(header)
			if !ok {
				reject(w, r, fmt.Errorf("%w: the Authorization header must be \"Bearer <key>\"", ErrUnauthenticated))
				return
			}
			ctx, err := k.Scope(r.Context(), secret)
			if err != nil {
				reject(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// Scope returns ctx scoped to the project and role of secret.
func (k *Keys) Scope(ctx context.Context, secret string) (context.Context, error) {
	s, err := k.Authenticate(ctx, secret)
	if errors.Is(err, ErrUnauthenticated) {
		return nil, fmt.Errorf("%w: unknown or revoked API key", ErrUnauthenticated)
	}
	if err != nil {
		return nil, err
	}
	return tenant.NewContext(ctx, s), nil
}

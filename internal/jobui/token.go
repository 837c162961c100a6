package jobui

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"

	"github.com/pulse-analytics/pulse/internal/auth"
)

// MinTokenLength is the shortest operator token accepted: 16 random
// characters are out of reach of online guessing.
const MinTokenLength = 16

// CheckToken reports whether token may guard the UI: long enough, and not
// shaped like a project's API key (pk_...), so an operator cannot make a
// tenant's key the operator's by mistake.
func CheckToken(token string) error {
	switch {
	case len(token) < MinTokenLength:
		return fmt.Errorf("%w: it has %d characters, at least %d are needed (e.g. openssl rand -hex 32)", ErrWeakToken, len(token), MinTokenLength)
	case strings.HasPrefix(token, "pk_"):
		return fmt.Errorf("%w: it looks like a project's API key (pk_...); choose a secret of its own", ErrWeakToken)
	case strings.TrimSpace(token) != token:
		return fmt.Errorf("%w: it starts or ends with white space", ErrWeakToken)
	}
	return nil
}

// requireToken lets through requests carrying token and answers the others
// with 401 and a Basic challenge, so a browser prompts for it.
func requireToken(token string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Hashing first makes the comparison constant-time in the
		// length of the guess as well as its content.
		got := sha256.Sum256([]byte(credentialOf(r)))
		if subtle.ConstantTimeCompare(got[:], want[:]) == 1 {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="Pulse jobs: the operator token as the password", charset="UTF-8"`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"River's UI needs the operator token (--operator-token) as a Basic auth password or a Bearer token; project API keys do not open it"}` + "\n"))
	})
}

// credentialOf reads "Bearer <token>" or the Basic auth password.
func credentialOf(r *http.Request) string {
	if bearer, ok := auth.BearerToken(r.Header.Get("Authorization")); ok {
		return bearer
	}
	if _, password, ok := r.BasicAuth(); ok {
		return password
	}
	return ""
}

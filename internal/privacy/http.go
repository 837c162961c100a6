package privacy

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/httplog"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// ExportPattern is the route of access requests: GET with the user's
// external id, authenticated by an ADMIN key as "Authorization: Bearer".
const ExportPattern = "GET /v1/users/{externalId}/export"

// ExportWriteTimeout is how long a client may take no bytes of an export
// before it is cut off: a stalled reader must not hold a connection and a
// snapshot forever.
const ExportWriteTimeout = time.Minute

// ExportHandler serves ExportPattern: 200 with the document of Export,
// streamed; 401 without a valid key, 403 for a key that is not ADMIN, 404
// for an external id no user of the key's project has (another project's
// user included). Errors are JSON like the ingestion API's:
// {"error": {"code", "message"}}.
func ExportHandler(keys *auth.Keys, exporter *Exporter, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, ok := auth.BearerToken(r.Header.Get("Authorization"))
		if !ok {
			writeError(w, http.StatusUnauthorized, "UNAUTHENTICATED", `send an ADMIN key as "Authorization: Bearer <key>"`)
			return
		}
		ctx, err := keys.Scope(r.Context(), secret)
		if err != nil {
			writeError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "unknown or revoked API key")
			return
		}
		if scope, _ := tenant.FromContext(ctx); !scope.Role.Allows(tenant.RoleAdmin) {
			writeError(w, http.StatusForbidden, "FORBIDDEN", "exporting a user needs an ADMIN key")
			return
		}
		rc := http.NewResponseController(w)
		// A deadline set on the connection outlives the request: the next
		// request of a kept-alive connection must not inherit it.
		defer func() { _ = rc.SetWriteDeadline(time.Time{}) }()
		out := &startedWriter{w: w, rc: rc}
		err = exporter.Export(ctx, out, r.PathValue("externalId"))
		switch {
		case err == nil:
		case errors.Is(err, ErrNoUser):
			writeError(w, http.StatusNotFound, "NOT_FOUND", "no user with this external id in the key's project")
		case out.started:
			// The status and part of the document are sent: cut the
			// response short, so the client sees a failure rather than a
			// document that looks complete.
			httplog.Logger(ctx, logger).ErrorContext(ctx, "export user", "error", err)
			panic(http.ErrAbortHandler)
		default:
			httplog.Logger(ctx, logger).ErrorContext(ctx, "export user", "error", err)
			writeError(w, http.StatusInternalServerError, "INTERNAL", "the export failed; retry later")
		}
	})
}

// startedWriter sets the export's headers before its first byte, gives
// every write ExportWriteTimeout to complete, and says whether anything
// was written.
type startedWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	started bool
}

func (s *startedWriter) Write(p []byte) (int, error) {
	if !s.started {
		s.started = true
		h := s.w.Header()
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="pulse-user-export.json"`)
		// Personal data: no shared cache keeps a copy.
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
	}
	// A writer without deadlines (a test's recorder) writes without one.
	_ = s.rc.SetWriteDeadline(time.Now().Add(ExportWriteTimeout))
	return s.w.Write(p)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	type body struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]body{"error": {Code: code, Message: message}})
}

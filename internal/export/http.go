package export

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/segment"
	"github.com/pulse-analytics/pulse/ent/segmentrun"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/httplog"
	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// Patterns are the paths the handler serves, for the server's mux.
var Patterns = []string{
	"/v1/segments/{id}/members.csv",
	"/v1/segments/{id}/members.ndjson",
	"/v1/runs/{id}/changes.csv",
	"/v1/runs/{id}/changes.ndjson",
}

// DefaultMaxConcurrent is how many exports a process writes at once unless
// Options say otherwise.
const DefaultMaxConcurrent = 4

// DefaultWriteTimeout is how long a client may take no bytes before its
// export is cut off, unless Options say otherwise.
const DefaultWriteTimeout = time.Minute

// Options configure the handler.
type Options struct {
	Logger *slog.Logger
	// MaxConcurrent bounds the exports written at once: each holds a
	// database connection and a snapshot for as long as its client reads.
	// Requests beyond it are answered 503 with Retry-After.
	MaxConcurrent int
	// WriteTimeout cuts off a client that takes no bytes for that long, so
	// a stalled reader cannot hold a connection and a snapshot forever.
	WriteTimeout time.Duration
}

// NewHandler serves the exports at Patterns to READ keys, sent as
// "Authorization: Bearer <key>":
//
//   - GET /v1/segments/{id}/members.csv and .ndjson: the segment's members
//     now, or at ?at=<RFC 3339>; ?traits=plan,country picks the traits;
//   - GET /v1/runs/{id}/changes.csv and .ndjson: the users a run entered
//     and exited.
//
// A request refused whole is a 4xx with a JSON body {"error": {"code",
// "message", "field"}}, sent before any of the file.
func NewHandler(keys *auth.Keys, exporter *Exporter, opts Options) http.Handler {
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = DefaultMaxConcurrent
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handler{keys: keys, exporter: exporter, opts: opts, slots: make(chan struct{}, opts.MaxConcurrent)}
	mux := http.NewServeMux()
	mux.Handle(Patterns[0], h.endpoint(membersOf, CSV))
	mux.Handle(Patterns[1], h.endpoint(membersOf, NDJSON))
	mux.Handle(Patterns[2], h.endpoint(changesOf, CSV))
	mux.Handle(Patterns[3], h.endpoint(changesOf, NDJSON))
	return mux
}

type handler struct {
	keys     *auth.Keys
	exporter *Exporter
	opts     Options
	// slots holds a token per export being written.
	slots chan struct{}
}

// subject is what an endpoint exports.
type subject int

const (
	membersOf subject = iota
	changesOf
)

// contentTypes are the media types of the formats.
var contentTypes = map[Format]string{CSV: "text/csv; charset=utf-8", NDJSON: "application/x-ndjson"}

func (h *handler) endpoint(of subject, format Format) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, &apiError{http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "", r.Method + " is not allowed here; send a GET"})
			return
		}
		scope, apiErr := h.authenticate(r)
		if apiErr != nil {
			writeError(w, apiErr)
			return
		}
		req, err := parseRequest(r, of, format)
		if err != nil {
			writeError(w, h.refusal(r.Context(), err))
			return
		}
		req.ProjectID = scope.ProjectID
		select {
		case h.slots <- struct{}{}:
		default:
			w.Header().Set("Retry-After", "5")
			writeError(w, &apiError{http.StatusServiceUnavailable, "UNAVAILABLE", "",
				fmt.Sprintf("this server is writing %d exports, as many as it writes at once; retry in a few seconds", cap(h.slots))})
			return
		}
		release := sync.OnceFunc(func() { <-h.slots })
		defer release()
		err = h.serve(w, r, req)
		// Released before the outcome is told: whoever hears of it may
		// export next.
		release()
		h.finish(r, err)
	})
}

// errClientGone wraps the error of an export its client stopped reading.
var errClientGone = errors.New("the client stopped reading")

// serve opens the export and writes it. It returns the error of a write
// begun: the response is sent, so it can only be logged and the response
// aborted.
func (h *handler) serve(w http.ResponseWriter, r *http.Request, req Request) error {
	ctx := r.Context()
	x, err := h.exporter.Open(ctx, req)
	if err != nil {
		writeError(w, h.refusal(ctx, err))
		return nil
	}
	defer func() {
		if err := x.Close(); err != nil {
			httplog.Logger(ctx, h.opts.Logger).Error("close export", "error", err)
		}
	}()
	header := w.Header()
	header.Set("Content-Type", contentTypes[req.Format])
	header.Set("Content-Disposition", ContentDisposition(x.Name(), string(req.Format)))
	// Members are personal data: no shared cache keeps a copy.
	header.Set("Cache-Control", "no-store")
	header.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	rc := http.NewResponseController(w)
	// A deadline set on the connection outlives the request: the next
	// request of a kept-alive connection must not inherit it.
	defer func() { _ = rc.SetWriteDeadline(time.Time{}) }()
	out := &deadlineWriter{w: w, rc: rc, timeout: h.opts.WriteTimeout}
	_, err = x.Write(ctx, out)
	if err != nil && (out.err != nil || ctx.Err() != nil) {
		return fmt.Errorf("%w: %w", errClientGone, err)
	}
	return err
}

// finish reports how a written export ended.
func (h *handler) finish(r *http.Request, err error) {
	logger := httplog.Logger(r.Context(), h.opts.Logger)
	switch {
	case err == nil:
	case errors.Is(err, errClientGone):
		logger.Info("export cut short by its client", "error", err)
	default:
		logger.Error("write export", "error", err)
		// The status is sent: only a connection closed before the
		// response's end tells the client its file is incomplete.
		panic(http.ErrAbortHandler)
	}
}

// authenticate returns the scope of the request's Bearer key, which must
// allow READ.
func (h *handler) authenticate(r *http.Request) (tenant.Scope, *apiError) {
	header := r.Header.Get("Authorization")
	secret, ok := auth.BearerToken(header)
	if !ok {
		msg := "no API key: send a READ key as \"Authorization: Bearer <key>\""
		if header != "" {
			msg = "the Authorization header must be \"Bearer <key>\""
		}
		return tenant.Scope{}, &apiError{http.StatusUnauthorized, "UNAUTHENTICATED", "", msg}
	}
	scope, err := h.keys.Authenticate(r.Context(), secret)
	switch {
	case errors.Is(err, auth.ErrUnauthenticated):
		return scope, &apiError{http.StatusUnauthorized, "UNAUTHENTICATED", "", "unknown or revoked API key"}
	case err != nil:
		httplog.Logger(r.Context(), h.opts.Logger).Error("authenticate export key", "error", err)
		return scope, &apiError{http.StatusInternalServerError, "INTERNAL", "", "internal error; retry later"}
	case !scope.Role.Allows(tenant.RoleRead):
		return scope, &apiError{http.StatusForbidden, "FORBIDDEN", "", fmt.Sprintf("needs a READ key, this is a %s key", scope.Role)}
	}
	return scope, nil
}

// refusal maps an error of parsing or opening to its answer.
func (h *handler) refusal(ctx context.Context, err error) *apiError {
	var bad *invalid.Error
	switch {
	case errors.Is(err, invalid.ErrNotFound) && errors.As(err, &bad):
		return &apiError{http.StatusNotFound, "NOT_FOUND", "", bad.Message}
	case errors.As(err, &bad):
		return &apiError{http.StatusBadRequest, "BAD_USER_INPUT", bad.Field, bad.Error()}
	case errors.Is(err, ErrRunNotCompleted):
		return &apiError{http.StatusConflict, "CONFLICT", "", err.Error()}
	case ctx.Err() != nil:
		// The client went away; nobody reads this.
		return &apiError{http.StatusServiceUnavailable, "UNAVAILABLE", "", "the request ended"}
	}
	httplog.Logger(ctx, h.opts.Logger).Error("open export", "error", err)
	return &apiError{http.StatusInternalServerError, "INTERNAL", "", "internal error; retry later"}
}

// idOf reads the {id} of the path: the decimal global id of a row of table.
func idOf(r *http.Request, table, what string) (int, error) {
	raw := r.PathValue("id")
	id, err := strconv.Atoi(raw)
	if err != nil || id <= 0 || strconv.Itoa(id) != raw {
		return 0, invalid.Field("id", "an id is a number as the API returns it, such as \"17179869185\"; got %q", raw)
	}
	if t, ok := ent.TableOfID(id); !ok || t != table {
		return 0, &invalid.Error{Field: "id", Message: fmt.Sprintf("%s %d not found", what, id), Err: invalid.ErrNotFound}
	}
	return id, nil
}

// tables are the tables whose ids the paths take.
var tables = map[subject]struct{ table, what string }{
	membersOf: {segment.Table, "segment"},
	changesOf: {segmentrun.Table, "run"},
}

// apiError is a refusal of a request, sent as a JSON body.
type apiError struct {
	status  int
	code    string
	field   string
	message string
}

func writeError(w http.ResponseWriter, e *apiError) {
	type body struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="pulse"`)
	}
	w.WriteHeader(e.status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // messages say <key>, and no page renders them
	_ = enc.Encode(map[string]body{"error": {Code: e.code, Message: e.message, Field: e.field}})
}

// deadlineWriter gives every write to the client timeout to complete, and
// remembers a write that failed: the client is gone or stalled.
type deadlineWriter struct {
	w       io.Writer
	rc      *http.ResponseController
	timeout time.Duration
	err     error
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	// A writer without deadlines (a test's recorder) writes without one.
	_ = d.rc.SetWriteDeadline(time.Now().Add(d.timeout))
	n, err := d.w.Write(p)
	if err != nil {
		d.err = err
	}
	return n, err
}

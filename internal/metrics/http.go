package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/pulse-analytics/pulse/internal/httplog"
)

// Middleware counts and times the requests of mux by the pattern that
// matched them ("/graphql", "GET /healthz", "/v1/{call}"), never by the raw
// path, so the label set stays bounded. It must wrap the ServeMux directly:
// the mux records the matched pattern on the request it is given.
func (m *Metrics) Middleware(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := httplog.NewStatusRecorder(w)
		mux.ServeHTTP(rec, r)
		handler := r.Pattern
		if handler == "" {
			handler = "unmatched"
		}
		m.httpRequests.WithLabelValues(handler, r.Method, strconv.Itoa(rec.Status)).Inc()
		if rec.Status != http.StatusSwitchingProtocols {
			m.httpDuration.WithLabelValues(handler, r.Method).Observe(time.Since(start).Seconds())
		}
	})
}

package main

import (
	"context"
	"database/sql"
	"github.com/pulse-analytics/pulse/internal/discovery"
	"log/slog"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
	"github.com/riverqueue/river"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/jobui"
	"github.com/pulse-analytics/pulse/internal/live"
	"github.com/pulse-analytics/pulse/internal/metrics"
	"github.com/pulse-analytics/pulse/internal/retention"
)

// webOptions are the optional parts of the HTTP surface beyond the API:
// metrics, River's UI and the dashboard. The zero value serves none of them
// (the benchmarks' server).
type webOptions struct {
	// live serves subscriptions; nil refuses them.
	live      *live.Hub
	metrics   *metrics.Metrics // /metrics and the instrumentation; nil: none
	jobsUI    http.Handler     // /riverui/; nil: not mounted
	dashboard http.Handler     // /; nil: not mounted
	// graphqlDB is the pool of GraphQL resolvers other than ingestion's;
	// nil: the main pool.
	graphqlDB *sql.DB
	// keys authenticates every API; nil: uncached keys over the main pool.
	keys *auth.Keys
	// discovery queues segment discoveries; nil refuses them.
	discovery *discovery.Enqueuer
	// retention queues the deletion of expired data; nil refuses changes
	// of a project's retention.
	retention *retention.Enqueuer
}

// newJobsUI returns River's UI over jobs for the operator token, or nil
// (not mounted) without a token.
func newJobsUI(ctx context.Context, jobs *river.Client[*sql.Tx], operatorToken string, logger *slog.Logger) (http.Handler, error) {
	if operatorToken == "" {
		return nil, nil
	}
	return jobui.New(ctx, jobs, operatorToken, logger)
}

// sink wraps an ingestion sink so its messages are counted.
func (w webOptions) sink(s ingest.Sink) ingest.Sink {
	if w.metrics == nil {
		return s
	}
	return w.metrics.CountIngest(s)
}

// onSuppressed counts the feedback and survey responses dropped for a
// suppressed id, when there are metrics.
func (w webOptions) onSuppressed() func(source string) {
	if w.metrics == nil {
		return nil
	}
	return w.metrics.CountSuppressed
}

// graphqlExtensions are the gqlgen extensions the options ask for.
func (w webOptions) graphqlExtensions() []graphql.HandlerExtension {
	if w.metrics == nil {
		return nil
	}
	return []graphql.HandlerExtension{w.metrics.GraphQL()}
}

// mount adds the options' endpoints to mux.
func (w webOptions) mount(mux *http.ServeMux) {
	if w.metrics != nil {
		mux.Handle("GET /metrics", w.metrics.Handler())
	}
	if w.jobsUI != nil {
		mux.Handle(jobui.Prefix+"/", w.jobsUI)
		mux.Handle(jobui.Prefix, http.RedirectHandler(jobui.Prefix+"/", http.StatusMovedPermanently))
	}
	if w.dashboard != nil {
		mux.Handle("/{$}", w.dashboard)
		mux.Handle("/dashboard/", w.dashboard)
	}
}

// instrument wraps mux with the HTTP metrics, when there are metrics.
func (w webOptions) instrument(mux *http.ServeMux) http.Handler {
	if w.metrics == nil {
		return mux
	}
	return w.metrics.Middleware(mux)
}

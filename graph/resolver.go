// Package graph is the GraphQL layer of Pulse: gqlgen's generated executor
// (generated/), thin resolvers that translate GraphQL to calls into
// internal/, the @hasRole directive, the error presenter and the HTTP
// handler with its transports and limits.
package graph

import (
	"database/sql"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/internal/analytics"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/discovery"
	"github.com/pulse-analytics/pulse/internal/feedback"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/live"
	"github.com/pulse-analytics/pulse/internal/privacy"
	"github.com/pulse-analytics/pulse/internal/project"
	"github.com/pulse-analytics/pulse/internal/recompute"
	"github.com/pulse-analytics/pulse/internal/segment"
	"github.com/pulse-analytics/pulse/internal/survey"
	"github.com/pulse-analytics/pulse/internal/webhook"
)

// Resolver holds the services the resolvers call. Build it with NewResolver.
type Resolver struct {
	db        *sql.DB
	client    *ent.Client
	keys      *auth.Keys
	segments  *segment.Store
	surveys   *survey.Store
	feedback  *feedback.Store
	ingest    ingest.Sink
	previewer *segment.Previewer
	recompute *recompute.Enqueuer
	live      *live.Hub
	renders   *renderer
	analytics *analytics.Service
	discovery *discovery.Enqueuer
	webhooks  *webhook.Store
	eraser    *privacy.Eraser
	projects  *project.Updater
	// onSuppressed counts a feedback or survey response dropped because
	// its user's id is suppressed (source "feedback" or "survey").
	onSuppressed func(source string)
}

// NewResolver returns the root resolver over db and its ent client.
func NewResolver(db *sql.DB, client *ent.Client) *Resolver {
	return &Resolver{
		db:        db,
		ingest:    ingest.NewWriter(db),
		previewer: segment.NewPreviewer(db, client),
		client:    client,
		keys:      auth.NewKeys(client),
		segments:  segment.NewStore(client),
		surveys:   survey.NewStore(client),
		feedback:  feedback.NewStore(client),
		analytics: analytics.New(db, client),
		webhooks:  webhook.NewStore(db, client, webhook.StoreOptions{}),
		eraser:    privacy.NewEraser(db),
		projects:  project.NewUpdater(db, nil),
	}
}

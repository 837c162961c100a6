// Package graph is the GraphQL layer of Pulse: gqlgen's generated executor
// (generated/), thin resolvers that translate GraphQL to calls into
// internal/, the @hasRole directive, the error presenter and the HTTP
// handler with its transports and limits.
package graph

import (
	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/feedback"
	"github.com/pulse-analytics/pulse/internal/segment"
	"github.com/pulse-analytics/pulse/internal/survey"
)

// Resolver holds the services the resolvers call. Build it with NewResolver.
type Resolver struct {
	client   *ent.Client
	keys     *auth.Keys
	segments *segment.Store
	surveys  *survey.Store
	feedback *feedback.Store
}

// NewResolver returns the root resolver over client.
func NewResolver(client *ent.Client) *Resolver {
	return &Resolver{
		client:   client,
		keys:     auth.NewKeys(client),
		segments: segment.NewStore(client),
		surveys:  survey.NewStore(client),
		feedback: feedback.NewStore(client),
	}
}

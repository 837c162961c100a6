package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/graph/generated"
)

// newExecutableSchema is gqlgen's executable schema over resolver, with
// Pulse's directives, computing every response with loaders of its own.
func newExecutableSchema(resolver *Resolver) graphql.ExecutableSchema {
	return loadingSchema{
		ExecutableSchema: generated.NewExecutableSchema(generated.Config{
			Resolvers:  resolver,
			Directives: generated.DirectiveRoot{HasRole: hasRole, IdOf: idOf},
		}),
		client:   resolver.client,
		resolver: resolver,
	}
}

// loadingSchema checks the operation's cursors (see cursor.go) and gives
// each response its own batch loaders (see loader.go).
// Per response rather than per operation: each event of a subscription is
// a response, and must not see the data cached for an earlier one.
type loadingSchema struct {
	graphql.ExecutableSchema
	client   *ent.Client
	resolver *Resolver
}

var _ graphql.ExecutableSchema = loadingSchema{}

// Exec implements graphql.ExecutableSchema.
func (s loadingSchema) Exec(ctx context.Context) graphql.ResponseHandler {
	if err := checkCursors(ctx, graphql.GetOperationContext(ctx)); err != nil {
		// The executor answers with the errors added here and runs nothing.
		graphql.AddError(ctx, err)
		return graphql.OneShot(&graphql.Response{})
	}
	next := s.ExecutableSchema.Exec(ctx)
	return func(ctx context.Context) *graphql.Response {
		return next(withLoaders(ctx, s.client, s.resolver))
	}
}

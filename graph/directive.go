package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// hasRole implements @hasRole: the field resolves only for a key of at least
// role; otherwise the error presenter answers UNAUTHENTICATED or FORBIDDEN.
func hasRole(ctx context.Context, _ any, next graphql.Resolver, role tenant.Role) (any, error) {
	if err := auth.Require(ctx, role); err != nil {
		return nil, err
	}
	return next(ctx)
}

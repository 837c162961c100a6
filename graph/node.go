package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// authorizeNode applies the role a type needs beyond READ when it is reached
// through node/nodes: API keys and audit entries are listed only to admins
// (apiKeys, auditLog), so they resolve only for admins here too.
func authorizeNode(ctx context.Context, n ent.Noder) error {
	switch n.(type) {
	case *ent.APIKey, *ent.AuditEntry:
		return auth.Require(ctx, tenant.RoleAdmin)
	}
	return nil
}

// hideUnauthorized replaces the nodes the caller may not see with null and
// reports an error at their index, as Noders does for missing ids.
func hideUnauthorized(ctx context.Context, nodes []ent.Noder) {
	for i, n := range nodes {
		if n == nil {
			continue
		}
		if err := authorizeNode(ctx, n); err != nil {
			nodes[i] = nil
			graphql.AddError(graphql.WithPathContext(ctx, graphql.NewPathWithIndex(i)), err)
		}
	}
}

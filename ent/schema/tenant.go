package schema

import (
	"context"
	"fmt"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/mixin"

	gen "github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/intercept"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// TenantMixin makes an entity tenant-owned: it carries project_id, every query
// of it is filtered to the caller's project, every create takes project_id
// from the caller's scope (never from input) and every update or delete is
// limited to the caller's project. A context without scope or bypass fails.
type TenantMixin struct {
	mixin.Schema
}

// Fields of the TenantMixin.
func (TenantMixin) Fields() []ent.Field {
	return []ent.Field{
		field.Int("project_id").
			Immutable().
			Annotations(entgql.Skip()),
	}
}

// Interceptors of the TenantMixin.
func (TenantMixin) Interceptors() []ent.Interceptor {
	return []ent.Interceptor{
		intercept.TraverseFunc(func(ctx context.Context, q intercept.Query) error {
			return scopeQuery(ctx, q, "project_id")
		}),
	}
}

// Hooks of the TenantMixin.
func (TenantMixin) Hooks() []ent.Hook {
	return []ent.Hook{scopeMutation("project_id")}
}

// scopeQuery restricts q to the project of ctx through column.
func scopeQuery(ctx context.Context, q intercept.Query, column string) error {
	if tenant.Bypassed(ctx) {
		return nil
	}
	s, ok := tenant.FromContext(ctx)
	if !ok {
		return fmt.Errorf("query %s: %w", q.Type(), tenant.ErrNoTenant)
	}
	q.WhereP(sql.FieldEQ(column, s.ProjectID))
	return nil
}

type wherePredicater interface {
	WhereP(...func(*sql.Selector))
}

// scopeMutation sets column on creates and restricts updates and deletes to
// the project of the context.
func scopeMutation(column string) ent.Hook {
	return func(next ent.Mutator) ent.Mutator {
		return gen.MutateFunc(func(ctx context.Context, m gen.Mutation) (ent.Value, error) {
			if tenant.Bypassed(ctx) {
				return next.Mutate(ctx, m)
			}
			s, ok := tenant.FromContext(ctx)
			if !ok {
				return nil, fmt.Errorf("mutate %s: %w", m.Type(), tenant.ErrNoTenant)
			}
			if m.Op().Is(ent.OpCreate) {
				if err := m.SetField(column, s.ProjectID); err != nil {
					return nil, fmt.Errorf("scope %s create: %w", m.Type(), err)
				}
				return next.Mutate(ctx, m)
			}
			w, ok := m.(wherePredicater)
			if !ok {
				return nil, fmt.Errorf("mutate %s: cannot scope %s to a project", m.Type(), m.Op())
			}
			w.WhereP(sql.FieldEQ(column, s.ProjectID))
			return next.Mutate(ctx, m)
		})
	}
}

// scopeProjectMutation lets a scoped caller update only its own project and
// never create or delete one; creating projects is an operator's act.
func scopeProjectMutation() ent.Hook {
	return func(next ent.Mutator) ent.Mutator {
		return gen.MutateFunc(func(ctx context.Context, m gen.Mutation) (ent.Value, error) {
			if tenant.Bypassed(ctx) {
				return next.Mutate(ctx, m)
			}
			s, ok := tenant.FromContext(ctx)
			if !ok {
				return nil, fmt.Errorf("mutate project: %w", tenant.ErrNoTenant)
			}
			if !m.Op().Is(ent.OpUpdate | ent.OpUpdateOne) {
				return nil, fmt.Errorf("%s project: only an operator may", m.Op())
			}
			w, ok := m.(wherePredicater)
			if !ok {
				return nil, fmt.Errorf("mutate project: cannot scope %s", m.Op())
			}
			w.WhereP(sql.FieldEQ("id", s.ProjectID))
			return next.Mutate(ctx, m)
		})
	}
}

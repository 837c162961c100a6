// Package tenant carries the project (tenant) and role of a request through a
// context. It has no dependencies so that the ent schema, auth and every
// service can share it without import cycles.
package tenant

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Role is the power of an API key. Roles are ordered: a stronger role can do
// everything a weaker one can.
type Role string

// The roles, from weakest to strongest.
const (
	RoleIngest Role = "INGEST"
	RoleRead   Role = "READ"
	RoleAdmin  Role = "ADMIN"
)

var roleRank = map[Role]int{RoleIngest: 1, RoleRead: 2, RoleAdmin: 3}

// ParseRole returns the role named s, or an error for an unknown name.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if _, ok := roleRank[r]; !ok {
		return "", fmt.Errorf("unknown role %q (want INGEST, READ or ADMIN)", s)
	}
	return r, nil
}

// Allows reports whether r is at least as strong as required.
func (r Role) Allows(required Role) bool {
	return roleRank[r] >= roleRank[required] && roleRank[required] > 0
}

// Scope is what a request may touch: one project, with one role.
type Scope struct {
	ProjectID int
	Role      Role
	// KeyID is the API key that authenticated the request, 0 for internal callers.
	KeyID int
	// KeyPrefix is the shown prefix of that key (never the secret), for
	// records of who did what; empty for internal callers.
	KeyPrefix string
}

// ErrNoTenant is returned when tenant-owned data is touched from a context
// that carries neither a scope nor an explicit bypass: failing closed is the
// point.
var ErrNoTenant = errors.New("no tenant in context")

type scopeKey struct{}

type bypassKey struct{}

// NewContext returns a context scoped to s.
func NewContext(ctx context.Context, s Scope) context.Context {
	return context.WithValue(ctx, scopeKey{}, s)
}

// FromContext returns the scope of ctx, if any.
func FromContext(ctx context.Context) (Scope, bool) {
	s, ok := ctx.Value(scopeKey{}).(Scope)
	return s, ok
}

// ForProject returns a context scoped to one project with full rights, for
// internal work (jobs, the CLI) that acts on behalf of a project.
func ForProject(ctx context.Context, projectID int) context.Context {
	return NewContext(ctx, Scope{ProjectID: projectID, Role: RoleAdmin})
}

// Bypass returns a context that may read and write across all projects. Only
// code that must (key lookup, project creation, migrations) uses it; it is
// never derived from a request.
func Bypass(ctx context.Context) context.Context {
	return context.WithValue(ctx, bypassKey{}, true)
}

// Bypassed reports whether ctx was made by Bypass.
func Bypassed(ctx context.Context) bool {
	b, _ := ctx.Value(bypassKey{}).(bool)
	return b
}

// UnmarshalGQL lets gqlgen bind the GraphQL Role enum to Role without this
// package importing GraphQL.
func (r *Role) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("role must be a string")
	}
	parsed, err := ParseRole(s)
	if err != nil {
		return err
	}
	*r = parsed
	return nil
}

// MarshalGQL writes the role as a GraphQL enum value.
func (r Role) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(r))) }

package auth

import (
	"context"
	"fmt"
	"strings"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// NewProject is a created project with one key of each role.
type NewProject struct {
	Project *ent.Project
	Ingest  *Issued
	Read    *Issued
	Admin   *Issued
}

// CreateProject creates a project and its first three keys in one
// transaction. It is an operator's act (the CLI), never reachable by a key.
func CreateProject(ctx context.Context, client *ent.Client, name string) (*NewProject, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, invalid.Field("name", "must not be empty")
	}
	tx, err := client.Tx(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	project, err := tx.Project.Create().SetName(name).Save(tenant.Bypass(ctx))
	if err != nil {
		return nil, fmt.Errorf("create project: %w", err)
	}
	scoped := tenant.ForProject(ctx, project.ID)
	keys := NewKeys(tx.Client())
	out := &NewProject{Project: project}
	for _, k := range []struct {
		role tenant.Role
		dst  **Issued
	}{{tenant.RoleIngest, &out.Ingest}, {tenant.RoleRead, &out.Read}, {tenant.RoleAdmin, &out.Admin}} {
		issued, err := keys.Create(scoped, k.role, "initial "+strings.ToLower(string(k.role))+" key")
		if err != nil {
			return nil, err
		}
		*k.dst = issued
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit project: %w", err)
	}
	return out, nil
}

package auth_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/apikey"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func setup(t *testing.T) (*ent.Client, *auth.NewProject) {
	t.Helper()
	client := database.NewClient(pgtest.DB(t))
	created, err := auth.CreateProject(context.Background(), client, "  "+t.Name()+"  ")
	require.NoError(t, err)
	return client, created
}

func TestCreateProject(t *testing.T) {
	t.Parallel()
	client, created := setup(t)
	require.Equal(t, t.Name(), created.Project.Name, "name is trimmed")
	for role, issued := range map[tenant.Role]*auth.Issued{
		tenant.RoleIngest: created.Ingest, tenant.RoleRead: created.Read, tenant.RoleAdmin: created.Admin,
	} {
		prefix := "pk_" + strings.ToLower(string(role)) + "_"
		require.True(t, strings.HasPrefix(issued.Secret, prefix))
		require.Len(t, issued.Secret, len(prefix)+43, "256 random bits in base64url")
		require.Equal(t, issued.Secret[:len(prefix)+4], issued.Key.Prefix)

		stored, err := client.APIKey.Query().Where(apikey.ID(issued.Key.ID)).Only(tenant.Bypass(context.Background()))
		require.NoError(t, err)
		require.NotContains(t, stored.Hash, issued.Secret[len(prefix):], "only a hash is stored")
		require.Len(t, stored.Hash, 64)

		scope, err := auth.NewKeys(client).Authenticate(context.Background(), issued.Secret)
		require.NoError(t, err)
		require.Equal(t, tenant.Scope{ProjectID: created.Project.ID, Role: role, KeyID: issued.Key.ID, KeyPrefix: issued.Key.Prefix}, scope)
	}
	_, err := auth.CreateProject(context.Background(), client, "   ")
	require.ErrorContains(t, err, "must not be empty")
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	client, created := setup(t)
	keys := auth.NewKeys(client)
	ctx := tenant.NewContext(context.Background(), tenant.Scope{ProjectID: created.Project.ID, Role: tenant.RoleAdmin, KeyID: created.Admin.Key.ID})

	for _, secret := range []string{"", "pk_read_nope", created.Read.Secret + "x", strings.ToUpper(created.Read.Secret)} {
		_, err := keys.Authenticate(context.Background(), secret)
		require.ErrorIs(t, err, auth.ErrUnauthenticated, "secret %q", secret)
	}

	_, err := keys.Revoke(ctx, created.Read.Key.ID)
	require.NoError(t, err)
	_, err = keys.Authenticate(context.Background(), created.Read.Secret)
	require.ErrorIs(t, err, auth.ErrUnauthenticated, "a revoked key stops working")

	_, err = keys.Revoke(ctx, created.Admin.Key.ID)
	require.ErrorContains(t, err, "cannot revoke itself")

	listed, err := keys.List(ctx, false)
	require.NoError(t, err)
	require.Len(t, listed, 2)
	all, err := keys.List(ctx, true)
	require.NoError(t, err)
	require.Len(t, all, 3)
}

func TestRequire(t *testing.T) {
	t.Parallel()
	require.ErrorIs(t, auth.Require(context.Background(), tenant.RoleIngest), auth.ErrUnauthenticated)
	read := tenant.NewContext(context.Background(), tenant.Scope{ProjectID: 1, Role: tenant.RoleRead})
	require.NoError(t, auth.Require(read, tenant.RoleIngest))
	require.NoError(t, auth.Require(read, tenant.RoleRead))
	err := auth.Require(read, tenant.RoleAdmin)
	require.ErrorIs(t, err, auth.ErrForbidden)
	require.ErrorContains(t, err, "needs a ADMIN key, this is a READ key")
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	for header, want := range map[string]string{
		"Bearer abc": "abc", "bearer  abc ": "abc", "Basic abc": "", "Bearer": "", "abc": "", "Bearer ": "",
	} {
		got, ok := auth.BearerToken(header)
		require.Equal(t, want, got, header)
		require.Equal(t, want != "", ok, header)
	}
}

package tenant_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/tenant"
)

func TestRoleAllows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		have, need tenant.Role
		want       bool
	}{
		{tenant.RoleIngest, tenant.RoleIngest, true},
		{tenant.RoleIngest, tenant.RoleRead, false},
		{tenant.RoleIngest, tenant.RoleAdmin, false},
		{tenant.RoleRead, tenant.RoleIngest, true},
		{tenant.RoleRead, tenant.RoleRead, true},
		{tenant.RoleRead, tenant.RoleAdmin, false},
		{tenant.RoleAdmin, tenant.RoleAdmin, true},
		{tenant.Role("ROOT"), tenant.RoleIngest, false},
		{tenant.RoleAdmin, tenant.Role(""), false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, tt.have.Allows(tt.need), "%s allows %s", tt.have, tt.need)
	}
}

func TestParseRole(t *testing.T) {
	t.Parallel()
	r, err := tenant.ParseRole("READ")
	require.NoError(t, err)
	require.Equal(t, tenant.RoleRead, r)
	_, err = tenant.ParseRole("read")
	require.ErrorContains(t, err, "unknown role")
}

func TestContext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, ok := tenant.FromContext(ctx)
	require.False(t, ok)
	require.False(t, tenant.Bypassed(ctx))

	scoped := tenant.NewContext(ctx, tenant.Scope{ProjectID: 7, Role: tenant.RoleRead, KeyID: 3})
	s, ok := tenant.FromContext(scoped)
	require.True(t, ok)
	require.Equal(t, tenant.Scope{ProjectID: 7, Role: tenant.RoleRead, KeyID: 3}, s)
	require.True(t, tenant.Bypassed(tenant.Bypass(ctx)))
}

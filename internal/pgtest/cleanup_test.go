package pgtest

import (
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOwnerGone(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self"); err != nil {
		t.Skip("needs procfs")
	}
	const deadPID = 1 << 30 // above Linux's pid_max limit
	tests := []struct {
		name string
		want bool
	}{
		{name: packagePrefix + "ab12_" + strconv.Itoa(deadPID) + "_0a1b2c3d", want: true},
		{name: packagePrefix + "ab12_" + strconv.Itoa(deadPID) + "_0a1b2c3d_unmigrated", want: true},
		{name: packagePrefix + "ab12_" + strconv.Itoa(os.Getppid()) + "_0a1b2c3d", want: false},
		{name: packagePrefix + "ab12_" + strconv.Itoa(os.Getpid()) + "_0a1b2c3d", want: false},
		{name: packagePrefix + "ab12_notapid_0a1b2c3d", want: false},
		{name: packagePrefix + "123", want: false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, ownerGone(tt.name), tt.name)
	}
}

func TestPackageDatabaseName(t *testing.T) {
	t.Parallel()
	name := packageDatabaseName()
	require.Regexp(t, `^pulse_t_[0-9a-f]{4}_`+strconv.Itoa(os.Getpid())+`_[0-9a-f]{8}$`, name)
	require.NotEqual(t, name, packageDatabaseName())
	require.False(t, ownerGone(name), "this process is alive")
}

package ingest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// TestNumberFault holds numberFault to what PostgreSQL's jsonb takes, as
// the table says and as the database answers.
func TestNumberFault(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	for lit, refused := range map[string]bool{
		"0": false, "-12.5": false, "9007199254740993": false, "1e308": false, "5e-324": false,
		"1e131071": false, "9.9e131071": false, "1e131072": true, "-1E131072": true, "10e131071": true,
		"1e-16383": false, "1e-16384": true, "0.5e-16383": true, "0e999999": false, "0e-16384": true,
		"1e1073741824": true, "0e1073741824": true, "1e99999999999": true,
		"0." + strings.Repeat("0", 16382) + "1": false, "0." + strings.Repeat("0", 16383) + "1": true,
		"0.00" + "1e2": false, "1" + strings.Repeat("0", 131071): false, "1" + strings.Repeat("0", 131072): true,
	} {
		require.Equal(t, refused, numberFault([]byte(lit)), "%.40s", lit)
		var stored bool
		err := db.QueryRow(`SELECT $1::text::jsonb IS NOT NULL`, lit).Scan(&stored)
		require.Equal(t, refused, err != nil, "PostgreSQL on %.40s: %v", lit, err)
	}
}

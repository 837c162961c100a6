package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// TestSeedCommand seeds a new project through the CLI and checks the JSON
// summary and the plain progress lines of a non-terminal stderr.
func TestSeedCommand(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"seed", "--users", "50", "--days", "45", "--seed", "9", "--json",
		"--database-url", dsn, "--log-level", "warn"}, &stdout, &stderr)
	require.NoError(t, err, stderr.String())

	var out struct {
		ProjectID       string
		Keys            map[string]string
		Users, Messages int
		Feedback        int
		SurveyResponses int
		Personas        map[string]int
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &out))
	require.Equal(t, 50, out.Users)
	require.Greater(t, out.Messages, 1000)
	require.Positive(t, out.Feedback)
	require.Positive(t, out.SurveyResponses)
	require.Equal(t, map[string]int{"power_user": 8, "mobile_casual": 16, "newcomer": 9, "churner": 10, "detractor": 7}, out.Personas)
	require.True(t, strings.HasPrefix(out.Keys["admin"], "pk_admin_"))
	require.Contains(t, stderr.String(), "(100%)\n")
	require.NotContains(t, stderr.String(), "\r", "no bar drawn on a non-terminal")

	err = run(context.Background(), []string{"seed", "--users", "0", "--database-url", dsn}, &stdout, &stderr)
	require.ErrorIs(t, err, errUsage)
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// TestRevocationReachesEveryProcess runs two real pulse processes on one
// database. A key both have served (and cached) is revoked through one:
// the other refuses it within a second, on GraphQL and on ingestion.
func TestRevocationReachesEveryProcess(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	binary := buildPulse(t)
	var created bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"project", "create", "--name", "Revoke", "--database-url", dsn}, &created, os.Stderr))
	var project struct{ Keys struct{ Admin string } }
	require.NoError(t, json.Unmarshal(created.Bytes(), &project))
	a := startPulse(t, binary, dsn, "--no-workers")
	b := startPulse(t, binary, dsn, "--no-workers")

	var spare struct {
		Data struct {
			CreateAPIKey struct {
				APIKey struct{ ID string }
				Secret string
			}
		}
	}
	require.NoError(t, json.Unmarshal(graphqlPost(t, a.base, project.Keys.Admin,
		`mutation { createAPIKey(input: {role: ADMIN, name: "spare"}) { apiKey { id } secret } }`, nil), &spare))
	secret := spare.Data.CreateAPIKey.Secret
	const query = `{ apiKeys { id } }`
	for range 2 {
		for _, p := range []*process{a, b} {
			graphqlPost(t, p.base, secret, query, nil)
		}
	}

	revokedAt := time.Now()
	graphqlPost(t, a.base, project.Keys.Admin, `mutation($id: ID!) { revokeAPIKey(id: $id) { revokedAt } }`,
		map[string]any{"id": spare.Data.CreateAPIKey.APIKey.ID})
	for name, url := range map[string]string{
		"GraphQL of the revoking process": a.base + "/graphql",
		"GraphQL of the other process":    b.base + "/graphql",
		"ingestion of the other process":  b.base + "/v1/batch",
	} {
		require.Eventually(t, func() bool { return postStatus(t, url, secret) == http.StatusUnauthorized },
			time.Second-time.Since(revokedAt), 5*time.Millisecond, "%s still accepts the revoked key", name)
	}
	graphqlPost(t, b.base, project.Keys.Admin, query, nil)
}

// postStatus posts an empty GraphQL query with key and returns the status.
func postStatus(t *testing.T, url, key string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte(`{"query": "{ __typename }", "batch": []}`)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	return res.StatusCode
}

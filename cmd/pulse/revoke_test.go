package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// TestRevocationReachesEveryProcess runs two real pulse processes on one
// database. A key both have served (and cached) is revoked through one:
// the other refuses it within a second, on GraphQL and on ingestion, and
// closes the WebSocket opened with it.
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
	var segment struct {
		Data struct{ CreateSegment struct{ ID string } }
	}
	require.NoError(t, json.Unmarshal(graphqlPost(t, a.base, project.Keys.Admin,
		`mutation { createSegment(input: {name: "revoke", kind: STATIC}) { id } }`, nil), &segment))
	revokedSocket := subscribe(t, b.base, secret, segment.Data.CreateSegment.ID)
	keptSocket := subscribe(t, b.base, project.Keys.Admin, segment.Data.CreateSegment.ID)

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
	// The other process's socket opened with the key is closed as a
	// refused key's would be; another key's goes on.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second-time.Since(revokedAt))
	defer cancel()
	for {
		var msg map[string]any
		err := wsjson.Read(ctx, revokedSocket, &msg)
		if err == nil {
			continue
		}
		require.Equal(t, websocket.StatusCode(4403), websocket.CloseStatus(err), "the revoked key's socket: %v", err)
		break
	}
	pingCtx, cancelPing := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelPing()
	require.NoError(t, wsjson.Write(pingCtx, keptSocket, map[string]any{"type": "ping"}))
	for {
		var msg map[string]any
		require.NoError(t, wsjson.Read(pingCtx, keptSocket, &msg), "another key's socket")
		if msg["type"] == "pong" {
			break
		}
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

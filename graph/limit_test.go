package graph_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/graph"
)

func TestLimits(t *testing.T) {
	t.Parallel()
	b := setupWith(t, graph.Options{
		Limits:       graph.Limits{MaxDepth: 8, MaxComplexity: 500, MaxPageSize: 50},
		MaxBodyBytes: 4096,
	})
	key := b.project.Read

	tests := []struct {
		name     string
		query    string
		wantCode string
		wantMsg  string
	}{
		{
			name:     "within limits",
			query:    `{ users(first: 10) { edges { node { id segments(first: 5) { totalCount } } } } }`,
			wantCode: "",
		},
		{
			name:     "too deep",
			query:    `{ segments(first: 1) { edges { node { members(first: 1) { edges { node { segments(first: 1) { edges { node { id } } } } } } } } } }`,
			wantCode: "BAD_USER_INPUT",
			wantMsg:  "query depth exceeds the limit of 8",
		},
		{
			name:     "too complex",
			query:    `{ users(first: 50) { edges { node { id externalId events(first: 20) { edges { node { id name } } } } } } }`,
			wantCode: "BAD_USER_INPUT",
			wantMsg:  "query complexity",
		},
		{
			name:     "page too large",
			query:    `{ users(first: 51) { edges { node { id } } } }`,
			wantCode: "BAD_USER_INPUT",
			wantMsg:  "first is 51; the largest page is 50",
		},
		{
			name:     "unbounded list",
			query:    `{ events { edges { node { id } } } }`,
			wantCode: "BAD_USER_INPUT",
			wantMsg:  "set first or last (at most 50) to list events",
		},
		{
			name:     "count without a page is fine",
			query:    `{ events { totalCount } }`,
			wantCode: "",
		},
		{
			name:     "introspection is not depth limited",
			query:    `{ __schema { types { name fields { name type { name ofType { name ofType { name ofType { name } } } } } } } }`,
			wantCode: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, res := b.do(t, key, tt.query, nil)
			require.Equal(t, tt.wantCode, res.code(), "errors: %+v", res.Errors)
			if tt.wantCode == "" {
				require.Equal(t, http.StatusOK, status)
				return
			}
			require.Contains(t, res.Errors[0].Message, tt.wantMsg)
			require.Equal(t, http.StatusOK, status, "application/json answers 200 even for refused operations")
		})
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	b := setupWith(t, graph.Options{MaxBodyBytes: 2048})
	padding := strings.Repeat(" ", 4096)
	body, err := json.Marshal(map[string]any{"query": "{ viewer { role } }" + padding})
	require.NoError(t, err)

	for _, chunked := range []bool{false, true} {
		req, err := http.NewRequest(http.MethodPost, b.server.URL+"/graphql", bytes.NewReader(body))
		require.NoError(t, err)
		if chunked {
			req.ContentLength = -1 // no Content-Length: the limit must hold while reading
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+b.project.Read)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var out gqlResponse
		require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
		res.Body.Close()
		require.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
		require.Equal(t, "BAD_USER_INPUT", out.code())
		require.Contains(t, out.Errors[0].Message, "exceeds the limit of 2048 bytes")
	}
}

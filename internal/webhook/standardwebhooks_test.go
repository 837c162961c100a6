package webhook_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/npmtest"
)

// The official Standard Webhooks library (npm standardwebhooks, pinned by
// testdata/standardwebhooks/package-lock.json) is the receiver that judges
// Pulse's signatures: testdata/standardwebhooks/verify.mjs verifies each
// message with it as a receiver's code would.

const libraryDir = "testdata/standardwebhooks"

// received is one message as a receiver got it: its headers and the exact
// bytes of its body, with the secret the receiver holds.
type received struct {
	Secret  string
	Headers http.Header
	Body    []byte
}

// verifyWithLibrary runs every message through the library and returns, for
// each, "ok" or the library's error.
func verifyWithLibrary(t *testing.T, messages []received) []string {
	t.Helper()
	type libraryMessage struct {
		Secret  string            `json:"secret"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
	}
	in := make([]libraryMessage, len(messages))
	for i, m := range messages {
		headers := map[string]string{}
		for name := range m.Headers {
			headers[strings.ToLower(name)] = m.Headers.Get(name)
		}
		in[i] = libraryMessage{Secret: m.Secret, Headers: headers, Body: base64.StdEncoding.EncodeToString(m.Body)}
	}
	dir := npmtest.Workspace(t, libraryDir, "verify.mjs")
	data, err := json.Marshal(in)
	require.NoError(t, err)
	path := filepath.Join(dir, "messages.json")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := strings.TrimSpace(npmtest.Run(t, ctx, dir, nil, "node", "verify.mjs", path))
	if len(messages) == 0 {
		return nil
	}
	results := strings.Split(out, "\n")
	require.Len(t, results, len(messages), "one verdict per message: %s", out)
	return results
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// serveInProcess runs "pulse serve" over dsn on a free loopback address, with
// args added (e.g. "--log-level", "warn"), until the test ends, and returns
// its base URL once /readyz answers. The server must stop cleanly.
func serveInProcess(t *testing.T, dsn string, logs io.Writer, args ...string) string {
	t.Helper()
	addr := freeAddr(t)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	serveArgs := append([]string{"serve", "--addr", addr, "--database-url", dsn}, args...)
	go func() { done <- run(ctx, serveArgs, io.Discard, logs) }()
	base := "http://" + addr
	waitReady(t, base+"/readyz", done)
	t.Cleanup(func() {
		stop()
		require.NoError(t, <-done)
	})
	return base
}

// createProject runs "pulse project create" over dsn and returns what it
// printed: the project and its three keys.
func createProject(t *testing.T, dsn, name string) projectCreated {
	t.Helper()
	var created bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"project", "create", "--name", name, "--database-url", dsn}, &created, io.Discard))
	var project projectCreated
	require.NoError(t, json.Unmarshal(created.Bytes(), &project))
	return project
}

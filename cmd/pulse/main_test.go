package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/pgtest"
)

func TestMain(m *testing.M) {
	runAsPulse()
	pgtest.Main(m)
}

func TestUsage(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), nil, &stdout, &stderr)
	require.ErrorIs(t, err, errUsage)
	require.Contains(t, stderr.String(), "USAGE")

	err = run(context.Background(), []string{"frobnicate"}, &stdout, &stderr)
	require.ErrorIs(t, err, errUsage)
	require.Equal(t, 2, exitCode(err))

	stdout.Reset()
	require.NoError(t, run(context.Background(), []string{"version"}, &stdout, &stderr))
	require.Equal(t, "pulse dev\n", stdout.String())

	err = run(context.Background(), []string{"serve", "--log-format", "xml"}, &stdout, &stderr)
	require.ErrorIs(t, err, errUsage)
	require.ErrorContains(t, err, `--log-format "xml"`)

	err = run(context.Background(), []string{"project", "create"}, &stdout, &stderr)
	require.ErrorContains(t, err, "--name is required")
}

func TestBadEnvironmentIsRefused(t *testing.T) {
	t.Setenv("PULSE_MAX_QUERY_DEPTH", "deep")
	err := run(context.Background(), []string{"serve"}, io.Discard, io.Discard)
	require.ErrorIs(t, err, errUsage)
	require.ErrorContains(t, err, `PULSE_MAX_QUERY_DEPTH="deep": not an integer`)
}

// TestProjectCreate runs the CLI against a real database and checks the
// contract JSON of DESIGN.md.
func TestProjectCreate(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	var stdout bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"project", "create", "--name", "Acme", "--database-url", dsn}, &stdout, io.Discard))

	var out map[string]map[string]string
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &out))
	require.Equal(t, "Acme", out["project"]["name"])
	require.NotEmpty(t, out["project"]["id"])
	require.True(t, strings.HasPrefix(out["keys"]["ingest"], "pk_ingest_"))
	require.True(t, strings.HasPrefix(out["keys"]["read"], "pk_read_"))
	require.True(t, strings.HasPrefix(out["keys"]["admin"], "pk_admin_"))
	require.Len(t, out, 2)
}

// TestServe starts the real server, creates a project through the CLI,
// queries it with the printed READ key, checks the probes, and stops it as
// SIGTERM would.
func TestServe(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	addr := freeAddr(t)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr, "--database-url", dsn, "--log-level", "warn"}, io.Discard, io.Discard)
	}()
	base := "http://" + addr
	waitReady(t, base+"/readyz", done)

	var created bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"project", "create", "--name", "Served", "--database-url", dsn}, &created, io.Discard))
	var keys struct{ Keys struct{ Read string } }
	require.NoError(t, json.Unmarshal(created.Bytes(), &keys))

	req, err := http.NewRequest(http.MethodPost, base+"/graphql", strings.NewReader(`{"query":"{ viewer { role project { name } } }"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+keys.Keys.Read)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.JSONEq(t, `{"data":{"viewer":{"role":"READ","project":{"name":"Served"}}}}`, string(body))
	require.NotEmpty(t, res.Header.Get("X-Request-Id"))

	res, err = http.Get(base + "/healthz")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	stop()
	select {
	case err := <-done:
		require.NoError(t, err, "graceful shutdown returns cleanly")
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
	res, err = http.Get(base + "/healthz")
	if err == nil {
		_ = res.Body.Close() // the assertion below fails the test
	}
	require.Error(t, err, "the listener is closed")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// waitReady polls the readiness probe until it answers 200, failing fast if
// the server exits.
func waitReady(t *testing.T, url string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("serve exited early: %v", err)
		default:
		}
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal(errors.New(fmt.Sprint("not ready: ", url)))
}

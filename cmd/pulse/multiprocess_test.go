package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// TestProcessesShareLiveUpdates runs three real pulse processes on one
// database: one works the jobs, two serve the API only. A segment defined
// and recomputed through one process reaches subscribers of the others,
// and a process stopped by SIGTERM closes its sockets with 1001.
func TestProcessesShareLiveUpdates(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	binary := buildPulse(t)
	var created bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"project", "create", "--name", "Cluster", "--database-url", dsn}, &created, os.Stderr))
	var project struct {
		Keys struct{ Ingest, Read, Admin string }
	}
	require.NoError(t, json.Unmarshal(created.Bytes(), &project))

	worker := startPulse(t, binary, dsn)
	apiA := startPulse(t, binary, dsn, "--no-workers")
	apiB := startPulse(t, binary, dsn, "--no-workers")

	for _, u := range []string{"ann", "bob", "cid"} {
		plan := "pro"
		if u == "cid" {
			plan = "free"
		}
		graphqlPost(t, worker.base, project.Keys.Ingest, `mutation($u: String!, $p: String!) { identify(input: {userId: $u, traits: {plan: $p}}) { accepted } }`,
			map[string]any{"u": u, "p": plan})
	}
	created.Reset()
	var segment struct {
		Data struct{ CreateSegment struct{ ID string } }
	}
	require.NoError(t, json.Unmarshal(graphqlPost(t, apiA.base, project.Keys.Admin, `mutation { createSegment(input: {name: "pro", kind: STATIC}) { id } }`, nil), &segment))
	segmentID := segment.Data.CreateSegment.ID
	require.NotEmpty(t, segmentID)

	subA := subscribe(t, apiA.base, project.Keys.Read, segmentID)
	subB := subscribe(t, apiB.base, project.Keys.Read, segmentID)

	// A membership change committed through the worker process...
	graphqlPost(t, worker.base, project.Keys.Admin, `mutation($id: ID!) { addSegmentMembers(id: $id, externalIds: ["ann", "bob"]) { id } }`,
		map[string]any{"id": segmentID})
	for _, sub := range []*websocket.Conn{subA, subB} {
		msg := readNext(t, sub)
		require.Contains(t, msg, `"seq":1`)
		require.Contains(t, msg, `"enteredCount":2`)
	}
	// ...and one through an API-only process, received by the other.
	graphqlPost(t, apiA.base, project.Keys.Admin, `mutation($id: ID!) { removeSegmentMembers(id: $id, externalIds: ["bob"]) { id } }`,
		map[string]any{"id": segmentID})
	for _, sub := range []*websocket.Conn{subA, subB} {
		msg := readNext(t, sub)
		require.Contains(t, msg, `"seq":2`)
		require.Contains(t, msg, `"exitedCount":1`)
	}

	// A recompute queued through an API-only process is worked by the worker.
	var recompute struct {
		Data struct{ RecomputeSegment struct{ ID string } }
	}
	var dynamic struct {
		Data struct{ CreateSegment struct{ ID string } }
	}
	require.NoError(t, json.Unmarshal(graphqlPost(t, apiB.base, project.Keys.Admin,
		`mutation { createSegment(input: {name: "pros", rule: {trait: {key: "plan", op: EQ, value: "pro"}}}) { id } }`, nil), &dynamic))
	subDynamic := subscribe(t, apiA.base, project.Keys.Read, dynamic.Data.CreateSegment.ID)
	require.NoError(t, json.Unmarshal(graphqlPost(t, apiB.base, project.Keys.Admin, `mutation($id: ID!) { recomputeSegment(id: $id) { id } }`,
		map[string]any{"id": dynamic.Data.CreateSegment.ID}), &recompute))
	msg := readNext(t, subDynamic)
	require.Contains(t, msg, `"size":2`)

	require.NoError(t, apiB.cmd.Process.Signal(syscall.SIGTERM))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		var m map[string]any
		if err := wsjson.Read(ctx, subB, &m); err != nil {
			require.Equal(t, websocket.StatusGoingAway, websocket.CloseStatus(err), "error: %v", err)
			break
		}
	}
	select {
	case err := <-apiB.exited:
		require.NoError(t, err, "SIGTERM stops the process cleanly")
	case <-time.After(30 * time.Second):
		t.Fatal("the process did not stop on SIGTERM")
	}
}

// buildPulse compiles the pulse binary once for this test.
func buildPulse(t *testing.T) string {
	t.Helper()
	binary := filepath.Join(t.TempDir(), "pulse")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return binary
}

type process struct {
	cmd    *exec.Cmd
	base   string
	exited chan error
}

func startPulse(t *testing.T, binary, dsn string, flags ...string) *process {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(binary, append([]string{"serve", "--addr", addr, "--database-url", dsn, "--log-level", "warn"}, flags...)...)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	p := &process{cmd: cmd, base: "http://" + addr, exited: make(chan error, 1)}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	waitReady(t, p.base+"/readyz", p.exited)
	return p
}

// graphqlPost runs an operation that must succeed and returns the body.
func graphqlPost(t *testing.T, base, key, query string, vars map[string]any) []byte {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var out bytes.Buffer
	_, err = out.ReadFrom(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, "body: %s", out.String())
	require.NotContains(t, out.String(), `"errors"`)
	return out.Bytes()
}

// subscribe opens a graphql-transport-ws socket following a segment.
func subscribe(t *testing.T, base, key, segmentID string) *websocket.Conn {
	t.Helper()
	// afterSeq 0: every run committed from now on, however soon, even
	// before the server has registered the subscription.
	return subscribeQuery(t, base, key, `subscription($id: ID!) { segmentMembershipChanged(segmentId: $id, afterSeq: 0) { seq size enteredCount exitedCount } }`,
		map[string]any{"id": segmentID})
}

// subscribeQuery opens a graphql-transport-ws socket with key and starts
// the subscription query (id "1") on it.
func subscribeQuery(t *testing.T, base, key, query string, vars map[string]any) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.CloseNow() })
	require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": map[string]any{"apiKey": key}}))
	var ack map[string]any
	require.NoError(t, wsjson.Read(ctx, conn, &ack))
	require.Equal(t, "connection_ack", ack["type"])
	require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": query, "variables": vars,
	}}))
	return conn
}

// readNext returns the payload of the next data message, as JSON.
func readNext(t *testing.T, conn *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		var m map[string]any
		require.NoError(t, wsjson.Read(ctx, conn, &m))
		if m["type"] != "next" || m["id"] != "1" {
			continue
		}
		raw, err := json.Marshal(m["payload"])
		require.NoError(t, err)
		return string(raw)
	}
}

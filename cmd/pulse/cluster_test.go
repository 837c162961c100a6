package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// cluster is a database of its own (so no other test's processes work its
// jobs), a project in it and the real pulse processes a test starts on it.
type cluster struct {
	dsn       string
	binary    string
	db        *sql.DB
	projectID int
	admin     string
}

var clusterDatabases atomic.Int64

// newCluster creates an empty database next to the package's one (named
// after it, so pgtest reaps it should this process die), migrates it and
// creates a project. binary is a pulse built for the test.
func newCluster(t *testing.T, binary string) *cluster {
	t.Helper()
	u, err := url.Parse(pgtest.DSN(t))
	require.NoError(t, err)
	name := strings.TrimPrefix(u.Path, "/") + "_c" + strconv.FormatInt(clusterDatabases.Add(1), 10)
	u.Path = "/" + name
	c := &cluster{dsn: u.String(), binary: binary}
	var created bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"project", "create", "--name", "Crash", "--database-url", c.dsn}, &created, io.Discard))
	var out struct {
		Project struct{ ID string }
		Keys    struct{ Admin string }
	}
	require.NoError(t, json.Unmarshal(created.Bytes(), &out))
	c.admin = out.Keys.Admin
	c.projectID, err = strconv.Atoi(out.Project.ID)
	require.NoError(t, err)
	c.db, err = sql.Open("postgres", c.dsn)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = c.db.Close()
		admin, err := sql.Open("postgres", pgtest.DSN(t))
		if err == nil {
			_, _ = admin.Exec("DROP DATABASE IF EXISTS " + pq.QuoteIdentifier(name) + " WITH (FORCE)")
			_ = admin.Close()
		}
	})
	return c
}

// pulseProcess is a started `pulse serve`; faults receives the lines it
// prints at a fault point (see internal/recompute/fault_on.go).
type pulseProcess struct {
	*process
	stdin  io.WriteCloser
	faults chan string
	// passes receives a value for each rescue pass that found nothing
	// (logged at debug level).
	passes chan struct{}
}

// start runs `pulse serve` on the cluster with env added to the
// environment (PULSE_FAULT_PAUSE=point to stop at a fault point).
func (c *cluster) start(t *testing.T, env []string, flags ...string) *pulseProcess {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(c.binary, append([]string{"serve", "--addr", addr, "--database-url", c.dsn, "--log-level", "warn"}, flags...)...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &pulseProcess{process: &process{cmd: cmd, base: "http://" + addr, exited: make(chan error, 1)},
		stdin: stdin, faults: make(chan string, 16), passes: make(chan struct{}, 64)}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			line := lines.Text()
			if strings.HasPrefix(line, "pulse-fault: ") {
				p.faults <- line
				continue
			}
			if strings.Contains(line, "no job of a dead process") {
				select {
				case p.passes <- struct{}{}:
				default:
				}
				continue
			}
			fmt.Fprintln(os.Stderr, line)
		}
	}()
	go func() {
		<-scanned // Wait must not run before the pipe is read to its end
		p.exited <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	waitReady(t, p.base+"/readyz", p.exited)
	return p
}

// kill kills the process with SIGKILL and waits until it is gone.
func (p *pulseProcess) kill(t *testing.T) time.Time {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	killed := time.Now()
	select {
	case exitErr := <-p.exited:
		require.Error(t, exitErr, "a killed process exits with SIGKILL's status")
	case <-time.After(10 * time.Second):
		t.Fatal("a killed process did not exit")
	}
	return killed
}

// fault waits for the process to report reaching a fault point and returns
// the line.
func (p *pulseProcess) fault(t *testing.T) string {
	t.Helper()
	select {
	case line := <-p.faults:
		return line
	case err := <-p.exited:
		t.Fatalf("the process exited before its fault point: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("the process did not reach its fault point")
	}
	return ""
}

// release lets a process paused at a fault point go on.
func (p *pulseProcess) release(t *testing.T) {
	t.Helper()
	_, err := io.WriteString(p.stdin, "\n")
	require.NoError(t, err)
}

// buildFaultPulse compiles pulse with its fault points (-tags pulsefault).
func buildFaultPulse(t *testing.T) string {
	t.Helper()
	binary := filepath.Join(t.TempDir(), "pulse")
	out, err := exec.Command("go", "build", "-tags", "pulsefault", "-o", binary, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return binary
}

// dynamicSegment creates a dynamic segment of users whose trait "on" is
// true, through the API of p, and returns its id.
func (c *cluster) dynamicSegment(t *testing.T, p *pulseProcess, name string) int {
	t.Helper()
	var out struct {
		Data struct{ CreateSegment struct{ ID string } }
	}
	require.NoError(t, json.Unmarshal(graphqlPost(t, p.base, c.admin, `mutation($n: String!) { createSegment(input: {name: $n,
		rule: {trait: {key: "on", op: EQ, value: true}}}) { id } }`, map[string]any{"n": name}), &out))
	id, err := strconv.Atoi(out.Data.CreateSegment.ID)
	require.NoError(t, err)
	return id
}

// recompute asks p for a recompute of segment and returns the run id the
// API answered with.
func (c *cluster) recompute(t *testing.T, p *pulseProcess, segment int) int {
	t.Helper()
	var out struct {
		Data struct{ RecomputeSegment struct{ ID string } }
	}
	require.NoError(t, json.Unmarshal(graphqlPost(t, p.base, c.admin, `mutation($id: ID!) { recomputeSegment(id: $id) { id } }`,
		map[string]any{"id": strconv.Itoa(segment)}), &out))
	id, err := strconv.Atoi(out.Data.RecomputeSegment.ID)
	require.NoError(t, err)
	return id
}

// users creates n users, each with trait "on" set to a random boolean.
func (c *cluster) users(t *testing.T, n int) {
	t.Helper()
	_, err := c.db.Exec(`INSERT INTO users (project_id, external_id, traits, first_seen_at, last_seen_at, event_count, created_at, updated_at)
		SELECT $1, 'u' || i, jsonb_build_object('on', random() < 0.5), now(), now(), 0, now(), now() FROM generate_series(1, $2) i`,
		c.projectID, n)
	require.NoError(t, err)
}

// shuffle flips the trait "on" of about a fifth of the users.
func (c *cluster) shuffle(t *testing.T) {
	t.Helper()
	_, err := c.db.Exec(`UPDATE users SET traits = jsonb_build_object('on', NOT (traits->>'on')::boolean)
		WHERE project_id = $1 AND random() < 0.2`, c.projectID)
	require.NoError(t, err)
}

// runStatus is the status of a run.
func (c *cluster) runStatus(t *testing.T, run int) string {
	t.Helper()
	var status string
	require.NoError(t, c.db.QueryRow(`SELECT status FROM segment_runs WHERE id = $1`, run).Scan(&status))
	return status
}

// waitRun polls until the run has status, failing after timeout; it
// returns when it saw it.
func (c *cluster) waitRun(t *testing.T, run int, status string, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := c.runStatus(t, run)
		if got == status {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d is %s after %s, want %s", run, got, timeout, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

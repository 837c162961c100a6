package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/internal/bench"
)

func benchLive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		cfg                             config
		subscribers, processes, runs, n int
	)
	fs := newFlagSet("bench live", "pulse bench live [--subscribers 1000] [--processes 2] [--runs 20]",
		`Measures live delivery. Starts --processes "pulse serve --no-workers"
processes on loopback ports, spreads --subscribers graphql-transport-ws
subscribers of one segment over them, and measures the memory the idle
subscribers hold (resident memory of the servers, before and after). Then
it commits --runs runs of the segment one after another, each moving --moved
users in or out, and times each message from just before its run's
transaction to its receipt by each subscriber. Prints delivered/expected,
p50, p99 and max in ms, and memory per idle subscriber.

It works in its own database, the --database-url database name with
"_bench" appended, which it drops and recreates first.`, stderr)
	cfg.registerDatabase(fs)
	fs.IntVar(&subscribers, "subscribers", 1000, "WebSocket subscribers")
	fs.IntVar(&processes, "processes", 2, "server processes")
	fs.IntVar(&runs, "runs", 20, "measured runs")
	fs.IntVar(&n, "moved", 20, "users each run moves in or out")
	if err := cfg.parse(fs, args); err != nil {
		return err
	}
	if subscribers < 1 || processes < 1 || runs < 1 || n < 1 {
		return fmt.Errorf("%w: --subscribers, --processes, --runs and --moved must be positive", errUsage)
	}
	// Each subscriber is a socket at both ends: this process and the
	// servers (which inherit the limit) need a descriptor each.
	if err := raiseFileLimit(uint64(subscribers) + 1024); err != nil {
		return err
	}
	db, project, _, err := benchProject(ctx, &cfg, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	segmentID, moved, err := liveBenchSegment(ctx, db, project.Project.ID, n)
	if err != nil {
		return err
	}
	servers, err := startServers(ctx, cfg.DatabaseURL, processes)
	if err != nil {
		return err
	}
	defer servers.stop()
	report, err := bench.RunLive(ctx, bench.LiveConfig{
		BaseURLs: servers.bases, ReadKey: project.Read.Secret, DB: db,
		ProjectID: project.Project.ID, SegmentID: segmentID,
		Subscribers: subscribers, Runs: runs, MovedUsers: moved, RSS: servers.rss, ServerPIDs: servers.pids(),
	})
	if err != nil {
		return err
	}
	report.Print(stdout)
	return nil
}

// raiseFileLimit raises this process's soft limit of open files to its
// hard limit, and fails when even that is below need.
func raiseFileLimit(need uint64) error {
	var limit syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &limit); err != nil {
		return fmt.Errorf("read the open files limit: %w", err)
	}
	if limit.Max < need {
		return fmt.Errorf("%d subscribers need about %d open files; the hard limit is %d (raise it with ulimit -Hn)", need-1024, need, limit.Max)
	}
	if limit.Cur < limit.Max {
		limit.Cur = limit.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &limit); err != nil {
			return fmt.Errorf("raise the open files limit: %w", err)
		}
	}
	return nil
}

// liveBenchSegment creates a STATIC segment and the users runs move.
func liveBenchSegment(ctx context.Context, db *sql.DB, projectID, n int) (int, []string, error) {
	var segmentID int
	if err := db.QueryRowContext(ctx, `
		INSERT INTO segments (project_id, name, kind, created_at, updated_at) VALUES ($1, 'live bench', 'STATIC', now(), now())
		RETURNING id`, projectID).Scan(&segmentID); err != nil {
		return 0, nil, fmt.Errorf("create segment: %w", err)
	}
	moved := make([]string, n)
	for i := range moved {
		moved[i] = fmt.Sprintf("live-%05d", i)
	}
	if _, err := db.ExecContext(ctx, `
		INSERT INTO users (project_id, external_id, traits, created_at, updated_at)
		SELECT $1, x, '{"plan":"team"}', now(), now() FROM unnest($2::text[]) x`, projectID, pq.Array(moved)); err != nil {
		return 0, nil, fmt.Errorf("create users: %w", err)
	}
	return segmentID, moved, nil
}

// servers are child "pulse serve" processes.
type servers struct {
	cmds  []*exec.Cmd
	bases []string
}

// startServers starts n API-only servers of this binary on free loopback
// ports and waits until they are ready.
func startServers(ctx context.Context, dsn string, n int) (*servers, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this binary: %w", err)
	}
	s := &servers{}
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.stop()
			return nil, err
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		cmd := exec.CommandContext(ctx, self, "serve", "--no-workers", "--addr", addr, "--database-url", dsn, "--log-level", "warn")
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			s.stop()
			return nil, fmt.Errorf("start server: %w", err)
		}
		s.cmds = append(s.cmds, cmd)
		s.bases = append(s.bases, "http://"+addr)
	}
	for _, base := range s.bases {
		if err := waitHealthy(ctx, base+"/readyz"); err != nil {
			s.stop()
			return nil, err
		}
	}
	return s, nil
}

func waitHealthy(ctx context.Context, url string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not become ready", url)
}

func (s *servers) stop() {
	for _, cmd := range s.cmds {
		_ = cmd.Process.Signal(os.Interrupt)
	}
	for _, cmd := range s.cmds {
		_ = cmd.Wait()
	}
}

// pids are the servers' process ids.
func (s *servers) pids() []int {
	out := make([]int, len(s.cmds))
	for i, cmd := range s.cmds {
		out[i] = cmd.Process.Pid
	}
	return out
}

// rss is the resident memory of each server, in bytes.
func (s *servers) rss() ([]int64, error) {
	out := make([]int64, len(s.cmds))
	for i, cmd := range s.cmds {
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
		if err != nil {
			return nil, fmt.Errorf("read memory of server %d: %w", i, err)
		}
		for _, line := range strings.Split(string(status), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				if err != nil {
					return nil, fmt.Errorf("parse VmRSS %q: %w", rest, err)
				}
				out[i] = kb * 1024
			}
		}
	}
	return out, nil
}

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/doctest"
	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// The documentation's examples are run by TestDocs. This file finds the
// documents and the server; docs_shell_test.go runs shell blocks and
// docs_graphql_test.go GraphQL blocks.

// runPulseEnv makes this test binary behave as the pulse command, so the
// documents' "go run ./cmd/pulse ..." runs the code under test without
// compiling it again.
const runPulseEnv = "PULSE_DOCTEST_RUN_PULSE"

// runAsPulse, called first by TestMain, runs the pulse command instead of
// the tests when the documents' "go run ./cmd/pulse" invoked this binary.
func runAsPulse() {
	if os.Getenv(runPulseEnv) != "1" {
		return
	}
	err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pulse:", err)
	}
	os.Exit(map[bool]int{true: exitCode(err), false: 0}[err != nil])
}

// docDeadline bounds one block, retries and background output included.
const docDeadline = 45 * time.Second

// TestDocs runs every shell and GraphQL example of README.md and
// docs/*.md, in document order, against a real server on a fresh database:
// first README.md (which starts the server with its own run command and
// sets up the variables every other document uses), then docs/*.md in name
// order, each continuing from the shell state the previous ones left.
func TestDocs(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "jq"} {
		_, err := exec.LookPath(tool)
		require.NoError(t, err, "the documentation's examples need %s (Debian: apt-get install -y %s)", tool, tool)
	}
	docs := loadDocs(t)
	requireUniqueMessageIDs(t, docs)
	if t.Failed() {
		return
	}
	server := serverCommand(t, docs)
	dsn := pgtest.DSN(t)
	token := newOperatorToken(t)
	base := startDocServer(t, server, dsn, token)
	sh := newDocShell(t, base, dsn, token)
	for _, doc := range docs {
		if t.Failed() {
			return // later documents build on earlier ones
		}
		t.Run(doc.name, func(t *testing.T) {
			var background []*backgroundBlock
			for _, b := range doc.blocks {
				switch {
				case b.Mark == doctest.MarkSkip || b.Mark == doctest.MarkServer:
				case b.Kind == doctest.Shell && b.Mark == doctest.MarkBackground:
					background = append(background, sh.start(t, b))
				case b.Kind == doctest.Shell:
					sh.runBlock(t, b)
				case b.Kind == doctest.GraphQL:
					runGraphQLBlock(t, sh, b)
				}
				if t.Failed() {
					break
				}
			}
			for _, bg := range background {
				bg.wait(t)
			}
		})
	}
}

// TestDocLinks checks that every relative link of README.md and docs/*.md
// leads to a file of the repository and, for a Markdown file, to one of its
// headings.
func TestDocLinks(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	for _, d := range loadDocs(t) {
		src, err := os.ReadFile(filepath.Join(root, d.name))
		require.NoError(t, err)
		for _, link := range doctest.Links(string(src)) {
			target := d.name
			if link.Path != "" {
				target = filepath.Join(filepath.Dir(d.name), link.Path)
			}
			where := fmt.Sprintf("%s:%d", d.name, link.Line)
			if _, err := os.Stat(filepath.Join(root, target)); err != nil {
				t.Errorf("%s: the link to %s leads nowhere: %v", where, link.Path, err)
				continue
			}
			if link.Anchor == "" || !strings.HasSuffix(target, ".md") {
				continue
			}
			md, err := os.ReadFile(filepath.Join(root, target))
			require.NoError(t, err)
			if !doctest.Anchors(string(md))[link.Anchor] {
				t.Errorf("%s: %s has no heading #%s", where, target, link.Anchor)
			}
		}
	}
}

type doc struct {
	name   string
	blocks []doctest.Block
}

// loadDocs parses README.md and docs/*.md, README first.
func loadDocs(t *testing.T) []doc {
	t.Helper()
	root := filepath.Join("..", "..")
	names, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	require.NoError(t, err)
	sort.Strings(names)
	names = append([]string{filepath.Join(root, "README.md")}, names...)
	var docs []doc
	for _, path := range names {
		src, err := os.ReadFile(path)
		require.NoError(t, err)
		rel, err := filepath.Rel(root, path)
		require.NoError(t, err)
		blocks, err := doctest.Parse(rel, string(src))
		require.NoError(t, err)
		docs = append(docs, doc{name: rel, blocks: blocks})
	}
	return docs
}

// messageIDPattern finds the message ids of Segment JSON and of GraphQL
// ingestion.
var messageIDPattern = regexp.MustCompile(`"messageId"\s*:\s*"([^"]+)"|idempotencyKey:\s*"([^"]+)"`)

// requireUniqueMessageIDs fails when two documents send the same message
// id: the second would silently be a duplicate, stored nothing, and show
// what the first did. Within a document a repeated id shows deduplication.
func requireUniqueMessageIDs(t *testing.T, docs []doc) {
	t.Helper()
	firstIn := map[string]string{}
	for _, d := range docs {
		for _, b := range d.blocks {
			for _, m := range messageIDPattern.FindAllStringSubmatch(b.Body, -1) {
				id := m[1] + m[2]
				if where, ok := firstIn[id]; ok && !strings.HasPrefix(where, d.name+":") {
					t.Errorf("%s: message id %q is already sent by %s", b.Where(), id, where)
					continue
				}
				if _, ok := firstIn[id]; !ok {
					firstIn[id] = b.Where()
				}
			}
		}
	}
}

// serverCommand returns the arguments of README.md's run command, the one
// block marked server: "go run ./cmd/pulse serve --demo" runs as run's
// "serve --demo".
func serverCommand(t *testing.T, docs []doc) []string {
	t.Helper()
	var found []doctest.Block
	for _, d := range docs {
		for _, b := range d.blocks {
			if b.Mark == doctest.MarkServer {
				found = append(found, b)
			}
		}
	}
	require.Len(t, found, 1, "exactly one block, README.md's run command, is marked <!-- doc: server -->")
	b := found[0]
	require.Equal(t, "README.md", b.File, "the server command is README.md's")
	var args []string
	for _, line := range strings.Split(b.Body, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rest, ok := strings.CutPrefix(line, "go run ./cmd/pulse ")
		require.True(t, ok, "%s: the server block holds one command, go run ./cmd/pulse ...: %q", b.Where(), line)
		require.Nil(t, args, "%s: the server block holds one command", b.Where())
		args = strings.Fields(rest)
	}
	require.NotEmpty(t, args, "%s: no command", b.Where())
	require.Equal(t, "serve", args[0], "%s: the run command serves", b.Where())
	return args
}

// newOperatorToken returns a random operator token, the one of the
// server OPERATIONS.md opens River's UI on.
func newOperatorToken(t *testing.T) string {
	t.Helper()
	random := make([]byte, 16)
	_, err := rand.Read(random)
	require.NoError(t, err)
	return hex.EncodeToString(random)
}

// startDocServer runs the README's command in-process, on a free port of
// the loopback interface and the test's database, with River's UI behind
// operatorToken, and returns its URL. The demo is kept small so the test
// stays fast.
func startDocServer(t *testing.T, args []string, dsn, operatorToken string) string {
	t.Helper()
	addr := freeAddr(t)
	// The flag, not PULSE_OPERATOR_TOKEN: the environment of this process
	// is shared with the package's other tests.
	args = append(args, "--addr", addr, "--database-url", dsn, "--log-level", "warn", "--operator-token", operatorToken)
	for _, a := range args {
		if a == "--demo" {
			args = append(args, "--demo-users", "40", "--demo-keys-file", filepath.Join(t.TempDir(), "demo-keys.json"))
		}
	}
	var logs lockedBuffer
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, io.Discard, &logs) }()
	waitReady(t, "http://"+addr+"/readyz", done)
	t.Cleanup(func() {
		stop()
		require.NoError(t, <-done)
		if t.Failed() {
			t.Logf("server output:\n%s", logs.String())
		}
	})
	return "http://" + addr
}

// lockedBuffer is a bytes.Buffer safe for a writer and a reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls cond until it returns nil or the deadline passes, and
// returns its last error.
func waitFor(deadline time.Duration, cond func() error) error {
	end := time.Now().Add(deadline)
	for {
		err := cond()
		if err == nil || time.Now().After(end) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/doctest"
)

// docPrelude runs before every shell block. It restores the variables and
// functions the earlier blocks left (as one terminal session would keep
// them), stands in for "go run ./cmd/pulse", and makes curl fail on an
// HTTP error or a GraphQL response with errors, which a reader would see
// in the output; in a block marked status CODE (DOC_CURL_STATUS), on any
// status but CODE instead. On exit it saves the session for the next block.
const docPrelude = `set -euo pipefail
cd "$DOC_DIR"
if [ -f "$DOC_DIR/.state" ]; then source "$DOC_DIR/.state"; fi
go() {
  if [ "${1:-}" = run ] && [ "${2:-}" = ./cmd/pulse ]; then
    shift 2
    PULSE_DOCTEST_RUN_PULSE=1 "$DOC_PULSE" "$@"
    return
  fi
  echo "doc test: only 'go run ./cmd/pulse ...' runs here; mark this block <!-- doc: skip REASON -->" >&2
  return 1
}
curl() {
  local a
  if [ -n "${DOC_CURL_STATUS:-}" ]; then doc_curl_status "$@"; return; fi
  for a in "$@"; do
    case "$a" in -N|--no-buffer|-[!-]*N*) command curl --fail-with-body "$@"; return;; esac
  done
  local out rc=0
  out=$(command curl --fail-with-body "$@") || rc=$?
  printf '%s\n' "$out"
  if [ "$rc" -ne 0 ]; then echo "doc test: curl exited with $rc" >&2; return "$rc"; fi
  # jq 1.6 exits 0 on empty input: a download saved with -o prints nothing.
  if [ -n "$out" ] && printf '%s' "$out" | jq -e 'type == "object" and has("errors")' >/dev/null 2>&1; then
    echo "doc test: the GraphQL response has errors" >&2
    return 1
  fi
}
# In a block marked status CODE, every curl answers HTTP CODE; its body is
# the example's output, errors included.
doc_curl_status() {
  local out rc=0 status
  out=$(command curl -D "$DOC_DIR/.curl-headers" "$@") || rc=$?
  printf '%s\n' "$out"
  if [ "$rc" -ne 0 ]; then echo "doc test: curl exited with $rc" >&2; return "$rc"; fi
  status=$(grep -a '^HTTP/' "$DOC_DIR/.curl-headers" | tail -n 1 | cut -d ' ' -f 2)
  if [ "$status" != "$DOC_CURL_STATUS" ]; then
    echo "doc test: curl got HTTP $status; the block is marked <!-- doc: status $DOC_CURL_STATUS -->" >&2
    return 1
  fi
}
doc_save() {
  local v
  {
    for v in $(compgen -v); do
      case "$v" in BASH*|_|PIPESTATUS|RANDOM|SRANDOM|LINENO|SECONDS|FUNCNAME|GROUPS|HISTCMD|EPOCH*|OPT*|PWD|OLDPWD|SHLVL|IFS|PS?|DIRSTACK|COMP*|HOSTNAME|HOSTTYPE|MACHTYPE|OSTYPE|PPID|UID|EUID|SHELLOPTS|PATH|HOME|DOC_*|a|v|out|rc) continue;; esac
      declare -p "$v" 2>/dev/null | grep -v '^declare -[a-zA-Z]*r' || true
    done
    declare -f | grep -v '^declare -fr' || true
  } > "$DOC_DIR/.state.new"
  mv "$DOC_DIR/.state.new" "$DOC_DIR/.state"
  for v in $(compgen -v); do
    case "$v" in PULSE*|[A-Z]*_ID|[A-Z]*_KEY) printf '%s=%s\0' "$v" "${!v}";; esac
  done > "$DOC_DIR/.vars"
}
trap doc_save EXIT
`

// docShell is the terminal session the documents' shell blocks run in.
type docShell struct {
	dir  string
	host string // host:port, in place of the documents' localhost:8080
	env  []string
	vars map[string]string // the session's variables, for GraphQL blocks
}

func newDocShell(t *testing.T, base, dsn, operatorToken string) *docShell {
	t.Helper()
	self, err := os.Executable()
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".prelude"), []byte(docPrelude), 0o600))
	return &docShell{
		dir:  dir,
		host: strings.TrimPrefix(base, "http://"),
		vars: map[string]string{},
		env: []string{
			"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LANG=C.UTF-8", "TERM=dumb",
			"DOC_DIR=" + dir, "DOC_PULSE=" + self,
			// The README's default database is the user's; the test's is fresh.
			"PULSE_DATABASE_URL=" + dsn,
			// OPERATIONS.md restarts the server with an operator token, as
			// the test's server was started.
			"PULSE_OPERATOR_TOKEN=" + operatorToken,
		},
	}
}

// command prepares bash to run a block's script after the prelude.
func (s *docShell) command(ctx context.Context, b doctest.Block) *exec.Cmd {
	script := strings.ReplaceAll(b.Body, "localhost:8080", s.host)
	cmd := exec.CommandContext(ctx, "bash", "-c", `source "$DOC_DIR/.prelude"`+"\n"+script)
	cmd.Dir, cmd.Env = s.dir, s.env
	if b.Mark == doctest.MarkStatus {
		cmd.Env = append(slices.Clip(s.env), fmt.Sprintf("DOC_CURL_STATUS=%d", b.Status))
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return cmd
}

// runBlock runs a shell block to its end: it must succeed and print the
// output it shows, retried while it does not if it is marked retry.
func (s *docShell) runBlock(t *testing.T, b doctest.Block) {
	t.Helper()
	want := doctest.ExpectedOutput(b.Body)
	headers := filepath.Join(s.dir, ".curl-headers")
	attempt := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), docDeadline)
		defer cancel()
		var stdout, stderr bytes.Buffer
		cmd := s.command(ctx, b)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := os.Remove(headers); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: %w", b.Where(), err)
		}
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w\nstdout:\n%s\nstderr:\n%s", b.Where(), err, stdout.String(), stderr.String())
		}
		if _, err := os.Stat(headers); b.Mark == doctest.MarkStatus && err != nil {
			return fmt.Errorf("%s: the block is marked status %d but runs no curl", b.Where(), b.Status)
		}
		s.loadVars(t)
		if err := doctest.MatchOutput(want, stdout.String()); err != nil {
			return fmt.Errorf("%s: %w", b.Where(), err)
		}
		return nil
	}
	if b.Mark == doctest.MarkRetry {
		require.NoError(t, waitFor(docDeadline, attempt))
		return
	}
	require.NoError(t, attempt())
}

// loadVars reads the variables the last block left.
func (s *docShell) loadVars(t *testing.T) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(s.dir, ".vars"))
	require.NoError(t, err)
	for _, kv := range strings.Split(string(raw), "\x00") {
		if name, value, ok := strings.Cut(kv, "="); ok {
			s.vars[name] = value
		}
	}
}

// set adds a variable to the session, as a GraphQL block's set: does.
func (s *docShell) set(t *testing.T, name, value string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(s.dir, ".state"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	_, err = fmt.Fprintf(f, "export %s='%s'\n", name, strings.ReplaceAll(value, "'", `'\''`))
	require.NoError(t, err)
	require.NoError(t, f.Close())
	s.vars[name] = value
}

func (s *docShell) lookup(name string) (string, bool) {
	v, ok := s.vars[name]
	return v, ok
}

// backgroundBlock is a shell block left running, a subscription, whose
// output is checked when its document ends.
type backgroundBlock struct {
	block  doctest.Block
	cmd    *exec.Cmd
	out    *lockedBuffer
	errOut *lockedBuffer
	exited chan struct{} // closed when the shell has ended
	cancel context.CancelFunc
}

// start runs b in the background and returns once it printed something
// (a subscription's stream has begun).
func (s *docShell) start(t *testing.T, b doctest.Block) *backgroundBlock {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*docDeadline)
	bg := &backgroundBlock{block: b, cmd: s.command(ctx, b), out: &lockedBuffer{}, errOut: &lockedBuffer{},
		exited: make(chan struct{}), cancel: cancel}
	bg.cmd.Stdout, bg.cmd.Stderr = bg.out, bg.errOut
	require.NoError(t, bg.cmd.Start())
	go func() {
		_ = bg.cmd.Wait() // its output is what is checked
		close(bg.exited)
	}()
	t.Cleanup(bg.stop)
	require.NoError(t, waitFor(docDeadline, func() error {
		select {
		case <-bg.exited:
			return fmt.Errorf("%s ended before printing:\n%s", b.Where(), bg.errOut.String())
		default:
		}
		if bg.out.String() == "" {
			return fmt.Errorf("%s printed nothing yet", b.Where())
		}
		return nil
	}))
	return bg
}

// wait checks that the block printed the output it shows, then stops it.
func (bg *backgroundBlock) wait(t *testing.T) {
	t.Helper()
	want := doctest.ExpectedOutput(bg.block.Body)
	require.NotEmpty(t, want, "%s: a background block shows the output it waits for", bg.block.Where())
	err := waitFor(docDeadline, func() error { return doctest.MatchOutput(want, bg.out.String()) })
	require.NoError(t, err, "%s\nstderr:\n%s", bg.block.Where(), bg.errOut.String())
	bg.stop()
}

func (bg *backgroundBlock) stop() {
	bg.cancel()
	<-bg.exited
}

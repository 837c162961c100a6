// Package npmtest runs real npm packages in Go tests: a test directory's
// package.json and package-lock.json are installed with npm ci, once per
// lock file, into the user's cache, and scripts run next to them with
// Node.js.
package npmtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// MinNodeMajor is the oldest Node.js the tests support (the pinned SDKs,
// @segment/analytics-node and posthog-node, declare engines >= 20).
const MinNodeMajor = 20

// installs remembers, per lock file, the outcome of its one install in
// this process.
var installs struct {
	mu   sync.Mutex
	byID map[string]*install
}

type install struct {
	once sync.Once
	dir  string
	err  error
}

// Modules returns a directory whose node_modules holds the packages pinned
// by dir/package-lock.json, installing them on first use. It fails the
// test, never skips it, when Node.js or npm is missing: what the packages
// check is tested on every machine.
func Modules(t testing.TB, dir string) string {
	t.Helper()
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	require.NoError(t, err, "read the lock file")
	sum := sha256.Sum256(lock)
	id := hex.EncodeToString(sum[:])

	installs.mu.Lock()
	if installs.byID == nil {
		installs.byID = map[string]*install{}
	}
	in, ok := installs.byID[id]
	if !ok {
		in = &install{}
		installs.byID[id] = in
	}
	installs.mu.Unlock()

	in.once.Do(func() {
		if in.err = checkNodeJS(); in.err == nil {
			in.dir, in.err = npmCI(dir, id)
		}
	})
	if in.err != nil {
		t.Fatal(in.err)
	}
	return in.dir
}

func checkNodeJS() error {
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("the JavaScript tests need Node.js and npm, and %s is not on PATH: apt-get install -y nodejs npm (.ci/run installs them)", tool)
		}
	}
	out, err := exec.Command("node", "--version").Output()
	if err != nil {
		return fmt.Errorf("node --version: %w", err)
	}
	version := strings.TrimSpace(string(out))
	major, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(version, "v"), ".", 2)[0])
	if err != nil {
		return fmt.Errorf("node --version printed %q: %w", version, err)
	}
	if major < MinNodeMajor {
		return fmt.Errorf("the JavaScript tests need Node.js %d or newer, and node is %s", MinNodeMajor, version)
	}
	return nil
}

// npmCI runs npm ci for the lock file of src, in the user's cache rather
// than the source tree, and returns where. A test process that finds the
// directory trusts it: it only appears, by rename, once complete. Two
// processes that race both install, into their own temporary directories,
// and the first rename wins.
func npmCI(src, id string) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "pulse", "npm-tests", id)
	if installed(dir) {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("create the npm cache: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("create the npm cache: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }() // gone after a successful rename
	for _, name := range []string{"package.json", "package-lock.json"} {
		if err := copyFile(filepath.Join(src, name), filepath.Join(tmp, name)); err != nil {
			return "", err
		}
	}
	// The packages are devDependencies, which NODE_ENV=production would skip.
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--include=dev")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm ci in %s: %w\n%s", tmp, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if installed(dir) {
			return dir, nil // another test process finished first
		}
		return "", fmt.Errorf("move the installed packages into place: %w", err)
	}
	return dir, nil
}

// installed reports whether dir holds an install: npmCI renames a
// directory there only once npm ci succeeded in it, which leaves npm's
// hidden lock file in node_modules.
func installed(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json"))
	return err == nil
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return fmt.Errorf("copy %s: %w", from, err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		return fmt.Errorf("copy %s: %w", from, err)
	}
	return nil
}

// Workspace returns a temporary directory with the named files of src and
// a link to the installed node_modules of src's lock file. Node and
// esbuild resolve packages from where a script is, so the scripts are
// copied next to the packages instead of the packages next to the scripts.
func Workspace(t testing.TB, src string, files ...string) string {
	t.Helper()
	modules := filepath.Join(Modules(t, src), "node_modules")
	dir := t.TempDir()
	require.NoError(t, os.Symlink(modules, filepath.Join(dir, "node_modules")))
	for _, name := range files {
		require.NoError(t, copyFile(filepath.Join(src, name), filepath.Join(dir, name)))
	}
	return dir
}

// Run runs a Node.js tool in dir with env added, and returns its output;
// it fails the test with that output if the tool fails.
func Run(t testing.TB, ctx context.Context, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		err = errors.Join(err, ctx.Err())
	}
	if out.Len() > 0 {
		t.Logf("%s %s:\n%s", name, strings.Join(args, " "), out.String())
	}
	require.NoError(t, err, "%s %s", name, strings.Join(args, " "))
	return out.String()
}

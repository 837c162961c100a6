package ingest_test

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

// The Node and browser tests (sdk_node_test.go, sdk_browser_test.go) run
// the real JavaScript SDKs pinned by testdata/sdk/package-lock.json. This
// file installs them and runs Node.js tools.

// jsSDKDir holds package.json, package-lock.json and the scripts.
const jsSDKDir = "testdata/sdk"

// minNodeMajor is the oldest Node.js the pinned SDKs support
// (@segment/analytics-node and posthog-node declare engines >= 20).
const minNodeMajor = 20

var npmInstall struct {
	once sync.Once
	dir  string
	err  error
}

// npmModules returns a directory whose node_modules holds the pinned SDKs,
// installing them on first use. It fails the test, never skips it, when
// Node.js or npm is missing: the promise that the SDKs work is tested on
// every machine.
func npmModules(t *testing.T) string {
	t.Helper()
	npmInstall.once.Do(func() {
		if npmInstall.err = checkNodeJS(); npmInstall.err == nil {
			npmInstall.dir, npmInstall.err = npmCI()
		}
	})
	if npmInstall.err != nil {
		t.Fatal(npmInstall.err)
	}
	return npmInstall.dir
}

func checkNodeJS() error {
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("the JavaScript SDK tests need Node.js and npm, and %s is not on PATH: apt-get install -y nodejs npm (.ci/run installs them)", tool)
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
	if major < minNodeMajor {
		return fmt.Errorf("the JavaScript SDK tests need Node.js %d or newer, and node is %s", minNodeMajor, version)
	}
	return nil
}

// npmCI runs npm ci once per lock file, in the user's cache rather
// than the source tree, and returns where. A test process that finds the
// directory trusts it: it only appears, by rename, once complete. Two
// processes that race both install, into their own temporary directories,
// and the first rename wins.
func npmCI() (string, error) {
	lock, err := os.ReadFile(filepath.Join(jsSDKDir, "package-lock.json"))
	if err != nil {
		return "", fmt.Errorf("read the SDKs' lock file: %w", err)
	}
	sum := sha256.Sum256(lock)
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "pulse", "sdk-tests", hex.EncodeToString(sum[:]))
	if npmInstalled(dir) {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("create the SDK cache: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), filepath.Base(dir)+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("create the SDK cache: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }() // gone after a successful rename
	for _, name := range []string{"package.json", "package-lock.json"} {
		if err := copySDKFile(filepath.Join(jsSDKDir, name), filepath.Join(tmp, name)); err != nil {
			return "", err
		}
	}
	// The SDKs are devDependencies, which NODE_ENV=production would skip.
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--include=dev")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm ci in %s: %w\n%s", tmp, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if npmInstalled(dir) {
			return dir, nil // another test process finished first
		}
		return "", fmt.Errorf("move the installed SDKs into place: %w", err)
	}
	return dir, nil
}

// npmInstalled reports whether dir holds the SDKs: npmCI renames a
// directory there only once npm ci succeeded in it, which leaves npm's
// hidden lock file in node_modules.
func npmInstalled(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json"))
	return err == nil
}

func copySDKFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return fmt.Errorf("copy %s: %w", from, err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		return fmt.Errorf("copy %s: %w", from, err)
	}
	return nil
}

// jsWorkspace returns a temporary directory with the named files of
// testdata/sdk and a link to the installed node_modules. Node and esbuild
// resolve packages from where a script is, so the scripts are copied next
// to the packages instead of the packages next to the scripts.
func jsWorkspace(t *testing.T, files ...string) string {
	t.Helper()
	modules := filepath.Join(npmModules(t), "node_modules")
	dir := t.TempDir()
	require.NoError(t, os.Symlink(modules, filepath.Join(dir, "node_modules")))
	for _, name := range files {
		require.NoError(t, copySDKFile(filepath.Join(jsSDKDir, name), filepath.Join(dir, name)))
	}
	return dir
}

// runJS runs a Node.js tool, failing the test with its output if
// it fails.
func runJS(t *testing.T, ctx context.Context, dir string, env []string, name string, args ...string) {
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
}

package ingest_test

import (
	"context"
	"testing"

	"github.com/pulse-analytics/pulse/internal/npmtest"
)

// The Node and browser tests (sdk_node_test.go, sdk_browser_test.go) run
// the real JavaScript SDKs pinned by testdata/sdk/package-lock.json,
// installed by npmtest.

// jsSDKDir holds package.json, package-lock.json and the scripts.
const jsSDKDir = "testdata/sdk"

// jsWorkspace returns a temporary directory with the named files of
// testdata/sdk and the installed SDKs.
func jsWorkspace(t *testing.T, files ...string) string {
	t.Helper()
	return npmtest.Workspace(t, jsSDKDir, files...)
}

// runJS runs a Node.js tool, failing the test with its output if it fails.
func runJS(t *testing.T, ctx context.Context, dir string, env []string, name string, args ...string) {
	t.Helper()
	npmtest.Run(t, ctx, dir, env, name, args...)
}

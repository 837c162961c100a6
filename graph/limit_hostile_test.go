package graph_test

import (
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// processCPU is the CPU time (user and system) this test process has used.
func processCPU(t testing.TB) time.Duration {
	t.Helper()
	var usage syscall.Rusage
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &usage))
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

// fragmentDoubling is a document whose fragment n spreads fragment n-1
// twice: 2^levels fields once expanded, in about 40 bytes a level.
func fragmentDoubling(levels int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "{ viewer { ...F%d } }\nfragment F0 on Viewer { role }\n", levels)
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "fragment F%d on Viewer { ...F%d ...F%d }\n", i, i-1, i-1)
	}
	return b.String()
}

// manyFragments defines n fragments of the same fields, all spread in one
// selection: validation compares every pair.
func manyFragments(n int) string {
	var b strings.Builder
	b.WriteString("{ viewer { ")
	for i := range n {
		fmt.Fprintf(&b, "...F%d ", i)
	}
	b.WriteString("} }\n")
	for i := range n {
		fmt.Fprintf(&b, "fragment F%d on Viewer { role role role role role role role role }\n", i)
	}
	return b.String()
}

// TestHostileDocumentsWithoutKey sends documents built to make parsing,
// validation or measuring expensive, without a key, and bounds the CPU the
// whole process spends on each. It does not run in parallel: process CPU
// is only this request's while no other test runs.
func TestHostileDocumentsWithoutKey(t *testing.T) {
	b := setup(t)
	tests := []struct {
		name    string
		query   string
		code    string
		message string
	}{
		{"fragment doubling, 24 levels", fragmentDoubling(24), "BAD_USER_INPUT", "query complexity exceeds the limit"},
		{"fragment doubling, 90 levels", fragmentDoubling(90), "BAD_USER_INPUT", "query complexity exceeds the limit"},
		{"999 copies of one field (at the limit)", "{ viewer { " + strings.Repeat("role ", 998) + "} }", "UNAUTHENTICATED", "a valid API key is required"},
		{"1,001 copies of one field", "{ viewer { " + strings.Repeat("role ", 1000) + "} }", "BAD_USER_INPUT", "the document has 1001 selections"},
		{"499 aliases of one name", "{ " + strings.Repeat("a: viewer { role } ", 499) + "}", "UNAUTHENTICATED", "a valid API key is required"},
		{"100 fragments of the same fields (at the limit)", manyFragments(100), "UNAUTHENTICATED", "a valid API key is required"},
		{"101 fragments", manyFragments(101), "BAD_USER_INPUT", "the document defines 101 fragments; the limit is 100"},
		{"10,000 tokens of directives", "{ __typename " + strings.Repeat("@skip(if: false) ", 1700) + "}", "BAD_USER_INPUT", "more than 10000 tokens"},
		{"a megabyte of arguments", "{ viewer(" + strings.Repeat("a: 1 ", 200_000) + ") { role } }", "BAD_USER_INPUT", "more than 10000 tokens"},
	}
	const maxCPU = 500 * time.Millisecond
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			startCPU, startWall := processCPU(t), time.Now()
			status, res := b.do(t, "", tt.query, nil)
			cpu, wall := processCPU(t)-startCPU, time.Since(startWall)
			t.Logf("%d bytes: %v CPU, %v wall", len(tt.query), cpu, wall)
			require.Equal(t, http.StatusOK, status)
			require.NotEmpty(t, res.Errors)
			require.Equal(t, tt.code, res.code(), "errors: %+v", res.Errors)
			require.Contains(t, res.Errors[0].Message, tt.message)
			require.Less(t, cpu, maxCPU, "the request cost the process %v of CPU", cpu)
			require.Less(t, wall, 10*maxCPU)
		})
	}
}

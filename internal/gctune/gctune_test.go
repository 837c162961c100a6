package gctune_test

import (
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/gctune"
)

// The tests share the process's one collector, so none of them is parallel.

// gogc reads the GOGC in force.
func gogc(t *testing.T) int {
	t.Helper()
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

// collectUntil runs collections until cond holds: the tuner adjusts after a
// cycle, on the runtime's cleanup goroutine.
func collectUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "GOGC is %d", gogc(t))
		runtime.GC()
		runtime.Gosched()
	}
}

func TestPercent(t *testing.T) {
	for _, tc := range []struct {
		headroom, live uint64
		want           int
	}{
		{16 << 20, 4 << 20, 400},
		{16 << 20, 16 << 20, 100},
		{16 << 20, 64 << 20, 100},
		{16 << 20, 1 << 20, gctune.MaxPercent},
		{16 << 20, 0, gctune.MaxPercent},
	} {
		require.Equal(t, tc.want, gctune.Percent(tc.headroom, tc.live), "headroom %d, live %d", tc.headroom, tc.live)
	}
}

func TestSmallHeapGetsTheHeadroom(t *testing.T) {
	tuner := gctune.Start(64 << 20)
	t.Cleanup(tuner.Stop)
	// A test binary's live heap is well under 1 MiB.
	collectUntil(t, func() bool { return gogc(t) == gctune.MaxPercent })
}

func TestLargeHeapCollectsAsByDefault(t *testing.T) {
	tuner := gctune.Start(16 << 20)
	t.Cleanup(tuner.Stop)
	collectUntil(t, func() bool { return gogc(t) > 100 })
	live := make([]byte, 64<<20)
	for i := range live {
		live[i] = 1
	}
	collectUntil(t, func() bool { return gogc(t) == 100 })
	runtime.KeepAlive(live)
}

func TestStopGivesBackTheDefault(t *testing.T) {
	tuner := gctune.Start(64 << 20)
	collectUntil(t, func() bool { return gogc(t) > 100 })
	tuner.Stop()
	require.Equal(t, 100, gogc(t))
	runtime.GC()
	runtime.GC()
	require.Equal(t, 100, gogc(t), "a cycle after Stop changed it again")
}

func TestGOGCFromTheEnvironmentIsLeftAlone(t *testing.T) {
	t.Setenv("GOGC", "100")
	tuner := gctune.Start(64 << 20)
	t.Cleanup(tuner.Stop)
	for range 3 {
		runtime.GC()
	}
	require.Equal(t, 100, gogc(t))
}

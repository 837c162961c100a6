package bench

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBusyDuringCountsWork: a phase that keeps one core busy for 300 ms
// counts about that much busy time (at least half: a virtual machine's
// stolen time is not busy time), and not much more than every core busy
// for the whole phase.
func TestBusyDuringCountsWork(t *testing.T) {
	t.Parallel()
	if _, ok := machineBusy(); !ok {
		require.NotEqual(t, "linux", runtime.GOOS, "/proc/stat is readable on Linux")
		return
	}
	const spin = 300 * time.Millisecond
	var sink uint64
	start := time.Now()
	busy, err := busyDuring(func() error {
		for time.Since(start) < spin {
			for i := range 100_000 {
				sink += uint64(i)
			}
		}
		return nil
	})
	wall := time.Since(start)
	require.NoError(t, err)
	require.GreaterOrEqual(t, busy, spin/2, "sink %d", sink)
	// The upper bound is loose: a virtual machine's counters can lag a
	// few ticks behind, and what it guards against is a wrong tick unit,
	// which would be off by a factor of 2.5 or more.
	const tick = 10 * time.Millisecond
	cpus := time.Duration(statCPUs(t))
	require.LessOrEqual(t, busy, cpus*(wall+2*tick)*3/2, "%d CPUs busy at most for %s", cpus, wall) //nolint:durationcheck // cpus is a count held in a Duration
}

// statCPUs is the number of CPUs /proc/stat counts, which is what
// machineBusy adds up: it can be more than runtime.NumCPU when the
// process's affinity is narrower than the machine.
func statCPUs(t *testing.T) int {
	t.Helper()
	stat, err := os.ReadFile("/proc/stat")
	require.NoError(t, err)
	n := 0
	for line := range strings.Lines(string(stat)) {
		if len(line) > 3 && line[:3] == "cpu" && line[3] >= '0' && line[3] <= '9' {
			n++
		}
	}
	require.Positive(t, n)
	return n
}

func TestMedian(t *testing.T) {
	t.Parallel()
	require.Equal(t, 2.0, median([]float64{3, 1, 2}))
	require.Equal(t, 2.5, median([]float64{4, 1, 3, 2}))
	require.Equal(t, 7.0, median([]float64{7}))
}

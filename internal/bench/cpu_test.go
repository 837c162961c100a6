package bench

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBusyDuringCountsWork: a phase that keeps one core busy for 300 ms
// counts about that much busy time (at least half: a virtual machine's
// stolen time is not busy time), and never more than every core busy for
// the whole phase.
func TestBusyDuringCountsWork(t *testing.T) {
	t.Parallel()
	if _, ok := machineBusy(); !ok {
		require.NotEqual(t, "linux", runtime.GOOS, "/proc/stat is readable on Linux")
		return
	}
	const spin = 300 * time.Millisecond
	var (
		sink uint64
		wall time.Duration
	)
	busy, err := busyDuring(func() error {
		start := time.Now()
		for time.Since(start) < spin {
			for i := range 100_000 {
				sink += uint64(i)
			}
		}
		wall = time.Since(start)
		return nil
	})
	require.NoError(t, err)
	const tick = 10 * time.Millisecond
	require.GreaterOrEqual(t, busy, spin/2, "sink %d", sink)
	require.LessOrEqual(t, busy, time.Duration(runtime.NumCPU())*(wall+2*tick))
}

func TestMedian(t *testing.T) {
	t.Parallel()
	require.Equal(t, 2.0, median([]float64{3, 1, 2}))
	require.Equal(t, 2.5, median([]float64{4, 1, 3, 2}))
	require.Equal(t, 7.0, median([]float64{7}))
}

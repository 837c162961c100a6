package live

import (
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

type countingTarget struct{ offers atomic.Int32 }

func (c *countingTarget) offer(int) { c.offers.Add(1) }

// Every target is offered the item exactly once, however the targets are
// split over goroutines, and all of them before fanOut returns.
func TestFanOutOffersEachTargetOnce(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, fanOutChunk - 1, fanOutChunk, fanOutChunk + 1, 3*fanOutChunk + 7, 5000} {
		targets := make([]*countingTarget, n)
		for i := range targets {
			targets[i] = &countingTarget{}
		}
		fanOut(targets, 1)
		for i, target := range targets {
			require.EqualValues(t, 1, target.offers.Load(), "%d targets: target %d", n, i)
		}
	}
}

// Package gctune keeps the garbage collector from running dozens of times a
// second on a small heap.
//
// The collector starts a cycle when the heap has grown by GOGC percent
// (100) of what the last cycle left live. A server whose live heap is a few
// MiB and which allocates a few tens of KiB per request therefore collects
// every few tens of milliseconds, and the cycles, mostly fixed costs, take a
// fifth of its CPU. A Tuner lets the heap grow by at least a fixed headroom
// instead: after each cycle it sets GOGC to headroom ÷ live heap (never
// under 100, at most MaxPercent), so a small heap collects as if GOGC were
// several hundred, and a heap larger than the headroom exactly as with the
// default. The memory this costs is bounded by the headroom.
package gctune

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// DefaultHeadroom is what a Tuner lets the heap grow by at least between
// collections.
const DefaultHeadroom = 16 << 20

// MaxPercent caps the GOGC a Tuner sets, for a heap that is nearly empty.
const MaxPercent = 800

// defaultPercent is the runtime's GOGC when the environment sets none.
const defaultPercent = 100

// liveHeap is the runtime metric a Tuner reads after each cycle.
const liveHeap = "/gc/heap/live:bytes"

// Tuner adjusts GOGC after each garbage collection until Stop.
type Tuner struct {
	headroom uint64
	stopped  atomic.Bool
	mu       sync.Mutex // serialises adjust and Stop
	percent  int
	sample   []metrics.Sample
}

// Start returns a Tuner keeping at least headroom bytes between
// collections. When the GOGC environment variable is set the operator has
// chosen; the returned Tuner then changes nothing.
func Start(headroom uint64) *Tuner {
	t := &Tuner{headroom: headroom, percent: defaultPercent, sample: []metrics.Sample{{Name: liveHeap}}}
	if _, set := os.LookupEnv("GOGC"); set || headroom == 0 {
		t.stopped.Store(true)
		return t
	}
	t.adjust()
	t.arm()
	return t
}

// Stop ends the tuning and gives GOGC back its default.
func (t *Tuner) Stop() {
	if t.stopped.Swap(true) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	debug.SetGCPercent(defaultPercent)
	t.percent = defaultPercent
}

// sentinel is garbage as soon as it is made: its cleanup runs after the
// next cycle, and arms the next sentinel. It holds a pointer and is larger
// than the tiny allocator's 16 bytes, so it is an object of its own.
type sentinel struct {
	_ *byte
	_ [24]byte
}

func (t *Tuner) arm() {
	runtime.AddCleanup(new(sentinel), func(t *Tuner) {
		if t.stopped.Load() {
			return
		}
		t.adjust()
		t.arm()
	}, t)
}

// adjust sets GOGC from the live heap the last cycle measured. It leaves
// GOGC alone when the change would be under a tenth, so that a steady heap
// does not rewrite it after every cycle.
func (t *Tuner) adjust() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped.Load() {
		return
	}
	metrics.Read(t.sample)
	if t.sample[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	percent := Percent(t.headroom, t.sample[0].Value.Uint64())
	if diff := percent - t.percent; diff*10 > t.percent || -diff*10 > t.percent {
		debug.SetGCPercent(percent)
		t.percent = percent
	}
}

// Percent is the GOGC that lets a heap of live bytes grow by headroom
// before the next collection, within [100, MaxPercent].
func Percent(headroom, live uint64) int {
	if live == 0 {
		return MaxPercent
	}
	return int(min(max(headroom*100/live, defaultPercent), MaxPercent))
}

package live

import (
	"runtime"
	"sync"
)

// fanOutChunk is the fewest subscribers one goroutine offers an item to:
// below it, starting another costs more than it saves.
const fanOutChunk = 256

// fanOut offers item to every target, spread over the processor's cores
// when there are many: a sink may write to its socket in Offer (a system
// call per subscriber), and one goroutine would put a whole fan-out on one
// core. It returns once every target has been offered the item, so items
// published one after another reach each target in order.
func fanOut[S interface{ offer(T) }, T any](targets []S, item T) {
	parts := min(runtime.GOMAXPROCS(0), (len(targets)+fanOutChunk-1)/fanOutChunk)
	if parts <= 1 {
		for _, s := range targets {
			s.offer(item)
		}
		return
	}
	per := (len(targets) + parts - 1) / parts
	var wg sync.WaitGroup
	for start := per; start < len(targets); start += per {
		part := targets[start:min(start+per, len(targets))]
		wg.Go(func() {
			for _, s := range part {
				s.offer(item)
			}
		})
	}
	for _, s := range targets[:per] {
		s.offer(item)
	}
	wg.Wait()
}

package metrics

import "sync"

// otherLabel replaces label values past the bound.
const otherLabel = "other"

// boundedLabels admits at most max distinct values of a client-chosen
// label; later newcomers are reported as "other".
type boundedLabels struct {
	mu   sync.Mutex
	max  int
	seen map[string]struct{}
}

func newBoundedLabels(max int) *boundedLabels {
	return &boundedLabels{max: max, seen: map[string]struct{}{}}
}

// admit returns v when it is known or there is room for it, else "other".
func (b *boundedLabels) admit(v string) string {
	if len(v) > 100 {
		v = v[:100]
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.seen[v]; ok {
		return v
	}
	if len(b.seen) >= b.max {
		return otherLabel
	}
	b.seen[v] = struct{}{}
	return v
}

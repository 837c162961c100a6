package segment

import (
	"slices"
)

// RealtimeSources are the keys a segment stores as its realtime_sources,
// which ingestion matches its changes against (see package dirty): each
// source as its kind, a colon and its name. They are nil for a segment that
// does not move in real time (STATIC, switched off, or without a rule).
func RealtimeSources(r *Rule, realtime bool) []string {
	if r == nil || !realtime {
		return nil
	}
	var keys []string
	for _, s := range Sources(r) {
		keys = append(keys, string(s.Kind)+":"+s.Name)
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

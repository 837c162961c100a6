package segment

import (
	"cmp"
	"slices"
)

// SourceKind names a kind of change that can move a user's membership.
type SourceKind string

// The kinds of change.
const (
	SourceEvent    SourceKind = "event"    // Name: the event name; "" means any event (activity, platform, first/last seen)
	SourceTrait    SourceKind = "trait"    // Name: the trait key
	SourceFeedback SourceKind = "feedback" // Name: ""
	SourceSurvey   SourceKind = "survey"   // Name: the survey id in decimal
	SourceSegment  SourceKind = "segment"  // Name: the referenced segment id in decimal
)

// Source is one kind of change, optionally narrowed by name.
type Source struct {
	Kind SourceKind
	Name string
}

// Sources returns the distinct sources of r sorted by Kind then Name; an
// event source with Name "" subsumes the named event sources.
//
// A user whose data changed in none of r's sources keeps r's result, but
// for the passing of time (see Crossers).
func Sources(r *Rule) []Source {
	seen := map[Source]bool{}
	sourcesOf(r, func(s Source) { seen[s] = true })
	anyEvent := seen[Source{Kind: SourceEvent}]
	out := make([]Source, 0, len(seen))
	for s := range seen {
		if anyEvent && s.Kind == SourceEvent && s.Name != "" {
			continue
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Source) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// sourcesOf adds the sources of one node; a node without a field has none.
func sourcesOf(r *Rule, add func(Source)) {
	if k, _ := r.kind(); k != nil {
		k.sources(add)
	}
}

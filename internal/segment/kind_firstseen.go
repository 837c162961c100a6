package segment

import "time"

// A firstSeen condition holds for users whose first usage event is in the
// window. The compiled rule reads users.first_seen_at, which ingestion
// keeps as the earliest event's timestamp.

func (f *FirstSeenCondition) validate(v *validator, path string, _ int) {
	v.window(path+".withinDays", &f.WithinDays, true)
}

func (f *FirstSeenCondition) compile(c *compiler) (*cond, error) {
	return userLeaf("COALESCE(u.first_seen_at >= " + c.arg(c.since(f.WithinDays)) + ", false)"), nil
}

func (f *FirstSeenCondition) evaluate(e *evaluator, u RefUser) bool {
	first, _, ok := e.seen(u)
	return ok && !first.Before(e.since(f.WithinDays))
}

func (f *FirstSeenCondition) observe(e *evaluator, u RefUser, _ string) (string, []*Explanation) {
	first, _, ok := e.seen(u)
	if !ok {
		return "never seen", nil
	}
	return "first seen " + first.UTC().Format(time.RFC3339), nil
}

func (f *FirstSeenCondition) text(bool) string {
	return "first seen in the last " + days(f.WithinDays)
}

func (*FirstSeenCondition) sources(add func(Source)) { add(Source{Kind: SourceEvent}) }

// The user leaves when the first event leaves the window (every event in
// the range is a superset of the first ones), or, past the retention,
// when first_seen_at does.
func (f *FirstSeenCondition) crossing(x *crossing) { x.seen("first_seen_at", f.WithinDays) }

// users.first_seen_at is a column of the user, kept whatever is deleted.
func (*FirstSeenCondition) reach(string, func(string, int)) {}

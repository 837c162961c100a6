package segment

import "time"

// A lastSeen condition holds for users whose last usage event is in the
// window (withinDays), or before it (moreThanDaysAgo: seen, but not in
// the last N days). The compiled rule reads users.last_seen_at.

func (l *LastSeenCondition) validate(v *validator, path string, _ int) {
	if (l.WithinDays == nil) == (l.MoreThanDaysAgo == nil) {
		v.fail(path, "set exactly one of withinDays and moreThanDaysAgo")
		return
	}
	v.window(path+".withinDays", l.WithinDays, false)
	v.window(path+".moreThanDaysAgo", l.MoreThanDaysAgo, false)
}

// days is the window of either form.
func (l *LastSeenCondition) days() int {
	if l.WithinDays != nil {
		return *l.WithinDays
	}
	return *l.MoreThanDaysAgo
}

func (l *LastSeenCondition) compile(c *compiler) (*cond, error) {
	if l.WithinDays != nil {
		return userLeaf("COALESCE(u.last_seen_at >= " + c.arg(c.since(*l.WithinDays)) + ", false)"), nil
	}
	return userLeaf("COALESCE(u.last_seen_at < " + c.arg(c.since(*l.MoreThanDaysAgo)) + ", false)"), nil
}

func (l *LastSeenCondition) evaluate(e *evaluator, u RefUser) bool {
	_, last, ok := e.seen(u)
	inWindow := !last.Before(e.since(l.days()))
	return ok && inWindow == (l.WithinDays != nil)
}

func (l *LastSeenCondition) observe(e *evaluator, u RefUser, _ string) (string, []*Explanation) {
	_, last, ok := e.seen(u)
	if !ok {
		return "never seen", nil
	}
	return "last seen " + last.UTC().Format(time.RFC3339), nil
}

func (l *LastSeenCondition) text(bool) string {
	if l.WithinDays != nil {
		return "last seen in the last " + days(*l.WithinDays)
	}
	return "not seen for more than " + days(*l.MoreThanDaysAgo)
}

func (*LastSeenCondition) sources(add func(Source)) { add(Source{Kind: SourceEvent}) }

// Either form changes when the last event leaves the window (or, past the
// retention, when last_seen_at does).
func (l *LastSeenCondition) crossing(x *crossing) { x.seen("last_seen_at", l.days()) }

// users.last_seen_at is a column of the user, kept whatever is deleted.
func (*LastSeenCondition) reach(string, func(string, int)) {}

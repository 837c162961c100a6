package segment

import (
	"fmt"

	"github.com/pulse-analytics/pulse/internal/invalid"
)

// Reach is one condition of a rule that reads stored history (events,
// daily activity, feedback or survey responses) and how far back it
// reads. A project's retention deletes history older than its window, so
// a rule whose reach exceeds the retention would see its members change
// as the data goes (see CheckRetention).
type Reach struct {
	// Path is the condition's path, as validation errors spell it
	// ("rule.and[0].event").
	Path string
	// Days is the condition's window; 0 means the condition has none and
	// reads all of the history.
	Days int
}

// Unbounded reports whether the condition reads all of the history.
func (r Reach) Unbounded() bool { return r.Days == 0 }

// Reaches lists the conditions of r that read stored history, in the
// order of the rule. Conditions over the user's columns (traits, first and
// last seen) and inSegment read none.
func Reaches(r *Rule) []Reach {
	var out []Reach
	reachOf(r, "rule", func(path string, days int) { out = append(out, Reach{Path: path, Days: days}) })
	return out
}

// reachOf adds the reaches of node r at path (without r's field).
func reachOf(r *Rule, path string, add func(path string, days int)) {
	if k, field := r.kind(); k != nil {
		k.reach(path+"."+field, add)
	}
}

// reachList adds the reaches of a list of rules at path ("rule.and").
func reachList(rules []*Rule, path string, add func(path string, days int)) {
	for i, child := range rules {
		reachOf(child, fmt.Sprintf("%s[%d]", path, i), add)
	}
}

// windowReach adds a condition with an optional window.
func windowReach(path string, days *int, add func(path string, days int)) {
	if days == nil {
		add(path, 0)
		return
	}
	add(path, *days)
}

// Longest is the longest of reaches: the days of history a rule needs,
// unbounded when one of them reads all of it; 0 and false for a rule that
// reads no history.
func Longest(reaches []Reach) (days int, unbounded bool) {
	for _, r := range reaches {
		if r.Unbounded() {
			return 0, true
		}
		days = max(days, r.Days)
	}
	return days, false
}

// Exceeds reports whether a rule with reaches reads history older than
// retentionDays keep.
func Exceeds(reaches []Reach, retentionDays int) bool {
	days, unbounded := Longest(reaches)
	return unbounded || days > retentionDays
}

// CheckRetention refuses a rule that reads history older than a retention
// of retentionDays keeps (0 for none: every rule is fine), with an
// *invalid.Error at the withinDays of the first condition past it.
func CheckRetention(r *Rule, retentionDays int) error {
	if retentionDays <= 0 {
		return nil
	}
	for _, reach := range Reaches(r) {
		switch {
		case reach.Unbounded():
			return invalid.Field(reach.Path+".withinDays",
				"is required: the project keeps %s of history (Project.retentionDays), and a condition without a window reads all of it; set at most %d",
				nDays(retentionDays), retentionDays)
		case reach.Days > retentionDays:
			return invalid.Field(reach.Path+".withinDays",
				"must be at most %d: the project keeps %s of history (Project.retentionDays), got %d",
				retentionDays, nDays(retentionDays), reach.Days)
		}
	}
	return nil
}

// nDays is "1 day" or "n days".
func nDays(n int) string {
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

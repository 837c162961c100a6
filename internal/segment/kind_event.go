package segment

import (
	"fmt"
	"strings"
	"time"
)

// An event condition counts the user's events of one name that match every
// where filter, in its window when it has one.

func (ev *EventCondition) validate(v *validator, path string, _ int) {
	if strings.TrimSpace(ev.Name) == "" {
		v.fail(path+".name", "must not be empty")
	}
	for i, f := range ev.Where {
		p := fmt.Sprintf("%s.where[%d]", path, i)
		if strings.TrimSpace(f.Property) == "" {
			v.fail(p+".property", "must not be empty")
		}
		v.operand(p, f.Op, f.Value, f.Values)
	}
	v.count(path+".count", ev.Count)
	v.window(path+".withinDays", ev.WithinDays, false)
}

func (ev *EventCondition) compile(c *compiler) (*cond, error) {
	name := ev.Name
	filter := []string{"e.name = " + c.arg(name)}
	for _, f := range ev.Where {
		filter = append(filter, c.value("e.properties", f.Property, f.Op, f.Value, f.Values))
	}
	var start *time.Time
	if ev.WithinDays != nil {
		s := c.since(*ev.WithinDays)
		start = &s
	}
	return c.countLeaf(fromEvents, c.eventColumn(eventColumn{filter: filter, start: start, name: &name}), ev.count()), nil
}

// count is the comparison, ≥ 1 by default.
func (ev *EventCondition) count() Count {
	if ev.Count != nil {
		return *ev.Count
	}
	return Count{Op: OpGTE, Value: 1}
}

// matching counts the events the condition counts; evaluate compares it
// and observe shows it.
func (ev *EventCondition) matching(e *evaluator, u RefUser) int {
	n := 0
	for _, x := range e.events[u.ID] {
		if x.Name != ev.Name || (ev.WithinDays != nil && x.At.Before(e.since(*ev.WithinDays))) {
			continue
		}
		matches := true
		for _, f := range ev.Where {
			if !valueHolds(x.Properties, f.Property, f.Op, f.Value, f.Values) {
				matches = false
				break
			}
		}
		if matches {
			n++
		}
	}
	return n
}

func (ev *EventCondition) evaluate(e *evaluator, u RefUser) bool {
	return compareInt(ev.matching(e, u), ev.count())
}

func (ev *EventCondition) observe(e *evaluator, u RefUser, _ string) (string, []*Explanation) {
	return fmt.Sprintf("%s%s: %d times%s", ev.Name, ev.whereText(), ev.matching(e, u), window(ev.WithinDays)), nil
}

func (ev *EventCondition) text(bool) string {
	count := ev.count()
	s := fmt.Sprintf("%s %s times", ev.Name, countText(count))
	if count == (Count{Op: OpEQ, Value: 0}) {
		s = "never " + ev.Name
	}
	return s + ev.whereText() + window(ev.WithinDays)
}

func (ev *EventCondition) whereText() string {
	var s string
	for _, f := range ev.Where {
		s += " where " + valueText(f.Property, f.Op, f.Value, f.Values)
	}
	return s
}

func (ev *EventCondition) sources(add func(Source)) { add(Source{Kind: SourceEvent, Name: ev.Name}) }

// An event leaves the window when the window's start passes it; where
// filters are left out, as a superset is enough.
func (ev *EventCondition) crossing(x *crossing) {
	if ev.WithinDays != nil {
		x.events(ev.Name, x.window(*ev.WithinDays))
	}
}

func (ev *EventCondition) reach(path string, add func(string, int)) {
	windowReach(path, ev.WithinDays, add)
}

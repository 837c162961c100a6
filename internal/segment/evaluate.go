package segment

import (
	"sort"
	"strings"
	"time"

	"github.com/pulse-analytics/pulse/ent/schema/schematype"
)

// Dataset is a project's data in memory, for the reference evaluator.
type Dataset struct {
	Users     []RefUser
	Events    []RefEvent
	Feedback  []RefFeedback
	Responses []RefResponse
	// Members are the current members of other segments, for inSegment.
	Members map[int]map[int]bool
	// ActiveEvents are the event names that count as activity; nil: all.
	ActiveEvents map[string]bool
}

// RefUser is a user with its traits.
type RefUser struct {
	ID     int
	Traits map[string]any
	// FirstSeen and LastSeen, when both set, are the user's first and last
	// usage as the users table keeps them, which is what compiled rules
	// read; unset, they are the user's first and last event. They differ
	// once events are deleted (a project's retention) while the user
	// stays: Explain loads them so it says what the rule saw.
	FirstSeen, LastSeen *time.Time
}

// RefEvent is a usage event.
type RefEvent struct {
	UserID     int
	Name       string
	At         time.Time
	Platform   string
	Properties map[string]any
}

// RefFeedback is one feedback.
type RefFeedback struct {
	ID, UserID      int
	Kind, Sentiment string
	Rating, NPS     *int
	At              time.Time
}

// RefResponse is one survey response.
type RefResponse struct {
	ID, UserID, SurveyID int
	At                   time.Time
	Answers              []schematype.SurveyAnswer
}

// Evaluate is the reference semantics of a rule: it returns the ids of the
// users it holds for, computed naively from raw data. It is the oracle the
// SQL compiler is tested against, and the definition of each condition.
func Evaluate(r *Rule, d *Dataset, env Env) []int {
	e := newEvaluator(d, env)
	var ids []int
	for _, u := range d.Users {
		if e.holds(r, u) {
			ids = append(ids, u.ID)
		}
	}
	sort.Ints(ids)
	return ids
}

type evaluator struct {
	d   *Dataset
	env Env
	// events are the dataset's events by user.
	events map[int][]RefEvent
}

func newEvaluator(d *Dataset, env Env) *evaluator {
	if env.Location == nil {
		env.Location = time.UTC
	}
	e := &evaluator{d: d, env: env, events: map[int][]RefEvent{}}
	for _, ev := range d.Events {
		e.events[ev.UserID] = append(e.events[ev.UserID], ev)
	}
	return e
}

func (e *evaluator) since(days int) time.Time {
	return e.env.Now.Add(-time.Duration(days) * 24 * time.Hour)
}

// holds evaluates one node; a node without a field holds for no one.
func (e *evaluator) holds(r *Rule, u RefUser) bool {
	k, _ := r.kind()
	return k != nil && k.evaluate(e, u)
}

// seen is the user's first and last usage: the columns of the user when
// loaded, else from raw events.
func (e *evaluator) seen(u RefUser) (first, last time.Time, ok bool) {
	if u.FirstSeen != nil && u.LastSeen != nil {
		return *u.FirstSeen, *u.LastSeen, true
	}
	for i, ev := range e.events[u.ID] {
		if i == 0 || ev.At.Before(first) {
			first = ev.At
		}
		if i == 0 || ev.At.After(last) {
			last = ev.At
		}
	}
	return first, last, len(e.events[u.ID]) > 0
}

func compareInt(n int, c Count) bool { return compareFloat(float64(n), float64(c.Value), c.Op) }

func compareFloat(a, b float64, op CompareOp) bool {
	switch op {
	case OpEQ:
		return a == b
	case OpNEQ:
		return a != b
	case OpGT:
		return a > b
	case OpGTE:
		return a >= b
	case OpLT:
		return a < b
	}
	return a <= b
}

func compareString(a, b string, op CompareOp) bool {
	return compareFloat(float64(strings.Compare(a, b)), 0, op)
}

// valueHolds is the reference semantics of a trait or property comparison.
func valueHolds(obj map[string]any, key string, op ValueOp, v any, values []any) bool {
	x, exists := obj[key]
	switch op {
	case ValueExists:
		return exists
	case ValueNotExists:
		return !exists
	case ValueContains:
		want := scalarText(v)
		switch t := x.(type) {
		case string:
			return strings.Contains(t, want)
		case []any:
			for _, el := range t {
				if s, ok := el.(string); ok && s == want {
					return true
				}
			}
		}
		return false
	case ValueIn, ValueNotIn:
		if !exists {
			return false
		}
		found := false
		for _, w := range values {
			if scalarHolds(x, OpEQ, w) {
				found = true
			}
		}
		return found == (op == ValueIn)
	}
	return exists && scalarHolds(x, CompareOp(op), v)
}

// scalarHolds compares a stored JSON value with a rule value: numerically
// when both are numbers, else as text (a stored value as PostgreSQL's ->>
// renders it).
func scalarHolds(stored any, op CompareOp, v any) bool {
	switch stored.(type) {
	case nil, map[string]any, []any:
		return false // only scalars compare
	}
	a, aNum := number(stored)
	b, bNum := number(v)
	if aNum && bNum {
		return compareFloat(a, b, op)
	}
	return compareString(scalarText(stored), scalarText(v), op)
}

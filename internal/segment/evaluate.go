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
	if env.Location == nil {
		env.Location = time.UTC
	}
	e := &evaluator{d: d, env: env, events: map[int][]RefEvent{}}
	for _, ev := range d.Events {
		e.events[ev.UserID] = append(e.events[ev.UserID], ev)
	}
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
	d      *Dataset
	env    Env
	events map[int][]RefEvent
}

func (e *evaluator) since(days int) time.Time {
	return e.env.Now.Add(-time.Duration(days) * 24 * time.Hour)
}

func (e *evaluator) holds(r *Rule, u RefUser) bool {
	switch {
	case r.And != nil:
		for _, c := range r.And {
			if !e.holds(c, u) {
				return false
			}
		}
		return true
	case r.Or != nil:
		for _, c := range r.Or {
			if e.holds(c, u) {
				return true
			}
		}
		return false
	case r.Not != nil:
		return !e.holds(r.Not, u)
	case r.InSegment != nil:
		return e.d.Members[*r.InSegment][u.ID]
	case r.Trait != nil:
		return valueHolds(u.Traits, r.Trait.Key, r.Trait.Op, r.Trait.Value, r.Trait.Values)
	case r.Event != nil:
		return e.event(r.Event, u)
	case r.Activity != nil:
		return compareInt(e.activeDays(u, r.Activity.WithinDays), r.Activity.ActiveDays)
	case r.FirstSeen != nil:
		first, _, ok := e.seen(u)
		return ok && !first.Before(e.since(r.FirstSeen.WithinDays))
	case r.LastSeen != nil:
		_, last, ok := e.seen(u)
		if r.LastSeen.WithinDays != nil {
			return ok && !last.Before(e.since(*r.LastSeen.WithinDays))
		}
		return ok && last.Before(e.since(*r.LastSeen.MoreThanDaysAgo))
	case r.Platform != nil:
		return e.platform(r.Platform, u)
	case r.Feedback != nil:
		return e.feedback(r.Feedback, u)
	case r.Survey != nil:
		return e.survey(r.Survey, u)
	}
	return false
}

// seen is the user's first and last usage, from raw events.
func (e *evaluator) seen(u RefUser) (first, last time.Time, ok bool) {
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

func (e *evaluator) event(c *EventCondition, u RefUser) bool {
	n := 0
	for _, ev := range e.events[u.ID] {
		if ev.Name != c.Name || (c.WithinDays != nil && ev.At.Before(e.since(*c.WithinDays))) {
			continue
		}
		matches := true
		for _, f := range c.Where {
			if !valueHolds(ev.Properties, f.Property, f.Op, f.Value, f.Values) {
				matches = false
				break
			}
		}
		if matches {
			n++
		}
	}
	count := Count{Op: OpGTE, Value: 1}
	if c.Count != nil {
		count = *c.Count
	}
	return compareInt(n, count)
}

func (e *evaluator) activeDays(u RefUser, within int) int {
	first := FirstActiveDay(e.env.Now, e.env.Location, within)
	days := map[string]bool{}
	for _, ev := range e.events[u.ID] {
		if e.d.ActiveEvents != nil && !e.d.ActiveEvents[ev.Name] {
			continue
		}
		day := ev.At.In(e.env.Location).Format(time.DateOnly)
		if day >= first {
			days[day] = true
		}
	}
	return len(days)
}

func (e *evaluator) platform(c *PlatformCondition, u RefUser) bool {
	total, on := 0, 0
	for _, ev := range e.events[u.ID] {
		if ev.At.Before(e.since(c.WithinDays)) {
			continue
		}
		total++
		if ev.Platform == string(c.Platform) {
			on++
		}
	}
	return total > 0 && float64(on) >= c.MinShare*float64(total)
}

func (e *evaluator) feedback(c *FeedbackCondition, u RefUser) bool {
	var start *time.Time
	if c.WithinDays != nil {
		s := e.since(*c.WithinDays)
		start = &s
	}
	inWindow := func(f RefFeedback) bool { return f.UserID == u.ID && (start == nil || !f.At.Before(*start)) }
	if c.NpsCategory != nil {
		var latest *RefFeedback
		for i, f := range e.d.Feedback {
			if !inWindow(f) || f.NPS == nil {
				continue
			}
			if latest == nil || f.At.After(latest.At) || (f.At.Equal(latest.At) && f.ID > latest.ID) {
				latest = &e.d.Feedback[i]
			}
		}
		low, high := npsRange(*c.NpsCategory)
		if latest == nil || *latest.NPS < low || *latest.NPS > high {
			return false
		}
		if c.Count == nil && c.Kind == nil && c.Sentiment == nil && c.Rating == nil {
			return true
		}
	}
	n := 0
	for _, f := range e.d.Feedback {
		switch {
		case !inWindow(f),
			c.Kind != nil && f.Kind != string(*c.Kind),
			c.Sentiment != nil && f.Sentiment != string(*c.Sentiment),
			c.Rating != nil && (f.Rating == nil || !compareInt(*f.Rating, *c.Rating)):
			continue
		}
		n++
	}
	count := Count{Op: OpGTE, Value: 1}
	if c.Count != nil {
		count = *c.Count
	}
	return compareInt(n, count)
}

func (e *evaluator) survey(c *SurveyCondition, u RefUser) bool {
	var latest *RefResponse
	for i, r := range e.d.Responses {
		if r.UserID != u.ID || r.SurveyID != c.SurveyID || (c.WithinDays != nil && r.At.Before(e.since(*c.WithinDays))) {
			continue
		}
		if latest == nil || r.At.After(latest.At) || (r.At.Equal(latest.At) && r.ID > latest.ID) {
			latest = &e.d.Responses[i]
		}
	}
	if latest == nil {
		return false
	}
	if c.QuestionID == nil {
		return true
	}
	for _, a := range latest.Answers {
		if a.QuestionID != *c.QuestionID {
			continue
		}
		if c.Score != nil && (a.Score == nil || !compareInt(*a.Score, *c.Score)) {
			continue
		}
		if c.AnswerIn != nil && !answerIn(a, c.AnswerIn) {
			continue
		}
		return true
	}
	return false
}

func answerIn(a schematype.SurveyAnswer, in []string) bool {
	for _, want := range in {
		for _, ch := range a.Choices {
			if ch == want {
				return true
			}
		}
		if a.Text != nil && *a.Text == want {
			return true
		}
	}
	return false
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

package segment

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/pulse-analytics/pulse/internal/invalid"
)

// Limits on the size of a rule, so one definition cannot make a statement
// the database chokes on.
const (
	MaxRuleDepth = 16
	MaxRuleNodes = 200
	// MaxWindowDays bounds every withinDays / moreThanDaysAgo: ten years.
	MaxWindowDays = 3650
	maxListValues = 1000
)

// ErrCycle is wrapped by the error of a rule that reaches its own segment
// through inSegment.
var ErrCycle = errors.New("inSegment cycle")

// ValidationError says what is wrong with a rule and where, as a path such as
// "rule.and[1].event.withinDays".
type ValidationError = invalid.Error

// Validate checks the meaning of a rule that decoded: exactly one field per
// node, non-empty and/or, valid operators and operand types, windows within
// bounds. References to other segments and surveys are checked by the caller,
// which knows the project (see Store).
func Validate(r *Rule) error {
	v := validator{}
	v.node("rule", r, 1)
	return v.err
}

type validator struct {
	err   error
	nodes int
}

func (v *validator) fail(path, format string, args ...any) {
	if v.err == nil {
		v.err = invalid.Field(path, format, args...)
	}
}

func (v *validator) node(path string, r *Rule, depth int) {
	if v.err != nil {
		return
	}
	if r == nil {
		v.fail(path, "a rule is required")
		return
	}
	v.nodes++
	if v.nodes > MaxRuleNodes {
		v.fail(path, "a rule may have at most %d nodes", MaxRuleNodes)
		return
	}
	if depth > MaxRuleDepth {
		v.fail(path, "a rule may nest at most %d levels deep", MaxRuleDepth)
		return
	}
	set := r.setFields()
	if len(set) != 1 {
		if len(set) == 0 {
			v.fail(path, "set exactly one of and, or, not, inSegment, trait, event, activity, firstSeen, lastSeen, platform, feedback, survey; none is set")
		} else {
			v.fail(path, "set exactly one field per rule node; %s are set", strings.Join(set, ", "))
		}
		return
	}
	switch {
	case r.And != nil:
		v.list(path+".and", r.And, depth)
	case r.Or != nil:
		v.list(path+".or", r.Or, depth)
	case r.Not != nil:
		v.node(path+".not", r.Not, depth+1)
	case r.InSegment != nil:
		if *r.InSegment <= 0 {
			v.fail(path+".inSegment", "not a segment id")
		}
	case r.Trait != nil:
		v.trait(path+".trait", r.Trait)
	case r.Event != nil:
		v.event(path+".event", r.Event)
	case r.Activity != nil:
		v.activity(path+".activity", r.Activity)
	case r.FirstSeen != nil:
		v.window(path+".firstSeen.withinDays", &r.FirstSeen.WithinDays, true)
	case r.LastSeen != nil:
		v.lastSeen(path+".lastSeen", r.LastSeen)
	case r.Platform != nil:
		v.platform(path+".platform", r.Platform)
	case r.Feedback != nil:
		v.feedback(path+".feedback", r.Feedback)
	case r.Survey != nil:
		v.survey(path+".survey", r.Survey)
	}
}

func (r *Rule) setFields() []string {
	var set []string
	add := func(name string, ok bool) {
		if ok {
			set = append(set, name)
		}
	}
	add("and", r.And != nil)
	add("or", r.Or != nil)
	add("not", r.Not != nil)
	add("inSegment", r.InSegment != nil)
	add("trait", r.Trait != nil)
	add("event", r.Event != nil)
	add("activity", r.Activity != nil)
	add("firstSeen", r.FirstSeen != nil)
	add("lastSeen", r.LastSeen != nil)
	add("platform", r.Platform != nil)
	add("feedback", r.Feedback != nil)
	add("survey", r.Survey != nil)
	return set
}

func (v *validator) list(path string, rules []*Rule, depth int) {
	if len(rules) == 0 {
		v.fail(path, "needs at least one rule")
		return
	}
	for i, child := range rules {
		v.node(fmt.Sprintf("%s[%d]", path, i), child, depth+1)
	}
}

// window checks an optional (or, when required, mandatory) day window.
func (v *validator) window(path string, days *int, required bool) {
	switch {
	case days == nil && required:
		v.fail(path, "is required")
	case days == nil:
	case *days < 1:
		v.fail(path, "must be at least 1 day, got %d", *days)
	case *days > MaxWindowDays:
		v.fail(path, "must be at most %d days, got %d", MaxWindowDays, *days)
	}
}

func (v *validator) count(path string, c *Count) {
	if c == nil {
		return
	}
	if !c.Op.Valid() {
		v.fail(path+".op", "unknown operator %q", c.Op)
		return
	}
	if c.Value < 0 {
		v.fail(path+".value", "must not be negative, got %d", c.Value)
	}
}

func (v *validator) trait(path string, t *TraitCondition) {
	if strings.TrimSpace(t.Key) == "" {
		v.fail(path+".key", "must not be empty")
		return
	}
	v.operand(path, t.Op, t.Value, t.Values)
}

// operand checks that an operator gets the operands it needs and no others.
func (v *validator) operand(path string, op ValueOp, value any, values []any) {
	switch {
	case !op.Valid():
		v.fail(path+".op", "unknown operator %q", op)
	case op == ValueExists || op == ValueNotExists:
		if value != nil || values != nil {
			v.fail(path, "%s takes no value", op)
		}
	case op == ValueIn || op == ValueNotIn:
		if value != nil {
			v.fail(path+".value", "%s takes values, not value", op)
		} else if len(values) == 0 {
			v.fail(path+".values", "%s needs at least one value", op)
		} else if len(values) > maxListValues {
			v.fail(path+".values", "at most %d values", maxListValues)
		} else {
			for i, x := range values {
				v.scalar(fmt.Sprintf("%s.values[%d]", path, i), x)
			}
		}
	default:
		if values != nil {
			v.fail(path+".values", "%s takes value, not values", op)
		} else if value == nil {
			v.fail(path+".value", "%s needs a value", op)
		} else {
			v.scalar(path+".value", value)
			if op == ValueContains {
				if _, ok := value.(string); !ok {
					v.fail(path+".value", "CONTAINS needs a string")
				}
			}
		}
	}
}

// scalar accepts strings, numbers and booleans: the values a trait or
// property comparison can meaningfully take.
func (v *validator) scalar(path string, x any) {
	switch n := x.(type) {
	case string, bool, int, int64, int32:
	case float64:
		if math.IsNaN(n) || math.IsInf(n, 0) {
			v.fail(path, "must be a finite number")
		}
	default:
		if _, ok := x.(interface{ String() string }); ok {
			return // json.Number
		}
		v.fail(path, "must be a string, number or boolean, got %T", x)
	}
}

func (v *validator) event(path string, e *EventCondition) {
	if strings.TrimSpace(e.Name) == "" {
		v.fail(path+".name", "must not be empty")
	}
	for i, f := range e.Where {
		p := fmt.Sprintf("%s.where[%d]", path, i)
		if strings.TrimSpace(f.Property) == "" {
			v.fail(p+".property", "must not be empty")
		}
		v.operand(p, f.Op, f.Value, f.Values)
	}
	v.count(path+".count", e.Count)
	v.window(path+".withinDays", e.WithinDays, false)
}

func (v *validator) activity(path string, a *ActivityCondition) {
	v.count(path+".activeDays", &a.ActiveDays)
	v.window(path+".withinDays", &a.WithinDays, true)
	if v.err == nil && a.ActiveDays.Value > a.WithinDays {
		v.fail(path+".activeDays.value", "cannot exceed withinDays (%d)", a.WithinDays)
	}
}

func (v *validator) lastSeen(path string, l *LastSeenCondition) {
	if (l.WithinDays == nil) == (l.MoreThanDaysAgo == nil) {
		v.fail(path, "set exactly one of withinDays and moreThanDaysAgo")
		return
	}
	v.window(path+".withinDays", l.WithinDays, false)
	v.window(path+".moreThanDaysAgo", l.MoreThanDaysAgo, false)
}

func (v *validator) platform(path string, p *PlatformCondition) {
	if err := validPlatform(p.Platform); err != nil {
		v.fail(path+".platform", "%v", err)
	}
	if !(p.MinShare > 0 && p.MinShare <= 1) {
		v.fail(path+".minShare", "must be in (0, 1], got %v", p.MinShare)
	}
	v.window(path+".withinDays", &p.WithinDays, true)
}

func (v *validator) feedback(path string, f *FeedbackCondition) {
	if f.Kind != nil {
		if err := validFeedbackKind(*f.Kind); err != nil {
			v.fail(path+".kind", "%v", err)
		}
	}
	if f.NpsCategory != nil && !f.NpsCategory.Valid() {
		v.fail(path+".npsCategory", "unknown category %q", *f.NpsCategory)
	}
	if f.Sentiment != nil {
		if err := validSentiment(*f.Sentiment); err != nil {
			v.fail(path+".sentiment", "%v", err)
		}
	}
	v.count(path+".rating", f.Rating)
	if f.Rating != nil && (f.Rating.Value < 1 || f.Rating.Value > 5) {
		v.fail(path+".rating.value", "ratings are 1 to 5, got %d", f.Rating.Value)
	}
	v.count(path+".count", f.Count)
	v.window(path+".withinDays", f.WithinDays, false)
}

func (v *validator) survey(path string, s *SurveyCondition) {
	if s.SurveyID <= 0 {
		v.fail(path+".surveyId", "not a survey id")
	}
	if s.QuestionID != nil && *s.QuestionID <= 0 {
		v.fail(path+".questionId", "not a question id")
	}
	if (s.AnswerIn != nil || s.Score != nil) && s.QuestionID == nil {
		v.fail(path+".questionId", "is required with answerIn or score")
	}
	if s.AnswerIn != nil && len(s.AnswerIn) == 0 {
		v.fail(path+".answerIn", "needs at least one answer")
	}
	v.count(path+".score", s.Score)
	v.window(path+".withinDays", s.WithinDays, false)
}

package segment

import (
	"fmt"
	"strconv"
	"strings"
)

// Text renders a rule for people: "export ≥ 3 times in the last 30 days AND
// MOBILE ≥ 70% of events in the last 28 days". Segment names are not known
// here, so inSegment shows the id.
func Text(r *Rule) string {
	return text(r, false)
}

func text(r *Rule, nested bool) string {
	switch {
	case r == nil:
		return ""
	case r.And != nil:
		return join(r.And, " AND ", nested)
	case r.Or != nil:
		return join(r.Or, " OR ", nested)
	case r.Not != nil:
		return "NOT " + text(r.Not, true)
	case r.InSegment != nil:
		return fmt.Sprintf("in segment %d", *r.InSegment)
	case r.Trait != nil:
		return valueText("trait "+r.Trait.Key, r.Trait.Op, r.Trait.Value, r.Trait.Values)
	case r.Event != nil:
		return eventText(r.Event)
	case r.Activity != nil:
		return fmt.Sprintf("active %s days of the last %d", countText(r.Activity.ActiveDays), r.Activity.WithinDays)
	case r.FirstSeen != nil:
		return "first seen in the last " + days(r.FirstSeen.WithinDays)
	case r.LastSeen != nil && r.LastSeen.WithinDays != nil:
		return "last seen in the last " + days(*r.LastSeen.WithinDays)
	case r.LastSeen != nil:
		return "not seen for more than " + days(*r.LastSeen.MoreThanDaysAgo)
	case r.Platform != nil:
		return fmt.Sprintf("%s ≥ %s%% of events in the last %s", r.Platform.Platform,
			strconv.FormatFloat(r.Platform.MinShare*100, 'f', -1, 64), days(r.Platform.WithinDays))
	case r.Feedback != nil:
		return feedbackText(r.Feedback)
	case r.Survey != nil:
		return surveyText(r.Survey)
	}
	return ""
}

func join(rules []*Rule, sep string, nested bool) string {
	parts := make([]string, len(rules))
	for i, c := range rules {
		parts[i] = text(c, true)
	}
	s := strings.Join(parts, sep)
	if nested && len(rules) > 1 {
		return "(" + s + ")"
	}
	return s
}

var opSymbols = map[CompareOp]string{OpEQ: "=", OpNEQ: "≠", OpGT: ">", OpGTE: "≥", OpLT: "<", OpLTE: "≤"}

func countText(c Count) string { return opSymbols[c.Op] + " " + strconv.Itoa(c.Value) }

func days(n int) string {
	if n == 1 {
		return "day"
	}
	return strconv.Itoa(n) + " days"
}

func window(withinDays *int) string {
	if withinDays == nil {
		return ""
	}
	return " in the last " + days(*withinDays)
}

func eventText(e *EventCondition) string {
	count := Count{Op: OpGTE, Value: 1}
	if e.Count != nil {
		count = *e.Count
	}
	s := fmt.Sprintf("%s %s times", e.Name, countText(count))
	if count == (Count{Op: OpEQ, Value: 0}) {
		s = "never " + e.Name
	}
	for _, f := range e.Where {
		s += " where " + valueText(f.Property, f.Op, f.Value, f.Values)
	}
	return s + window(e.WithinDays)
}

func valueText(subject string, op ValueOp, v any, values []any) string {
	switch op {
	case ValueExists:
		return subject + " is set"
	case ValueNotExists:
		return subject + " is not set"
	case ValueIn, ValueNotIn:
		items := make([]string, len(values))
		for i, x := range values {
			items[i] = quote(x)
		}
		word := " in "
		if op == ValueNotIn {
			word = " not in "
		}
		return subject + word + "(" + strings.Join(items, ", ") + ")"
	case ValueContains:
		return subject + " contains " + quote(v)
	}
	return subject + " " + opSymbols[CompareOp(op)] + " " + quote(v)
}

func quote(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return scalarText(v)
}

func feedbackText(f *FeedbackCondition) string {
	var parts []string
	if f.NpsCategory != nil {
		parts = append(parts, "latest NPS is "+strings.ToLower(string(*f.NpsCategory)))
	}
	subject := "feedback"
	if f.Kind != nil {
		subject = string(*f.Kind) + " feedback"
	}
	var filters []string
	if f.Sentiment != nil {
		filters = append(filters, "sentiment "+string(*f.Sentiment))
	}
	if f.Rating != nil {
		filters = append(filters, "rating "+countText(*f.Rating))
	}
	if f.NpsCategory == nil || f.Count != nil || len(filters) > 0 || f.Kind != nil {
		count := Count{Op: OpGTE, Value: 1}
		if f.Count != nil {
			count = *f.Count
		}
		s := fmt.Sprintf("%s %s times", subject, countText(count))
		if len(filters) > 0 {
			s += " with " + strings.Join(filters, " and ")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " and ") + window(f.WithinDays)
}

func surveyText(s *SurveyCondition) string {
	t := fmt.Sprintf("answered survey %d", s.SurveyID)
	if s.QuestionID != nil {
		t += fmt.Sprintf(" with question %d", *s.QuestionID)
		if s.AnswerIn != nil {
			items := make([]string, len(s.AnswerIn))
			for i, a := range s.AnswerIn {
				items[i] = strconv.Quote(a)
			}
			t += " in (" + strings.Join(items, ", ") + ")"
		}
		if s.Score != nil {
			t += " score " + countText(*s.Score)
		}
	}
	return t + window(s.WithinDays)
}

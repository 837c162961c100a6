package segment

import (
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
	k, _ := r.kind()
	if k == nil {
		return ""
	}
	return k.text(nested)
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

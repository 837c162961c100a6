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
			fields := make([]string, len(ruleKinds))
			for i, rk := range ruleKinds {
				fields[i] = rk.field
			}
			v.fail(path, "set exactly one of %s; none is set", strings.Join(fields, ", "))
		} else {
			v.fail(path, "set exactly one field per rule node; %s are set", strings.Join(set, ", "))
		}
		return
	}
	k, field := r.kind()
	k.validate(v, path+"."+field, depth)
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

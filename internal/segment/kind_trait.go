package segment

import (
	"encoding/json"
	"strings"
)

// A trait condition compares one of the user's traits with a value (see
// valueHolds for the semantics).

func (t *TraitCondition) validate(v *validator, path string, _ int) {
	if strings.TrimSpace(t.Key) == "" {
		v.fail(path+".key", "must not be empty")
		return
	}
	v.operand(path, t.Op, t.Value, t.Values)
}

func (t *TraitCondition) compile(c *compiler) (*cond, error) {
	return userLeaf(c.value("u.traits", t.Key, t.Op, t.Value, t.Values)), nil
}

func (t *TraitCondition) evaluate(_ *evaluator, u RefUser) bool {
	return valueHolds(u.Traits, t.Key, t.Op, t.Value, t.Values)
}

func (t *TraitCondition) observe(_ *evaluator, u RefUser, _ string) (string, []*Explanation) {
	v, ok := u.Traits[t.Key]
	if !ok {
		return t.Key + " is not set", nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		// Traits come from JSON; anything else is shown as Go prints it.
		return t.Key + " = " + quote(v), nil
	}
	return t.Key + " = " + string(b), nil
}

func (t *TraitCondition) text(bool) string {
	return valueText("trait "+t.Key, t.Op, t.Value, t.Values)
}

func (t *TraitCondition) sources(add func(Source)) { add(Source{Kind: SourceTrait, Name: t.Key}) }

func (*TraitCondition) crossing(*crossing) {}

func (*TraitCondition) reach(string, func(string, int)) {}

package segment

import "io"

// CompareOp compares two numbers.
type CompareOp string

// The comparison operators.
const (
	OpEQ  CompareOp = "EQ"
	OpNEQ CompareOp = "NEQ"
	OpGT  CompareOp = "GT"
	OpGTE CompareOp = "GTE"
	OpLT  CompareOp = "LT"
	OpLTE CompareOp = "LTE"
)

var compareOps = map[string]bool{"EQ": true, "NEQ": true, "GT": true, "GTE": true, "LT": true, "LTE": true}

// Valid reports whether op is a known operator.
func (op CompareOp) Valid() bool { return compareOps[string(op)] }

// UnmarshalGQL implements gqlgen's enum binding.
func (op *CompareOp) UnmarshalGQL(v any) error {
	s, err := unmarshalEnum(v, compareOps, "CompareOp")
	*op = CompareOp(s)
	return err
}

// MarshalGQL implements gqlgen's enum binding.
func (op CompareOp) MarshalGQL(w io.Writer) { marshalEnum(w, string(op)) }

// ValueOp compares a trait or property with one or more values.
type ValueOp string

// The value operators. IN and NOT_IN take Values; EXISTS and NOT_EXISTS take
// nothing; the others take Value.
const (
	ValueEQ        ValueOp = "EQ"
	ValueNEQ       ValueOp = "NEQ"
	ValueGT        ValueOp = "GT"
	ValueGTE       ValueOp = "GTE"
	ValueLT        ValueOp = "LT"
	ValueLTE       ValueOp = "LTE"
	ValueIn        ValueOp = "IN"
	ValueNotIn     ValueOp = "NOT_IN"
	ValueContains  ValueOp = "CONTAINS"
	ValueExists    ValueOp = "EXISTS"
	ValueNotExists ValueOp = "NOT_EXISTS"
)

var valueOps = map[string]bool{
	"EQ": true, "NEQ": true, "GT": true, "GTE": true, "LT": true, "LTE": true,
	"IN": true, "NOT_IN": true, "CONTAINS": true, "EXISTS": true, "NOT_EXISTS": true,
}

// Valid reports whether op is a known operator.
func (op ValueOp) Valid() bool { return valueOps[string(op)] }

// UnmarshalGQL implements gqlgen's enum binding.
func (op *ValueOp) UnmarshalGQL(v any) error {
	s, err := unmarshalEnum(v, valueOps, "ValueOp")
	*op = ValueOp(s)
	return err
}

// MarshalGQL implements gqlgen's enum binding.
func (op ValueOp) MarshalGQL(w io.Writer) { marshalEnum(w, string(op)) }

// NpsCategory groups NPS scores: promoters 9-10, passives 7-8, detractors 0-6.
type NpsCategory string

// The NPS categories.
const (
	NpsPromoter  NpsCategory = "PROMOTER"
	NpsPassive   NpsCategory = "PASSIVE"
	NpsDetractor NpsCategory = "DETRACTOR"
)

var npsCategories = map[string]bool{"PROMOTER": true, "PASSIVE": true, "DETRACTOR": true}

// Valid reports whether c is a known category.
func (c NpsCategory) Valid() bool { return npsCategories[string(c)] }

// UnmarshalGQL implements gqlgen's enum binding.
func (c *NpsCategory) UnmarshalGQL(v any) error {
	s, err := unmarshalEnum(v, npsCategories, "NpsCategory")
	*c = NpsCategory(s)
	return err
}

// MarshalGQL implements gqlgen's enum binding.
func (c NpsCategory) MarshalGQL(w io.Writer) { marshalEnum(w, string(c)) }

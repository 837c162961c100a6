package segment

// kind is one kind of rule node. Each kind is one file (kind_event.go,
// kind_and.go, ...) and the only place that knows what the node means: the
// package's operations walk a rule through this interface, never through a
// switch over Rule's fields, so a kind cannot be handled by one operation
// and forgotten by another.
type kind interface {
	// validate checks the node; path names its field ("rule.and[0].event").
	validate(v *validator, path string, depth int)
	// compile renders the node as a condition of the SQL compiler.
	compile(c *compiler) (*cond, error)
	// evaluate is the reference semantics: whether the node holds for u.
	evaluate(e *evaluator, u RefUser) bool
	// observe is what Explain shows under the node: for a leaf, the value
	// it compared, measured by the code evaluate uses; for a combinator,
	// its children explained, each at its path below path.
	observe(e *evaluator, u RefUser, path string) (string, []*Explanation)
	// text renders the node for people; nested is set below and/or/not,
	// where a list of several needs parentheses.
	text(nested bool) string
	// sources adds each kind of change that can move a user (see Sources).
	sources(add func(Source))
	// crossing adds the rows that leave the node's windows while the clock
	// moves between x.from and x.to (see Crossers).
	crossing(x *crossing)
	// reach adds, for each condition at or below path that reads stored
	// history, its path and window in days, 0 for all of it (see Reaches).
	reach(path string, add func(path string, days int))
}

// ruleKind ties one field of Rule to its kind.
type ruleKind struct {
	// field is the field's JSON name, as paths and messages spell it.
	field string
	// of is the node as this kind, or nil when the field is not set.
	of func(r *Rule) kind
}

// ruleKinds lists every kind in the order of Rule's fields: a fixed table,
// never changed. A field of Rule missing here fails
// TestEveryRuleFieldIsAKind.
var ruleKinds = [...]ruleKind{
	{"and", func(r *Rule) kind { return nonNil(r.And != nil, andRule(r.And)) }},
	{"or", func(r *Rule) kind { return nonNil(r.Or != nil, orRule(r.Or)) }},
	{"not", func(r *Rule) kind { return nonNil(r.Not != nil, notRule{r.Not}) }},
	{"inSegment", func(r *Rule) kind {
		if r.InSegment == nil {
			return nil
		}
		return inSegmentRule(*r.InSegment)
	}},
	{"trait", func(r *Rule) kind { return nonNil(r.Trait != nil, r.Trait) }},
	{"event", func(r *Rule) kind { return nonNil(r.Event != nil, r.Event) }},
	{"activity", func(r *Rule) kind { return nonNil(r.Activity != nil, r.Activity) }},
	{"firstSeen", func(r *Rule) kind { return nonNil(r.FirstSeen != nil, r.FirstSeen) }},
	{"lastSeen", func(r *Rule) kind { return nonNil(r.LastSeen != nil, r.LastSeen) }},
	{"platform", func(r *Rule) kind { return nonNil(r.Platform != nil, r.Platform) }},
	{"feedback", func(r *Rule) kind { return nonNil(r.Feedback != nil, r.Feedback) }},
	{"survey", func(r *Rule) kind { return nonNil(r.Survey != nil, r.Survey) }},
}

// nonNil returns k when set, else a nil interface: a nil *EventCondition
// in an interface would not compare equal to nil.
func nonNil(set bool, k kind) kind {
	if !set {
		return nil
	}
	return k
}

// kind returns the node's kind and its field, or nil when no field is set.
// Of a node with several fields set (which Validate refuses) it returns
// the first.
func (r *Rule) kind() (kind, string) {
	if r == nil {
		return nil, ""
	}
	for _, rk := range ruleKinds {
		if k := rk.of(r); k != nil {
			return k, rk.field
		}
	}
	return nil, ""
}

// setFields lists the fields set on the node.
func (r *Rule) setFields() []string {
	var set []string
	for _, rk := range ruleKinds {
		if rk.of(r) != nil {
			set = append(set, rk.field)
		}
	}
	return set
}

// The kinds, checked at compile time.
var (
	_ kind = andRule(nil)
	_ kind = orRule(nil)
	_ kind = notRule{}
	_ kind = inSegmentRule(0)
	_ kind = (*TraitCondition)(nil)
	_ kind = (*EventCondition)(nil)
	_ kind = (*ActivityCondition)(nil)
	_ kind = (*FirstSeenCondition)(nil)
	_ kind = (*LastSeenCondition)(nil)
	_ kind = (*PlatformCondition)(nil)
	_ kind = (*FeedbackCondition)(nil)
	_ kind = (*SurveyCondition)(nil)
)

package segment

// notRule holds when its rule does not. The compiler's pruning relies on a
// rule being monotone in each leaf, which NOT keeps: it flips the leaf's
// polarity (see cond.relax).
type notRule struct{ rule *Rule }

func (n notRule) validate(v *validator, path string, depth int) { v.node(path, n.rule, depth+1) }

func (n notRule) compile(c *compiler) (*cond, error) {
	inner, err := c.node(n.rule)
	return &cond{not: inner}, err
}

func (n notRule) evaluate(e *evaluator, u RefUser) bool { return !e.holds(n.rule, u) }

func (n notRule) observe(e *evaluator, u RefUser, path string) (string, []*Explanation) {
	return "", []*Explanation{e.explain(n.rule, u, path)}
}

func (n notRule) text(bool) string { return "NOT " + text(n.rule, true) }

// A change that moves the rule moves its negation the other way.
func (n notRule) sources(add func(Source)) { sourcesOf(n.rule, add) }

func (n notRule) crossing(x *crossing) { x.add(n.rule) }

func (n notRule) reach(path string, add func(string, int)) { reachOf(n.rule, path, add) }

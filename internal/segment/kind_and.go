package segment

// andRule holds when every one of its rules holds.
type andRule []*Rule

func (a andRule) validate(v *validator, path string, depth int) { v.list(path, a, depth) }

func (a andRule) compile(c *compiler) (*cond, error) {
	children, err := c.list(a)
	return &cond{and: children}, err
}

func (a andRule) evaluate(e *evaluator, u RefUser) bool {
	for _, child := range a {
		if !e.holds(child, u) {
			return false
		}
	}
	return true
}

func (a andRule) observe(e *evaluator, u RefUser, path string) (string, []*Explanation) {
	return "", e.explainList(a, u, path)
}

func (a andRule) text(nested bool) string { return join(a, " AND ", nested) }

func (a andRule) sources(add func(Source)) {
	for _, child := range a {
		sourcesOf(child, add)
	}
}

func (a andRule) crossing(x *crossing) {
	for _, child := range a {
		x.add(child)
	}
}

func (a andRule) reach(path string, add func(string, int)) { reachList(a, path, add) }

package segment

// orRule holds when at least one of its rules holds.
type orRule []*Rule

func (o orRule) validate(v *validator, path string, depth int) { v.list(path, o, depth) }

func (o orRule) compile(c *compiler) (*cond, error) {
	children, err := c.list(o)
	return &cond{or: children}, err
}

func (o orRule) evaluate(e *evaluator, u RefUser) bool {
	for _, child := range o {
		if e.holds(child, u) {
			return true
		}
	}
	return false
}

func (o orRule) observe(e *evaluator, u RefUser, path string) (string, []*Explanation) {
	return "", e.explainList(o, u, path)
}

func (o orRule) text(nested bool) string { return join(o, " OR ", nested) }

func (o orRule) sources(add func(Source)) {
	for _, child := range o {
		sourcesOf(child, add)
	}
}

func (o orRule) crossing(x *crossing) {
	for _, child := range o {
		x.add(child)
	}
}

func (o orRule) reach(path string, add func(string, int)) { reachList(o, path, add) }

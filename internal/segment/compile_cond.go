package segment

import "strings"

// source is where a leaf condition reads from: the user row itself (traits,
// first/last seen, or a subquery per user), or one of the per-user aggregate
// scans that a statement shares between its leaves.
type source int8

const (
	fromUser source = iota
	fromEvents
	fromActivity
	fromFeedback
)

// tri is a truth value that may be unknown.
type tri int8

const (
	unknown tri = iota
	isFalse
	isTrue
)

func truth(b bool) tri {
	if b {
		return isTrue
	}
	return isFalse
}

func (t tri) not() tri {
	switch t {
	case isTrue:
		return isFalse
	case isFalse:
		return isTrue
	}
	return unknown
}

// cond is a compiled rule: a tree whose leaves render their SQL late. A leaf
// over per-user aggregates is rendered twice: over the joined columns in the
// statement's WHERE, and over the aggregates themselves in the HAVING of its
// scan, which keeps users who cannot match out of the joins.
type cond struct {
	and, or []*cond
	not     *cond
	// Leaf: what it reads, which columns of that scan, its value for a user
	// without rows in the scan (every column 0), and its SQL given the
	// expressions of its columns.
	source source
	cols   []int
	zero   bool
	render func(cols []string) string
}

func userLeaf(sql string) *cond {
	return &cond{source: fromUser, render: func([]string) string { return sql }}
}

// renderWith renders n, each leaf over its columns as col gives them.
func (n *cond) renderWith(col func(source, int) string) string {
	switch {
	case n.and != nil:
		return renderList(n.and, " AND ", col)
	case n.or != nil:
		return renderList(n.or, " OR ", col)
	case n.not != nil:
		return "NOT (" + n.not.renderWith(col) + ")"
	}
	cols := make([]string, len(n.cols))
	for i, c := range n.cols {
		cols[i] = col(n.source, c)
	}
	return n.render(cols)
}

func renderList(children []*cond, sep string, col func(source, int) string) string {
	parts := make([]string, len(children))
	for i, child := range children {
		parts[i] = "(" + child.renderWith(col) + ")"
	}
	return strings.Join(parts, sep)
}

// zeroIn is n's value for a user who has no rows in s, when the other
// sources are not known. When it is false, the statement inner-joins s:
// users absent from it cannot match.
func (n *cond) zeroIn(s source) tri {
	switch {
	case n.and != nil:
		all := isTrue
		for _, child := range n.and {
			switch child.zeroIn(s) {
			case isFalse:
				return isFalse
			case unknown:
				all = unknown
			}
		}
		return all
	case n.or != nil:
		any := isFalse
		for _, child := range n.or {
			switch child.zeroIn(s) {
			case isTrue:
				return isTrue
			case unknown:
				any = unknown
			}
		}
		return any
	case n.not != nil:
		return n.not.zeroIn(s).not()
	case n.source == s:
		return truth(n.zero)
	}
	return unknown
}

// relax renders a condition over the columns of s alone that every user
// matching n meets: each leaf of another source becomes true where it
// appears positively and false under an odd number of NOTs (a rule is
// monotone in its leaves, each of which appears once). A constant result
// comes back as isTrue or isFalse with no SQL.
func (n *cond) relax(s source, positive bool, col func(source, int) string) (string, tri) {
	switch {
	case n.and != nil:
		return relaxList(n.and, " AND ", isFalse, s, positive, col)
	case n.or != nil:
		return relaxList(n.or, " OR ", isTrue, s, positive, col)
	case n.not != nil:
		sql, c := n.not.relax(s, !positive, col)
		if c != unknown {
			return "", c.not()
		}
		return "NOT (" + sql + ")", unknown
	case n.source == s:
		return n.renderWith(col), unknown
	}
	return "", truth(positive)
}

// relaxList combines relaxed children; absorbing is the constant that
// decides the whole list (false for AND, true for OR), the other constant
// drops out.
func relaxList(children []*cond, sep string, absorbing tri, s source, positive bool, col func(source, int) string) (string, tri) {
	var parts []string
	for _, child := range children {
		sql, c := child.relax(s, positive, col)
		switch c {
		case absorbing:
			return "", absorbing
		case unknown:
			parts = append(parts, sql)
		}
	}
	switch len(parts) {
	case 0:
		return "", absorbing.not()
	case 1:
		return parts[0], unknown
	}
	return "(" + strings.Join(parts, ")"+sep+"(") + ")", unknown
}

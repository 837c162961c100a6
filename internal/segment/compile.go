package segment

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"
)

// Env is what a compiled rule needs besides the rule: whose users, and the
// clock and calendar that windows are measured with.
type Env struct {
	ProjectID int
	Now       time.Time
	// Location is the project's time zone, in which activity days are counted.
	Location *time.Location
	// Users, when not nil, restricts the evaluation to these users.
	Users []int64
}

// Query is a compiled rule: one parameterised statement that returns the id
// of every user of the project the rule holds for.
type Query struct {
	SQL  string
	Args []any
}

// Compile turns a validated rule into one statement. Every value and every
// property or trait name is a bind parameter; nothing from the rule is ever
// spliced into the SQL text. Event conditions (event and platform leaves)
// share one scan of the events window with FILTERed aggregates, activity
// leaves one scan of user_daily_activities, feedback leaves one scan of
// feedbacks; every user of the project is evaluated, so a user without
// events has count 0. When the rule cannot hold for a user without rows in
// a scan, that scan is inner-joined and keeps, in its HAVING, only the users
// whose aggregates can still match: the joins then carry the candidates,
// not every user of the project. An events scan whose counts are all of
// named events reads only those names (event_project_id_name_timestamp).
func Compile(r *Rule, env Env) (Query, error) {
	if err := Validate(r); err != nil {
		return Query{}, err
	}
	if env.Location == nil {
		env.Location = time.UTC
	}
	c := &compiler{env: env, bound: map[any]string{}}
	c.arg(env.ProjectID) // $1
	root, err := c.node(r)
	if err != nil {
		return Query{}, err
	}
	scans := c.scans()
	joined := func(s source, i int) string { return "COALESCE(" + scans[s].alias + "." + scans[s].column(i) + ", 0)" }
	aggregate := func(s source, i int) string { return scans[s].aggs[i] }
	var ctes, joins []string
	for _, s := range []source{fromEvents, fromActivity, fromFeedback} {
		sc := scans[s]
		if sc == nil {
			continue
		}
		join, having := "LEFT JOIN", ""
		if root.zeroIn(s) == isFalse {
			join = "JOIN"
			switch cond, constant := root.relax(s, true, aggregate); constant {
			case unknown:
				having = " HAVING " + cond
			case isFalse:
				having = " HAVING false"
			}
		}
		ctes = append(ctes, sc.cte(having))
		joins = append(joins, " "+join+" "+sc.alias+" ON "+sc.alias+".user_id = u.id")
	}
	var sql strings.Builder
	if len(ctes) > 0 {
		sql.WriteString("WITH " + strings.Join(ctes, ",\n") + "\n")
	}
	sql.WriteString("SELECT u.id FROM users u" + strings.Join(joins, ""))
	sql.WriteString("\nWHERE u.project_id = $1 AND (" + root.renderWith(joined) + ")")
	if env.Users != nil { // TEMPORARY until scans are restricted too
		users := c.arg(pq.Array(env.Users))
		return Query{SQL: "SELECT id FROM (" + sql.String() + ") restricted(id) WHERE id = ANY(" + users + "::bigint[])", Args: c.args}, nil
	}
	return Query{SQL: sql.String(), Args: c.args}, nil
}

type compiler struct {
	env  Env
	args []any
	// Columns of the shared per-user scans, rendered once the whole rule
	// is known (a column whose window is the scan's needs no filter for it).
	events   []eventColumn
	activity []string   // first day of each activity window
	feedback [][]string // conditions of each feedback count
	// bound is the placeholder of each value bound once (bindOnce).
	bound map[any]string
}

// arg binds v and returns its placeholder.
func (c *compiler) arg(v any) string {
	c.args = append(c.args, v)
	return "$" + strconv.Itoa(len(c.args))
}

func (c *compiler) node(r *Rule) (*cond, error) {
	switch {
	case r.And != nil:
		children, err := c.list(r.And)
		return &cond{and: children}, err
	case r.Or != nil:
		children, err := c.list(r.Or)
		return &cond{or: children}, err
	case r.Not != nil:
		inner, err := c.node(r.Not)
		return &cond{not: inner}, err
	case r.InSegment != nil:
		return userLeaf("EXISTS (SELECT 1 FROM segment_members sm WHERE sm.segment_id = " + c.arg(*r.InSegment) +
			" AND sm.user_id = u.id)"), nil
	case r.Trait != nil:
		return userLeaf(c.value("u.traits", r.Trait.Key, r.Trait.Op, r.Trait.Value, r.Trait.Values)), nil
	case r.Event != nil:
		return c.event(r.Event), nil
	case r.Activity != nil:
		return c.activityDays(r.Activity), nil
	case r.FirstSeen != nil:
		return userLeaf("COALESCE(u.first_seen_at >= " + c.arg(c.since(r.FirstSeen.WithinDays)) + ", false)"), nil
	case r.LastSeen != nil && r.LastSeen.WithinDays != nil:
		return userLeaf("COALESCE(u.last_seen_at >= " + c.arg(c.since(*r.LastSeen.WithinDays)) + ", false)"), nil
	case r.LastSeen != nil:
		return userLeaf("COALESCE(u.last_seen_at < " + c.arg(c.since(*r.LastSeen.MoreThanDaysAgo)) + ", false)"), nil
	case r.Platform != nil:
		return c.platform(r.Platform), nil
	case r.Feedback != nil:
		return c.feedbackLeaf(r.Feedback), nil
	case r.Survey != nil:
		return userLeaf(c.survey(r.Survey)), nil
	}
	return nil, fmt.Errorf("compile rule: empty node")
}

func (c *compiler) list(rules []*Rule) ([]*cond, error) {
	children := make([]*cond, len(rules))
	for i, child := range rules {
		n, err := c.node(child)
		if err != nil {
			return nil, err
		}
		children[i] = n
	}
	return children, nil
}

// since is the start of a window of days ending now.
func (c *compiler) since(days int) time.Time {
	return c.env.Now.Add(-time.Duration(days) * 24 * time.Hour)
}

// window binds the start of a window, once per distinct start.
func (c *compiler) window(start time.Time) string { return c.bindOnce(start.UnixNano(), start) }

// bindOnce binds value the first time key is seen and returns its
// placeholder every time, so a value the scans share is one parameter.
func (c *compiler) bindOnce(key, value any) string {
	if p, ok := c.bound[key]; ok {
		return p
	}
	p := c.arg(value)
	c.bound[key] = p
	return p
}

// countLeaf is a leaf comparing one aggregate column with a count.
func (c *compiler) countLeaf(s source, col int, cnt Count) *cond {
	op, value := sqlOp(cnt.Op), c.arg(cnt.Value)
	return &cond{source: s, cols: []int{col}, zero: compareInt(0, cnt),
		render: func(cols []string) string { return cols[0] + " " + op + " " + value }}
}

func sqlOp(op CompareOp) string {
	switch op {
	case OpEQ:
		return "="
	case OpNEQ:
		return "<>"
	case OpGT:
		return ">"
	case OpGTE:
		return ">="
	case OpLT:
		return "<"
	}
	return "<="
}

func (c *compiler) event(e *EventCondition) *cond {
	name := e.Name
	filter := []string{"e.name = " + c.arg(name)}
	for _, f := range e.Where {
		filter = append(filter, c.value("e.properties", f.Property, f.Op, f.Value, f.Values))
	}
	var start *time.Time
	if e.WithinDays != nil {
		s := c.since(*e.WithinDays)
		start = &s
	}
	count := Count{Op: OpGTE, Value: 1}
	if e.Count != nil {
		count = *e.Count
	}
	return c.countLeaf(fromEvents, c.eventColumn(eventColumn{filter: filter, start: start, name: &name}), count)
}

func (c *compiler) platform(p *PlatformCondition) *cond {
	s := c.since(p.WithinDays)
	total := c.eventColumn(eventColumn{start: &s})
	on := c.eventColumn(eventColumn{filter: []string{"e.platform = " + c.arg(string(p.Platform))}, start: &s})
	share := c.arg(p.MinShare)
	// A share needs at least one event in its window.
	return &cond{source: fromEvents, cols: []int{total, on}, zero: false, render: func(cols []string) string {
		return cols[0] + " > 0 AND " + cols[1] + "::float8 >= " + share + "::float8 * " + cols[0]
	}}
}

// activityDays counts distinct active days among today and the N-1 days
// before it, in the project's time zone; daily rows exist only for days
// with activity.
func (c *compiler) activityDays(a *ActivityCondition) *cond {
	c.activity = append(c.activity, FirstActiveDay(c.env.Now, c.env.Location, a.WithinDays))
	return c.countLeaf(fromActivity, len(c.activity)-1, a.ActiveDays)
}

// FirstActiveDay is the first calendar day (YYYY-MM-DD) of an activity
// window of days ending today in loc.
func FirstActiveDay(now time.Time, loc *time.Location, days int) string {
	today := now.In(loc)
	return time.Date(today.Year(), today.Month(), today.Day()-(days-1), 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
}

// value renders a comparison of source->key (a jsonb object column) with a
// value. Numbers compare numerically when both sides are numbers, otherwise
// as strings (byte order); a missing key never matches except NOT_EXISTS.
func (c *compiler) value(source, key string, op ValueOp, v any, values []any) string {
	k := c.arg(key)
	field := source + "->" + k
	exists := "COALESCE(" + source + " ? " + k + ", false)"
	switch op {
	case ValueExists:
		return exists
	case ValueNotExists:
		return "NOT " + exists
	case ValueContains:
		s := c.arg(fmt.Sprint(v))
		return "COALESCE(CASE jsonb_typeof(" + field + ") WHEN 'string' THEN strpos(" + field + " #>> '{}', " + s +
			") > 0 WHEN 'array' THEN " + field + " ? " + s + " ELSE false END, false)"
	case ValueIn, ValueNotIn:
		eqs := make([]string, len(values))
		for i, x := range values {
			eqs[i] = c.scalarCompare(field, "=", x)
		}
		any := "(" + strings.Join(eqs, " OR ") + ")"
		if op == ValueNotIn {
			return exists + " AND NOT " + any
		}
		return exists + " AND " + any
	}
	return exists + " AND " + c.scalarCompare(field, valueSQLOp(op), v)
}

func valueSQLOp(op ValueOp) string { return sqlOp(CompareOp(op)) }

// scalarCompare compares a jsonb field with one value; the result is never
// NULL. Arrays, objects and nulls match no comparison.
func (c *compiler) scalarCompare(field, op string, v any) string {
	scalar := "jsonb_typeof(" + field + ") IN ('string', 'number', 'boolean')"
	if n, ok := number(v); ok {
		return "COALESCE(" + scalar + " AND CASE WHEN jsonb_typeof(" + field + ") = 'number' THEN (" + field + ")::numeric " + op + " " +
			c.arg(n) + "::numeric ELSE (" + field + " #>> '{}') COLLATE \"C\" " + op + " " + c.arg(formatNumber(n)) + " END, false)"
	}
	return "COALESCE(" + scalar + " AND (" + field + " #>> '{}') COLLATE \"C\" " + op + " " + c.arg(scalarText(v)) + ", false)"
}

// number reports whether a rule value is a JSON number.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func formatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// scalarText is a value as PostgreSQL's ->> renders it.
func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	}
	if n, ok := number(v); ok {
		return formatNumber(n)
	}
	return fmt.Sprint(v)
}

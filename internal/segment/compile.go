package segment

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Env is what a compiled rule needs besides the rule: whose users, and the
// clock and calendar that windows are measured with.
type Env struct {
	ProjectID int
	Now       time.Time
	// Location is the project's time zone, in which activity days are counted.
	Location *time.Location
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
// events has count 0.
func Compile(r *Rule, env Env) (Query, error) {
	if err := Validate(r); err != nil {
		return Query{}, err
	}
	if env.Location == nil {
		env.Location = time.UTC
	}
	c := &compiler{env: env}
	c.arg(env.ProjectID) // $1
	where, err := c.node(r)
	if err != nil {
		return Query{}, err
	}
	var sql strings.Builder
	var ctes []string
	if len(c.events) > 0 {
		ctes = append(ctes, c.eventsCTE())
	}
	if len(c.activity) > 0 {
		ctes = append(ctes, "act AS (SELECT user_id, "+strings.Join(c.activity, ", ")+
			" FROM user_daily_activities WHERE project_id = $1 AND day >= "+c.arg(c.earliestDay)+"::date GROUP BY user_id)")
	}
	if len(c.feedback) > 0 {
		ctes = append(ctes, "fb AS (SELECT user_id, "+strings.Join(c.feedback, ", ")+
			" FROM feedbacks WHERE project_id = $1 GROUP BY user_id)")
	}
	if len(ctes) > 0 {
		sql.WriteString("WITH " + strings.Join(ctes, ",\n") + "\n")
	}
	sql.WriteString("SELECT u.id FROM users u")
	if len(c.events) > 0 {
		sql.WriteString(" LEFT JOIN ev ON ev.user_id = u.id")
	}
	if len(c.activity) > 0 {
		sql.WriteString(" LEFT JOIN act ON act.user_id = u.id")
	}
	if len(c.feedback) > 0 {
		sql.WriteString(" LEFT JOIN fb ON fb.user_id = u.id")
	}
	sql.WriteString("\nWHERE u.project_id = $1 AND (" + where + ")")
	return Query{SQL: sql.String(), Args: c.args}, nil
}

type compiler struct {
	env  Env
	args []any
	// Aggregate columns of the shared scans, and their earliest windows.
	events, activity, feedback []string
	eventsAll                  bool // some event leaf has no window
	earliestEvent              time.Time
	earliestDay                string
}

// arg binds v and returns its placeholder.
func (c *compiler) arg(v any) string {
	c.args = append(c.args, v)
	return "$" + strconv.Itoa(len(c.args))
}

func (c *compiler) node(r *Rule) (string, error) {
	switch {
	case r.And != nil:
		return c.list(r.And, " AND ")
	case r.Or != nil:
		return c.list(r.Or, " OR ")
	case r.Not != nil:
		inner, err := c.node(r.Not)
		return "NOT (" + inner + ")", err
	case r.InSegment != nil:
		return "EXISTS (SELECT 1 FROM segment_members sm WHERE sm.segment_id = " + c.arg(*r.InSegment) +
			" AND sm.user_id = u.id)", nil
	case r.Trait != nil:
		return c.value("u.traits", r.Trait.Key, r.Trait.Op, r.Trait.Value, r.Trait.Values), nil
	case r.Event != nil:
		return c.event(r.Event), nil
	case r.Activity != nil:
		return c.activityDays(r.Activity), nil
	case r.FirstSeen != nil:
		return "COALESCE(u.first_seen_at >= " + c.arg(c.since(r.FirstSeen.WithinDays)) + ", false)", nil
	case r.LastSeen != nil && r.LastSeen.WithinDays != nil:
		return "COALESCE(u.last_seen_at >= " + c.arg(c.since(*r.LastSeen.WithinDays)) + ", false)", nil
	case r.LastSeen != nil:
		return "COALESCE(u.last_seen_at < " + c.arg(c.since(*r.LastSeen.MoreThanDaysAgo)) + ", false)", nil
	case r.Platform != nil:
		return c.platform(r.Platform), nil
	case r.Feedback != nil:
		return c.feedbackLeaf(r.Feedback), nil
	case r.Survey != nil:
		return c.survey(r.Survey), nil
	}
	return "", fmt.Errorf("compile rule: empty node")
}

func (c *compiler) list(rules []*Rule, sep string) (string, error) {
	parts := make([]string, len(rules))
	for i, child := range rules {
		p, err := c.node(child)
		if err != nil {
			return "", err
		}
		parts[i] = "(" + p + ")"
	}
	return strings.Join(parts, sep), nil
}

// since is the start of a window of days ending now.
func (c *compiler) since(days int) time.Time {
	return c.env.Now.Add(-time.Duration(days) * 24 * time.Hour)
}

// compare renders "expr op $value" for a count.
func (c *compiler) compare(expr string, cnt Count) string {
	return expr + " " + sqlOp(cnt.Op) + " " + c.arg(cnt.Value)
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

// eventColumn adds an aggregate over the shared events scan and returns its
// reference.
func (c *compiler) eventColumn(filter string, windowStart *time.Time) string {
	name := fmt.Sprintf("e%d", len(c.events))
	if windowStart == nil {
		c.eventsAll = true
	} else if c.earliestEvent.IsZero() || windowStart.Before(c.earliestEvent) {
		c.earliestEvent = *windowStart
	}
	c.events = append(c.events, "count(*) FILTER (WHERE "+filter+") AS "+name)
	return "COALESCE(ev." + name + ", 0)"
}

func (c *compiler) eventsCTE() string {
	where := "project_id = $1"
	if !c.eventsAll {
		where += " AND timestamp >= " + c.arg(c.earliestEvent)
	}
	return "ev AS (SELECT user_id, " + strings.Join(c.events, ", ") + " FROM events e WHERE " + where + " GROUP BY user_id)"
}

func (c *compiler) event(e *EventCondition) string {
	filter := "e.name = " + c.arg(e.Name)
	var start *time.Time
	if e.WithinDays != nil {
		s := c.since(*e.WithinDays)
		start = &s
		filter += " AND e.timestamp >= " + c.arg(s)
	}
	for _, f := range e.Where {
		filter += " AND " + c.value("e.properties", f.Property, f.Op, f.Value, f.Values)
	}
	count := Count{Op: OpGTE, Value: 1}
	if e.Count != nil {
		count = *e.Count
	}
	return c.compare(c.eventColumn(filter, start), count)
}

func (c *compiler) platform(p *PlatformCondition) string {
	s := c.since(p.WithinDays)
	window := "e.timestamp >= " + c.arg(s)
	total := c.eventColumn(window, &s)
	on := c.eventColumn(window+" AND e.platform = "+c.arg(string(p.Platform)), &s)
	// A share needs at least one event in its window.
	return total + " > 0 AND " + on + "::float8 >= " + c.arg(p.MinShare) + "::float8 * " + total
}

// activityDays counts distinct active days among today and the N-1 days
// before it, in the project's time zone; daily rows exist only for days
// with activity.
func (c *compiler) activityDays(a *ActivityCondition) string {
	first := FirstActiveDay(c.env.Now, c.env.Location, a.WithinDays)
	if c.earliestDay == "" || first < c.earliestDay {
		c.earliestDay = first
	}
	name := fmt.Sprintf("a%d", len(c.activity))
	c.activity = append(c.activity, "count(*) FILTER (WHERE day >= "+c.arg(first)+"::date AND events > 0) AS "+name)
	return c.compare("COALESCE(act."+name+", 0)", a.ActiveDays)
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

package segment

import (
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
	// Users, when not nil, restricts Compile to these users of the project
	// (ids of other projects' users, or of no user, select nothing): the
	// statement then reads only their rows, through the per-user indexes.
	// An empty, non-nil list selects no one.
	Users []int64
	// RetentionDays is the project's retention (0: none). Crossers reads
	// the users whose first or last seen leaves a window the retention may
	// have deleted the events of from users' columns instead.
	RetentionDays int
}

// Query is one parameterised statement returning user ids: from Compile,
// those of the users the rule holds for (among env.Users when it is set);
// from Crossers, those whose result time may change.
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
//
// With env.Users, the statement evaluates only those users: the users are
// read by primary key from one bound array, every scan is filtered by
// user_id = ANY of the same array, so the
// scans read event_project_id_user_id_timestamp, feedback_user_id_timestamp
// and userdailyactivity_user_id_day, and the per-user subqueries (latest
// NPS score, latest survey response) run once per listed user.
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
	candidates := "" // the first inner-joined scan of listed users
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
			// Only the users an earlier inner-joined scan kept can hold:
			// over listed users, the later scans read theirs alone (an
			// incremental pass reads the activity of the 80 users of 1,000
			// its events let through, not of all 1,000).
			switch {
			case env.Users == nil:
			case candidates == "":
				candidates = sc.alias
			default:
				sc.users = " AND user_id IN (SELECT user_id FROM " + candidates + ")"
			}
		}
		ctes = append(ctes, sc.cte(having))
		joins = append(joins, " "+join+" "+sc.alias+" ON "+sc.alias+".user_id = u.id")
	}
	var sql strings.Builder
	if len(ctes) > 0 {
		sql.WriteString("WITH " + strings.Join(ctes, ",\n") + "\n")
	}
	users := "users u"
	if env.Users != nil {
		// The listed users by primary key, one probe each: filtered by
		// u.id = ANY, the planner reads the whole table for a thousand ids.
		users = "(SELECT DISTINCT unnest(" + c.bindOnce(usersKey{}, pq.Array(env.Users)) + "::bigint[])) AS listed(id) JOIN users u ON u.id = listed.id"
	}
	sql.WriteString("SELECT u.id FROM " + users + strings.Join(joins, ""))
	sql.WriteString("\nWHERE u.project_id = $1 AND (" + root.renderWith(joined) + ")")
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
	k, _ := r.kind()
	if k == nil {
		return nil, fmt.Errorf("compile rule: empty node")
	}
	return k.compile(c)
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

// onlyUsers is the condition restricting column to env.Users, with its
// leading AND, or nothing when the statement is not restricted. The array
// is bound once, however many scans filter by it.
func (c *compiler) onlyUsers(column string) string {
	if c.env.Users == nil {
		return ""
	}
	return " AND " + column + " = ANY(" + c.bindOnce(usersKey{}, pq.Array(c.env.Users)) + "::bigint[])"
}

// usersKey is bindOnce's key of env.Users.
type usersKey struct{}

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

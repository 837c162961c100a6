package segment

import (
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"
)

// eventColumn is one count over the shared events scan: events matching
// filter within the window from start (nil: all of the user's events),
// only of the event called name when named.
type eventColumn struct {
	filter []string
	start  *time.Time
	name   *string
}

// eventColumn adds a count to the events scan and returns its index.
func (c *compiler) eventColumn(col eventColumn) int {
	c.events = append(c.events, col)
	return len(c.events) - 1
}

// scan is one per-user aggregate of a statement, a CTE joined to users.
type scan struct {
	alias, prefix string
	// from is the scanned table and its WHERE.
	from string
	// users narrows the WHERE to the evaluated users, when listed.
	users string
	aggs  []string
}

func (s *scan) column(i int) string { return s.prefix + strconv.Itoa(i) }

func (s *scan) cte(having string) string {
	cols := make([]string, len(s.aggs))
	for i, agg := range s.aggs {
		cols[i] = agg + " AS " + s.column(i)
	}
	return s.alias + " AS (SELECT user_id, " + strings.Join(cols, ", ") + " FROM " + s.from + s.users + " GROUP BY user_id" + having + ")"
}

// count is a count of the rows meeting every condition.
func count(conds []string) string {
	if len(conds) == 0 {
		return "count(*)"
	}
	return "count(*) FILTER (WHERE " + strings.Join(conds, " AND ") + ")"
}

// scans renders the per-user scans the rule's leaves use, by source.
func (c *compiler) scans() map[source]*scan {
	scans := map[source]*scan{}
	if len(c.events) > 0 {
		scans[fromEvents] = c.eventsScan()
	}
	if len(c.activity) > 0 {
		scans[fromActivity] = c.activityScan()
	}
	if len(c.feedback) > 0 {
		aggs := make([]string, len(c.feedback))
		for i, conds := range c.feedback {
			aggs[i] = count(conds)
		}
		scans[fromFeedback] = &scan{alias: "fb", prefix: "f", aggs: aggs,
			from: "feedbacks WHERE project_id = $1", users: c.onlyUsers("user_id")}
	}
	return scans
}

// eventsScan reads the events of the widest window once. A column whose
// window is that one needs no window filter of its own: every row of the
// scan is in it, and each filter is evaluated for every row.
func (c *compiler) eventsScan() *scan {
	var earliest *time.Time
	for _, col := range c.events {
		if col.start == nil {
			earliest = nil
			break
		}
		if earliest == nil || col.start.Before(*earliest) {
			earliest = col.start
		}
	}
	where := "project_id = $1"
	if earliest != nil {
		where += " AND timestamp >= " + c.window(*earliest)
	}
	// When every count is of named events, only those rows can count: the
	// scan reads them alone, through event_project_id_name_timestamp when
	// that is cheaper than the window.
	var names []string
	for _, col := range c.events {
		if col.name == nil {
			names = nil
			break
		}
		names = append(names, *col.name)
	}
	if names != nil {
		where += " AND name = ANY(" + c.arg(pq.Array(names)) + "::text[])"
	}
	aggs := make([]string, len(c.events))
	for i, col := range c.events {
		var conds []string
		if col.start != nil && (earliest == nil || !col.start.Equal(*earliest)) {
			conds = append(conds, "e.timestamp >= "+c.window(*col.start))
		}
		aggs[i] = count(append(conds, col.filter...))
	}
	return &scan{alias: "ev", prefix: "e", aggs: aggs, from: "events e WHERE " + where, users: c.onlyUsers("user_id")}
}

// activityScan counts active days per user from the daily rollup; only
// days with events count, and only the days of the widest window are read.
func (c *compiler) activityScan() *scan {
	earliest := c.activity[0]
	for _, first := range c.activity {
		earliest = min(earliest, first)
	}
	bind := func(day string) string { return c.bindOnce(day, day) + "::date" }
	from := "user_daily_activities WHERE project_id = $1 AND day >= " + bind(earliest) + " AND events > 0"
	aggs := make([]string, len(c.activity))
	for i, first := range c.activity {
		var conds []string
		if first != earliest {
			conds = append(conds, "day >= "+bind(first))
		}
		aggs[i] = count(conds)
	}
	return &scan{alias: "act", prefix: "a", aggs: aggs, from: from, users: c.onlyUsers("user_id")}
}

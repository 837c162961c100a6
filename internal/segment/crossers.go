package segment

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Crossers compiles one statement returning the distinct user_id of
// env.ProjectID's users whose result for r may change between from and to
// (from < to) without any new data: the users with a row that leaves one of
// r's windows in that interval. It returns a Query with empty SQL when r has
// no windowed condition. env.Now is ignored; env.Location is used for
// activity days.
//
// Every piece of the statement is an index range scan: named events through
// event_project_id_name_timestamp; events of any name through the same
// index, once per event name of the project, the names found by a loose
// index scan; feedback through feedback_project_id_timestamp; survey
// responses through surveyresponse_survey_id_submitted_at; first and last
// seen past env.RetentionDays, whose events may be deleted, through a scan of
// the project's users (a window that long is rare, and an index on
// last_seen_at would cost every ingested batch its HOT updates). Bounds are
// widened to whole microseconds, PostgreSQL's precision, so that no row is
// missed between two calls whose intervals meet. env.Users does not narrow
// the statement. A rule that does not validate, or from not before to, is
// an error.
func Crossers(r *Rule, env Env, from, to time.Time) (Query, error) {
	if err := Validate(r); err != nil {
		return Query{}, err
	}
	if !from.Before(to) {
		return Query{}, fmt.Errorf("crossers between %s and %s: from must be before to",
			from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano))
	}
	if env.Location == nil {
		env.Location = time.UTC
	}
	x := &crossing{from: from, to: to, location: env.Location, retentionDays: env.RetentionDays,
		named: map[string][]interval{}, surveys: map[int][]interval{}, seenColumns: map[string][]interval{}}
	x.add(r)
	return x.query(env), nil
}

// interval is the instants from start (included) to end (excluded).
type interval struct{ start, end time.Time }

// crossing collects, per table and key, the intervals whose rows leave a
// window of the rule while the clock moves from from to to.
type crossing struct {
	from, to time.Time
	location *time.Location
	// named are the intervals of events by name; "" is any event.
	named     map[string][]interval
	feedbacks []interval
	surveys   map[int][]interval
	// retentionDays is the project's retention (0: none); seenColumns are
	// the intervals of first_seen_at and last_seen_at read from users.
	retentionDays int
	seenColumns   map[string][]interval
}

// add collects the intervals of one node.
func (x *crossing) add(r *Rule) {
	if k, _ := r.kind(); k != nil {
		k.crossing(x)
	}
}

// window is the interval of the rows that leave a window of days: a row at
// t is in it while t >= now - days.
func (x *crossing) window(days int) interval {
	d := time.Duration(days) * 24 * time.Hour
	return interval{start: x.from.Add(-d), end: x.to.Add(-d)}
}

func (x *crossing) events(name string, in interval) { x.named[name] = append(x.named[name], in) }

// seen adds a first or last seen window of days on column: through the
// events of its interval while the retention keeps them, from users'
// column when it may not. The retention keeps an event at least
// retentionDays × 24 hours (retention.CutoffAt): a window a day shorter
// still finds its events, with a day to spare for a late sweep.
func (x *crossing) seen(column string, days int) {
	if x.retentionDays > 0 && days >= x.retentionDays-1 {
		x.seenColumns[column] = append(x.seenColumns[column], x.window(days))
		return
	}
	x.events("", x.window(days))
}

func (x *crossing) feedback(in interval) { x.feedbacks = append(x.feedbacks, in) }

func (x *crossing) survey(id int, in interval) { x.surveys[id] = append(x.surveys[id], in) }

// eventNames finds the project's distinct event names by a loose index scan
// of event_project_id_name_timestamp: each step is one descent to the
// first name after the previous one. The last row is NULL.
const eventNames = `event_names(name) AS (
	(SELECT name FROM events WHERE project_id = $1 ORDER BY name LIMIT 1)
	UNION ALL
	SELECT (SELECT e.name FROM events e WHERE e.project_id = $1 AND e.name > n.name ORDER BY e.name LIMIT 1)
	FROM event_names n WHERE n.name IS NOT NULL)`

func (x *crossing) query(env Env) Query {
	c := &compiler{env: env, bound: map[any]string{}}
	c.arg(env.ProjectID) // $1
	between := func(column string, in interval) string {
		return column + " >= " + c.window(in.start.Truncate(time.Microsecond)) + " AND " + column + " < " + c.window(ceilMicro(in.end))
	}
	var pieces []string
	anyEvent := merge(x.named[""])
	for _, in := range anyEvent {
		pieces = append(pieces, "SELECT e.user_id FROM event_names n CROSS JOIN LATERAL (SELECT user_id FROM events WHERE project_id = $1"+
			" AND name = n.name AND "+between("timestamp", in)+") e WHERE n.name IS NOT NULL")
	}
	names := make([]string, 0, len(x.named))
	for name := range x.named {
		if name != "" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		for _, in := range merge(x.named[name]) {
			if !covered(in, anyEvent) {
				pieces = append(pieces, "SELECT user_id FROM events WHERE project_id = $1 AND name = "+c.bindOnce(eventNameKey(name), name)+
					" AND "+between("timestamp", in))
			}
		}
	}
	for _, in := range merge(x.feedbacks) {
		pieces = append(pieces, "SELECT user_id FROM feedbacks WHERE project_id = $1 AND "+between("timestamp", in))
	}
	surveys := make([]int, 0, len(x.surveys))
	for id := range x.surveys {
		surveys = append(surveys, id)
	}
	slices.Sort(surveys)
	for _, id := range surveys {
		for _, in := range merge(x.surveys[id]) {
			pieces = append(pieces, "SELECT user_id FROM survey_responses WHERE survey_id = "+c.bindOnce(surveyKey(id), id)+
				" AND "+between("submitted_at", in)+" AND project_id = $1")
		}
	}
	for _, column := range []string{"first_seen_at", "last_seen_at"} {
		for _, in := range merge(x.seenColumns[column]) {
			pieces = append(pieces, "SELECT id AS user_id FROM users WHERE project_id = $1 AND "+between(column, in))
		}
	}
	if len(pieces) == 0 {
		return Query{}
	}
	var sql strings.Builder
	if len(anyEvent) > 0 {
		sql.WriteString("WITH RECURSIVE " + eventNames + "\n")
	}
	sql.WriteString("SELECT DISTINCT user_id FROM (" + strings.Join(pieces, "\nUNION ALL\n") + ") crossers")
	return Query{SQL: sql.String(), Args: c.args}
}

// eventNameKey and surveyKey are bindOnce's keys of names and survey ids.
type (
	eventNameKey string
	surveyKey    int
)

// ceilMicro rounds t up to a whole microsecond.
func ceilMicro(t time.Time) time.Time {
	if down := t.Truncate(time.Microsecond); !down.Equal(t) {
		return down.Add(time.Microsecond)
	}
	return t
}

// merge sorts intervals and joins those that overlap or meet.
func merge(in []interval) []interval {
	sorted := slices.Clone(in)
	slices.SortFunc(sorted, func(a, b interval) int { return a.start.Compare(b.start) })
	var out []interval
	for _, i := range sorted {
		if n := len(out); n > 0 && !i.start.After(out[n-1].end) {
			if i.end.After(out[n-1].end) {
				out[n-1].end = i.end
			}
			continue
		}
		out = append(out, i)
	}
	return out
}

// covered reports whether in lies within one of the merged intervals.
func covered(in interval, merged []interval) bool {
	for _, m := range merged {
		if !in.start.Before(m.start) && !in.end.After(m.end) {
			return true
		}
	}
	return false
}

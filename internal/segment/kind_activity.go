package segment

import (
	"fmt"
	"time"
)

// An activity condition counts the distinct calendar days, in the project's
// time zone, on which the user was active, among today and the
// WithinDays-1 days before it.

func (a *ActivityCondition) validate(v *validator, path string, _ int) {
	v.count(path+".activeDays", &a.ActiveDays)
	v.window(path+".withinDays", &a.WithinDays, true)
	if v.err == nil && a.ActiveDays.Value > a.WithinDays {
		v.fail(path+".activeDays.value", "cannot exceed withinDays (%d)", a.WithinDays)
	}
}

// compile reads the daily rollup, which has rows only for days with
// activity.
func (a *ActivityCondition) compile(c *compiler) (*cond, error) {
	c.activity = append(c.activity, FirstActiveDay(c.env.Now, c.env.Location, a.WithinDays))
	return c.countLeaf(fromActivity, len(c.activity)-1, a.ActiveDays), nil
}

// activeDays is what evaluate compares and observe shows.
func (a *ActivityCondition) activeDays(e *evaluator, u RefUser) int {
	first := FirstActiveDay(e.env.Now, e.env.Location, a.WithinDays)
	days := map[string]bool{}
	for _, ev := range e.events[u.ID] {
		if e.d.ActiveEvents != nil && !e.d.ActiveEvents[ev.Name] {
			continue
		}
		day := ev.At.In(e.env.Location).Format(time.DateOnly)
		if day >= first {
			days[day] = true
		}
	}
	return len(days)
}

func (a *ActivityCondition) evaluate(e *evaluator, u RefUser) bool {
	return compareInt(a.activeDays(e, u), a.ActiveDays)
}

func (a *ActivityCondition) observe(e *evaluator, u RefUser, _ string) (string, []*Explanation) {
	return fmt.Sprintf("active %d days of the last %d", a.activeDays(e, u), a.WithinDays), nil
}

func (a *ActivityCondition) text(bool) string {
	return fmt.Sprintf("active %s days of the last %d", countText(a.ActiveDays), a.WithinDays)
}

// Any usage event may be activity (the project's activeEvents are not known
// here).
func (*ActivityCondition) sources(add func(Source)) { add(Source{Kind: SourceEvent}) }

// A day leaves the window when the window's first day passes it, at the
// start of the day in the project's time zone: the users with events on
// the days from the first day at from to the day before the first day at to.
func (a *ActivityCondition) crossing(x *crossing) {
	first := dayStart(firstActiveDate(x.from, x.location, a.WithinDays), x.location)
	last := dayStart(firstActiveDate(x.to, x.location, a.WithinDays), x.location)
	if first.Before(last) {
		x.events("", interval{start: first, end: last})
	}
}

// The daily rollup is read from the window's first day on.
func (a *ActivityCondition) reach(path string, add func(string, int)) { add(path, a.WithinDays) }

// FirstActiveDay is the first calendar day (YYYY-MM-DD) of an activity
// window of days ending today in loc.
func FirstActiveDay(now time.Time, loc *time.Location, days int) string {
	return firstActiveDate(now, loc, days).Format(time.DateOnly)
}

// FirstActiveDayStart is the first instant of FirstActiveDay in loc.
func FirstActiveDayStart(now time.Time, loc *time.Location, days int) time.Time {
	return dayStart(firstActiveDate(now, loc, days), loc)
}

// firstActiveDate is FirstActiveDay as a date: midnight UTC of that day.
func firstActiveDate(now time.Time, loc *time.Location, days int) time.Time {
	today := now.In(loc)
	return time.Date(today.Year(), today.Month(), today.Day()-(days-1), 0, 0, 0, 0, time.UTC)
}

// dayStart is the first instant of a date (midnight UTC of it) in loc.
// Where a time change skips midnight, time.Date may answer an instant of
// the day before (midnight at the old offset); the day then starts at the
// change, when that day's clock would reach midnight.
func dayStart(date time.Time, loc *time.Location) time.Time {
	t := time.Date(date.Year(), date.Month(), date.Day(), 0, 0, 0, 0, loc)
	if local := t.In(loc); local.Day() != date.Day() {
		h, m, s := local.Clock()
		t = t.Add(24*time.Hour - time.Duration(h)*time.Hour - time.Duration(m)*time.Minute -
			time.Duration(s)*time.Second - time.Duration(local.Nanosecond()))
	}
	return t
}

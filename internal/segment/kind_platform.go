package segment

import (
	"fmt"
	"strconv"
)

// A platform condition holds when at least MinShare of the user's events in
// the window were on Platform; it needs one event in the window.

func (p *PlatformCondition) validate(v *validator, path string, _ int) {
	if err := validPlatform(p.Platform); err != nil {
		v.fail(path+".platform", "%v", err)
	}
	if !(p.MinShare > 0 && p.MinShare <= 1) {
		v.fail(path+".minShare", "must be in (0, 1], got %v", p.MinShare)
	}
	v.window(path+".withinDays", &p.WithinDays, true)
}

func (p *PlatformCondition) compile(c *compiler) (*cond, error) {
	s := c.since(p.WithinDays)
	total := c.eventColumn(eventColumn{start: &s})
	on := c.eventColumn(eventColumn{filter: []string{"e.platform = " + c.arg(string(p.Platform))}, start: &s})
	share := c.arg(p.MinShare)
	return &cond{source: fromEvents, cols: []int{total, on}, zero: false, render: func(cols []string) string {
		return cols[0] + " > 0 AND " + cols[1] + "::float8 >= " + share + "::float8 * " + cols[0]
	}}, nil
}

// share counts the user's events in the window and those on the platform;
// evaluate compares them and observe shows them.
func (p *PlatformCondition) share(e *evaluator, u RefUser) (on, total int) {
	for _, ev := range e.events[u.ID] {
		if ev.At.Before(e.since(p.WithinDays)) {
			continue
		}
		total++
		if ev.Platform == string(p.Platform) {
			on++
		}
	}
	return on, total
}

func (p *PlatformCondition) evaluate(e *evaluator, u RefUser) bool {
	on, total := p.share(e, u)
	return total > 0 && float64(on) >= p.MinShare*float64(total)
}

func (p *PlatformCondition) observe(e *evaluator, u RefUser, _ string) (string, []*Explanation) {
	on, total := p.share(e, u)
	if total == 0 {
		return "no events in the last " + days(p.WithinDays), nil
	}
	return fmt.Sprintf("%d of %d events on %s (%s%%)", on, total, p.Platform,
		strconv.FormatFloat(100*float64(on)/float64(total), 'f', 0, 64)), nil
}

func (p *PlatformCondition) text(bool) string {
	return fmt.Sprintf("%s ≥ %s%% of events in the last %s", p.Platform,
		strconv.FormatFloat(p.MinShare*100, 'f', -1, 64), days(p.WithinDays))
}

// Events of every name make up the share.
func (*PlatformCondition) sources(add func(Source)) { add(Source{Kind: SourceEvent}) }

func (p *PlatformCondition) crossing(x *crossing) { x.events("", x.window(p.WithinDays)) }

func (p *PlatformCondition) reach(path string, add func(string, int)) { add(path, p.WithinDays) }

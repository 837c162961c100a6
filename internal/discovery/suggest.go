package discovery

import (
	"math"
	"slices"

	"github.com/pulse-analytics/pulse/ent/event"
	"github.com/pulse-analytics/pulse/internal/segment"
)

// A suggested rule has at most this many conditions, and a condition joins
// only when it raises the rule's F1 score against the cluster by minGain:
// short rules people can read beat long ones that fit a little better.
const (
	maxConditions = 4
	minGain       = 0.01
)

// condition is a candidate leaf of a suggested rule: the rule node, and the
// same test on measured features, written to agree with what the compiled
// rule computes (so the search optimises what is then measured).
type condition struct {
	group string // the measure and direction; a rule uses each group once
	rule  *segment.Rule
	holds func(Features) bool
	// active says the condition implies activity in the window, which
	// every clustered user has.
	active bool
}

// Quantiles of a cluster's values that thresholds are taken from: low ones
// for "at least", high ones for "at most".
var (
	lowQuantiles  = []float64{0.05, 0.1, 0.25, 0.5}
	highQuantiles = []float64{0.5, 0.75, 0.9, 0.95}
)

// suggest finds a short AND of conditions selecting the cluster (inCluster,
// over users) as well as it can: greedily, the condition that most improves
// F1 joins, while one does. The rule always keeps to users active in the
// window, as the clustering did.
func suggest(users []Features, inCluster []bool, members []int, windowDays int, npsShare float64) *segment.Rule {
	candidates := candidateConditions(users, members, windowDays, npsShare)
	size := len(members)
	selected := make([]bool, len(users))
	for i := range selected {
		selected[i] = true
	}
	best := f1(size, len(users)-size, size)
	var chosen []condition
	for len(chosen) < maxConditions {
		// On a tie the earlier candidate stays: behaviour (activity,
		// recency, platform) reads better than an NPS category.
		pick, pickF1 := -1, 0.0
		for ci, c := range candidates {
			if slices.ContainsFunc(chosen, func(x condition) bool { return x.group == c.group }) {
				continue
			}
			tp, fp := 0, 0
			for i, u := range users {
				if selected[i] && c.holds(u) {
					if inCluster[i] {
						tp++
					} else {
						fp++
					}
				}
			}
			if score := f1(tp, fp, size); score >= best+minGain && (pick < 0 || score > pickF1) {
				pick, pickF1 = ci, score
			}
		}
		if pick < 0 {
			break
		}
		c := candidates[pick]
		chosen = append(chosen, c)
		best = pickF1
		for i, u := range users {
			selected[i] = selected[i] && c.holds(u)
		}
	}
	return assemble(chosen, windowDays)
}

// f1 is the F1 score of a selection with tp members and fp others, against
// a cluster of size.
func f1(tp, fp, size int) float64 {
	if tp == 0 {
		return 0
	}
	return 2 * float64(tp) / float64(2*tp+fp+(size-tp))
}

// assemble ANDs the chosen conditions, in a fixed order of measures, adding
// "last seen in the window" unless a condition implies it already.
func assemble(chosen []condition, windowDays int) *segment.Rule {
	order := []string{"activity>=", "activity<=", "lastSeen<=", "lastSeen>", "mobile>=", "mobile<", "nps"}
	slices.SortStableFunc(chosen, func(a, b condition) int {
		return slices.Index(order, a.group) - slices.Index(order, b.group)
	})
	var leaves []*segment.Rule
	active := false
	for _, c := range chosen {
		leaves = append(leaves, c.rule)
		active = active || c.active
	}
	if !active {
		w := windowDays
		leaves = append(leaves, &segment.Rule{LastSeen: &segment.LastSeenCondition{WithinDays: &w}})
	}
	if len(leaves) == 1 {
		return leaves[0]
	}
	return &segment.Rule{And: leaves}
}

// candidateConditions derives thresholds from the cluster's own values.
func candidateConditions(users []Features, members []int, windowDays int, npsShare float64) []condition {
	var out []condition
	activeDays := memberValues(users, members, func(f Features) float64 { return float64(f.ActiveDays) })
	recency := memberValues(users, members, func(f Features) float64 { return f.RecencyDays })
	mobile := memberValues(users, members, func(f Features) float64 { return f.MobileShare })
	for _, q := range lowQuantiles {
		if d := int(quantile(activeDays, q)); d >= 1 {
			out = append(out, activityCondition(segment.OpGTE, d, windowDays))
		}
		if n := int(math.Floor(quantile(recency, q))); n >= 1 {
			out = append(out, lastSeenMoreThan(n))
		}
		if s := math.Floor(quantile(mobile, q)*20) / 20; s > 0 {
			out = append(out, mobileAtLeast(s, windowDays))
		}
	}
	for _, q := range highQuantiles {
		if d := int(math.Ceil(quantile(activeDays, q))); d < windowDays {
			out = append(out, activityCondition(segment.OpLTE, d, windowDays))
		}
		if n := int(math.Floor(quantile(recency, q))) + 1; n < windowDays {
			out = append(out, lastSeenWithin(n))
		}
		if s := max(math.Ceil(quantile(mobile, q)*20)/20, 0.05); s <= 1 {
			out = append(out, mobileBelow(s, windowDays))
		}
	}
	if npsShare >= npsQuorum {
		for _, category := range []segment.NpsCategory{segment.NpsPromoter, segment.NpsPassive, segment.NpsDetractor} {
			out = append(out, npsCondition(category, windowDays))
		}
	}
	return out
}

func activityCondition(op segment.CompareOp, days, windowDays int) condition {
	holds := func(f Features) bool { return f.ActiveDays >= days }
	if op == segment.OpLTE {
		holds = func(f Features) bool { return f.ActiveDays <= days }
	}
	return condition{
		group: "activity" + map[segment.CompareOp]string{segment.OpGTE: ">=", segment.OpLTE: "<="}[op],
		rule: &segment.Rule{Activity: &segment.ActivityCondition{
			ActiveDays: segment.Count{Op: op, Value: days}, WithinDays: windowDays}},
		holds:  holds,
		active: op == segment.OpGTE,
	}
}

// lastSeenWithin is last_seen_at >= now - n days, i.e. recency <= n.
func lastSeenWithin(n int) condition {
	return condition{group: "lastSeen<=", active: true,
		rule:  &segment.Rule{LastSeen: &segment.LastSeenCondition{WithinDays: &n}},
		holds: func(f Features) bool { return f.RecencyDays <= float64(n) }}
}

// lastSeenMoreThan is last_seen_at < now - n days, i.e. recency > n.
func lastSeenMoreThan(n int) condition {
	return condition{group: "lastSeen>",
		rule:  &segment.Rule{LastSeen: &segment.LastSeenCondition{MoreThanDaysAgo: &n}},
		holds: func(f Features) bool { return f.RecencyDays > float64(n) }}
}

// mobileAtLeast mirrors the compiled platform condition: mobile >= share *
// events, in float8.
func mobileAtLeast(share float64, windowDays int) condition {
	return condition{group: "mobile>=", active: true,
		rule: &segment.Rule{Platform: &segment.PlatformCondition{
			Platform: event.PlatformMOBILE, MinShare: share, WithinDays: windowDays}},
		holds: func(f Features) bool { return float64(f.MobileEvents) >= share*float64(f.Events) }}
}

func mobileBelow(share float64, windowDays int) condition {
	at := mobileAtLeast(share, windowDays)
	return condition{group: "mobile<",
		rule:  &segment.Rule{Not: at.rule},
		holds: func(f Features) bool { return !at.holds(f) }}
}

// npsRanges are the scores of each NPS category.
var npsRanges = map[segment.NpsCategory][2]int{
	segment.NpsPromoter: {9, 10}, segment.NpsPassive: {7, 8}, segment.NpsDetractor: {0, 6},
}

// npsCondition is "latest NPS score in the window is in category"; giving
// a score is not usage, so it does not imply activity.
func npsCondition(category segment.NpsCategory, windowDays int) condition {
	scores := npsRanges[category]
	w := windowDays
	return condition{group: "nps",
		rule: &segment.Rule{Feedback: &segment.FeedbackCondition{NpsCategory: &category, WithinDays: &w}},
		holds: func(f Features) bool {
			return f.NPS != nil && *f.NPS >= scores[0] && *f.NPS <= scores[1]
		}}
}

// memberValues returns the sorted values of a measure over members.
func memberValues(users []Features, members []int, measure func(Features) float64) []float64 {
	values := make([]float64, len(members))
	for i, m := range members {
		values[i] = measure(users[m])
	}
	slices.Sort(values)
	return values
}

// quantile of sorted values (nearest rank below).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(q*float64(len(sorted)-1))]
}

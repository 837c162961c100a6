package discovery

import (
	"fmt"
	"math"
	"strings"

	"github.com/pulse-analytics/pulse/ent/schema/schematype"
)

// npsQuorum is the share of a cluster that must have an NPS score for its
// NPS to be part of the description and of the suggested rule: a score a
// few users gave says little about the rest.
const npsQuorum = 0.5

// centre averages the measures of members (indexes into users).
func centre(users []Features, members []int) schematype.ClusterCentre {
	var c schematype.ClusterCentre
	var npsSum float64
	var npsCount int
	for _, i := range members {
		u := users[i]
		c.RecencyDays += u.RecencyDays
		c.Events += float64(u.Events)
		c.ActiveDays += float64(u.ActiveDays)
		c.DistinctEvents += float64(u.DistinctEvents)
		c.MobileShare += u.MobileShare
		if u.NPS != nil {
			npsSum += float64(*u.NPS)
			npsCount++
		}
	}
	n := float64(len(members))
	if n == 0 {
		return c
	}
	c.RecencyDays /= n
	c.Events /= n
	c.ActiveDays /= n
	c.DistinctEvents /= n
	c.MobileShare /= n
	c.NpsShare = float64(npsCount) / n
	if npsCount > 0 {
		mean := npsSum / float64(npsCount)
		c.Nps = &mean
	}
	return c
}

// describe puts a centre in plain words, e.g. "active 6 of 7 days, last
// seen under a day ago, 120 events, 9 distinct events, 91% mobile, NPS 9".
func describe(c schematype.ClusterCentre, windowDays int) string {
	parts := []string{
		fmt.Sprintf("active %d of %d days", int(math.Round(c.ActiveDays)), windowDays),
		lastSeenWords(c.RecencyDays),
		countWords(c.Events, "event"),
		countWords(c.DistinctEvents, "distinct event"),
		fmt.Sprintf("%d%% mobile", int(math.Round(c.MobileShare*100))),
	}
	if c.Nps != nil && c.NpsShare >= npsQuorum {
		parts = append(parts, fmt.Sprintf("NPS %d", int(math.Round(*c.Nps))))
	}
	return strings.Join(parts, ", ")
}

func lastSeenWords(days float64) string {
	switch d := int(math.Floor(days)); d {
	case 0:
		return "last seen under a day ago"
	case 1:
		return "last seen 1 day ago"
	default:
		return fmt.Sprintf("last seen %d days ago", d)
	}
}

// countWords is a mean count with its noun, singular for exactly one.
func countWords(v float64, noun string) string {
	n := roundCount(v)
	if n == "1" {
		return n + " " + noun
	}
	return n + " " + noun + "s"
}

// roundCount shows a mean count as a whole number, or with one decimal
// below 10 where rounding would hide the difference between 1 and 1.4.
func roundCount(v float64) string {
	if v < 10 && math.Abs(v-math.Round(v)) >= 0.05 {
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%d", int(math.Round(v)))
}

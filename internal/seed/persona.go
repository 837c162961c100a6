package seed

import (
	"math/rand/v2"
)

// Persona is a kind of user the seed generates; each behaves so that it
// lands in the segments a product team would expect of it.
type Persona string

// The personas, with the template segments they are built to land in.
const (
	// PowerUser: desktop, active on at least 6 of the last 7 days and most
	// days before (highly engaged); gives NPS 9-10 (promoters).
	PowerUser Persona = "power_user"
	// MobileCasual: almost only on mobile (mobile users), a few days a
	// month; a quarter of them are active on only 1-2 of the last 28 days
	// (infrequent).
	MobileCasual Persona = "mobile_casual"
	// Newcomer: first seen within the last 10 days (new users); starts as an
	// anonymous visitor and signs up, so their history is merged.
	Newcomer Persona = "newcomer"
	// Churner: used the product at the start of the window and has not come
	// back for 35 days or more (dormant, when the window is longer than 40
	// days).
	Churner Persona = "churner"
	// Detractor: moderately active, files bugs and complaints and gives NPS
	// 0-5 (detractors).
	Detractor Persona = "detractor"
)

// mix is how a population splits between the personas, in this order.
var mix = []struct {
	persona Persona
	share   float64
}{
	{PowerUser, 0.15},
	{MobileCasual, 0.32},
	{Newcomer, 0.18},
	{Churner, 0.20},
	{Detractor, 0.15},
}

// PersonaOf assigns the i-th of n users a persona so every persona's share
// is exact up to rounding (not left to chance).
func PersonaOf(i, n int) Persona {
	var cum float64
	for _, m := range mix {
		cum += m.share
		if float64(i) < cum*float64(n) {
			return m.persona
		}
	}
	return mix[len(mix)-1].persona
}

// activeDays returns which days, as days ago (0 is today), a user of
// persona p is active over a history of days days.
func activeDays(p Persona, days int, r *rand.Rand) []int {
	var out []int
	add := func(from, to int, prob float64) { // from..to days ago, inclusive
		for d := min(to, days-1); d >= max(from, 0); d-- {
			if r.Float64() < prob {
				out = append(out, d)
			}
		}
	}
	switch p {
	case PowerUser:
		skip := r.IntN(7) // at most one of the last 7 days off: always >= 6
		for d := 6; d >= 0; d-- {
			if d != skip || d == 0 {
				out = append(out, d)
			}
		}
		add(7, days-1, 0.85)
	case MobileCasual:
		if r.IntN(4) == 0 { // infrequent: 1-2 days of the last 28
			add(29, days-1, 0.15)
			out = append(out, 3+r.IntN(20))
			if r.IntN(2) == 0 {
				out = append(out, 1+r.IntN(2))
			}
		} else {
			add(0, days-1, 0.15+0.2*r.Float64())
			out = append(out, r.IntN(14)) // seen in the last two weeks: never dormant
		}
	case Newcomer:
		start := r.IntN(min(10, days)) // signed up 0-9 days ago
		out = append(out, start)
		add(0, start-1, 0.6)
	case Churner:
		last := 35 + r.IntN(10)
		if last >= days {
			last = days - 1
		}
		out = append(out, last)
		add(last+1, days-1, 0.5)
	case Detractor:
		add(0, days-1, 0.3)
		out = append(out, r.IntN(3)) // recent enough that their complaints are current
	}
	if p != Newcomer && days > 14 {
		// Everyone but newcomers signed up at the start of the history, so
		// only newcomers are new users.
		out = append(out, days-1-r.IntN(min(5, days-14)))
	}
	return dedupDays(out)
}

func dedupDays(days []int) []int {
	seen := map[int]bool{}
	out := days[:0]
	for _, d := range days {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// eventsPerDay is how many events an active day of persona p has.
func eventsPerDay(p Persona, r *rand.Rand) int {
	switch p {
	case PowerUser:
		return 6 + r.IntN(10)
	case Detractor:
		return 3 + r.IntN(6)
	default:
		return 2 + r.IntN(5)
	}
}

// device is the SDK context of one event of persona p, daysAgo days ago.
func device(p Persona, daysAgo int, r *rand.Rand) (deviceType, osName string) {
	mobileShare := map[Persona]float64{PowerUser: 0.05, MobileCasual: 1, Newcomer: 0.5, Churner: 0.4, Detractor: 0.4}[p]
	if p == MobileCasual && daysAgo >= 28 {
		mobileShare = 0.85 // the odd laptop session, outside the 28-day platform window
	}
	if r.Float64() < mobileShare {
		return "mobile", pick(r, []string{"iOS", "Android"})
	}
	return "desktop", pick(r, []string{"macOS", "Windows", "Linux"})
}

func pick[T any](r *rand.Rand, from []T) T { return from[r.IntN(len(from))] }

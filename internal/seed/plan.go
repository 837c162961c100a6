package seed

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/pulse-analytics/pulse/internal/feedback"
	"github.com/pulse-analytics/pulse/internal/ingest"
)

// userPlan is everything the seed sends for one user.
type userPlan struct {
	ExternalID string
	Persona    Persona
	Messages   []ingest.Message
	Feedback   []feedback.Submission
	// Survey is the user's survey answer, nil when they did not answer.
	Survey *surveyAnswer
}

// surveyAnswer is one response to the seeded survey.
type surveyAnswer struct {
	NPS       int
	Favorite  string
	Improve   string // "" when skipped (the question is optional)
	Timestamp time.Time
}

// planner generates users deterministically: user i of a run with seed s
// always gets the same plan, whatever the order users are generated in.
type planner struct {
	seed  uint64
	users int
	days  int
	now   time.Time
	loc   *time.Location
}

// ExternalID is the user id the seed gives its i-th user.
func ExternalID(i int) string { return fmt.Sprintf("user-%05d", i) }

// plan generates user i.
func (p planner) plan(i int) userPlan {
	r := rand.New(rand.NewPCG(p.seed, uint64(i)))
	u := userPlan{ExternalID: ExternalID(i), Persona: PersonaOf(i, p.users)}
	days := activeDays(u.Persona, p.days, r)
	slices.Sort(days)
	slices.Reverse(days) // oldest first
	anonymous := ""
	if u.Persona == Newcomer {
		anonymous = fmt.Sprintf("anon-%d-%d", p.seed, i)
	}
	var stamps []time.Time // when the user was active, for feedback
	for n, d := range days {
		times := p.times(d, eventsPerDay(u.Persona, r), r)
		if n == 0 {
			u.Messages = append(u.Messages, p.signup(u, anonymous, times, r)...)
		}
		for _, at := range times {
			u.Messages = append(u.Messages, p.event(u, anonymous, d, at, len(u.Messages), r))
		}
		stamps = append(stamps, times[len(times)-1])
	}
	u.Feedback = p.feedback(u.Persona, u.ExternalID, stamps, r)
	if len(stamps) > 0 && r.Float64() < surveyAnswerPct {
		u.Survey = p.surveyAnswer(u.Persona, stamps[len(stamps)-1], r)
	}
	return u
}

// times returns n sorted instants of the day daysAgo days ago, in the
// project's calendar, none after now.
func (p planner) times(daysAgo, n int, r *rand.Rand) []time.Time {
	y, m, d := p.now.In(p.loc).Date()
	day := time.Date(y, m, d-daysAgo, 7, 0, 0, 0, p.loc) // from 7:00
	span := 15 * time.Hour
	if daysAgo == 0 {
		midnight := time.Date(y, m, d, 0, 0, 0, 0, p.loc)
		day, span = midnight, p.now.Sub(midnight)
	}
	out := make([]time.Time, n)
	for i := range out {
		out[i] = day.Add(time.Duration(r.Int64N(int64(max(span, time.Second))))).Truncate(time.Millisecond)
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// signup is the identify call that starts a user's history; a newcomer's
// carries the anonymous id its first visit used, which merges the two.
func (p planner) signup(u userPlan, anonymous string, times []time.Time, r *rand.Rand) []ingest.Message {
	plans := map[Persona][]string{PowerUser: {"pro", "enterprise"}, Detractor: {"pro", "free"}}[u.Persona]
	if plans == nil {
		plans = []string{"free", "free", "pro"}
	}
	at := times[0].Add(-time.Minute)
	var msgs []ingest.Message
	if anonymous != "" { // the visit before signing up
		msgs = append(msgs, ingest.Message{Type: ingest.TypePage, AnonymousID: anonymous, Name: "Pricing",
			MessageID: p.messageID(u.ExternalID, "visit"), Timestamp: at.Add(-10 * time.Minute),
			Context: ingest.Context{UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15"}})
	}
	msgs = append(msgs, ingest.Message{Type: ingest.TypeIdentify, UserID: u.ExternalID, AnonymousID: anonymous,
		MessageID: p.messageID(u.ExternalID, "signup"), Timestamp: at,
		Traits: map[string]any{
			"plan":    pick(r, plans),
			"country": pick(r, []string{"US", "US", "GB", "DE", "FR", "IN", "BR", "JP"}),
			"role":    pick(r, []string{"analyst", "manager", "engineer", "founder", "marketer"}),
			"company": fmt.Sprintf("Company %d", r.IntN(max(p.users/8, 1))),
			"persona": string(u.Persona),
		}})
	return msgs
}

// event is one usage event of u at at.
func (p planner) event(u userPlan, anonymous string, daysAgo int, at time.Time, n int, r *rand.Rand) ingest.Message {
	f := pickFeature(r)
	deviceType, osName := device(u.Persona, daysAgo, r)
	return ingest.Message{Type: ingest.TypeTrack, UserID: u.ExternalID, Event: f.event, Properties: f.props(r),
		Context:   ingest.Context{DeviceType: deviceType, OSName: osName},
		MessageID: p.messageID(u.ExternalID, fmt.Sprint(n)), Timestamp: at}
}

func (p planner) messageID(externalID, suffix string) string {
	return fmt.Sprintf("seed-%d-%s-%s", p.seed, externalID, suffix)
}

// feedback is what u says, at some of its active moments. Only the first
// feedback carries an NPS score, so a user's latest NPS is its persona's.
func (p planner) feedback(persona Persona, externalID string, stamps []time.Time, r *rand.Rand) []feedback.Submission {
	v := voices[persona]
	if len(stamps) == 0 || r.Float64() >= v.share {
		return nil
	}
	count := 1 + r.IntN(2)
	if persona == Detractor {
		count = 1 + r.IntN(3)
	}
	out := make([]feedback.Submission, 0, count)
	for k := range count {
		at := stamps[max(len(stamps)-1-r.IntN(min(len(stamps), 10)), 0)].Add(time.Duration(k) * time.Second)
		s := feedback.Submission{UserID: externalID, Kind: pick(r, v.kinds), Text: pick(r, v.texts),
			Channel: pick(r, v.channels), Tags: []string{pick(r, v.tags)}, Timestamp: at}
		if k == 0 {
			nps := between(r, v.nps)
			s.NPSScore = &nps
		} else {
			rating := between(r, v.rating)
			s.Rating = &rating
		}
		out = append(out, s)
	}
	return out
}

func (p planner) surveyAnswer(persona Persona, at time.Time, r *rand.Rand) *surveyAnswer {
	v := voices[persona]
	a := &surveyAnswer{NPS: between(r, v.nps), Favorite: favoriteOf(persona, r), Timestamp: at.Add(time.Minute)}
	if r.IntN(2) == 0 {
		a.Improve = pick(r, v.texts)
	}
	return a
}

package segment

import (
	"fmt"
	"strings"
	"time"
)

// A feedback condition counts the user's feedback matching every filter set
// (≥ 1 by default); with npsCategory it also needs the user's latest NPS
// score in the window to be in that category, and without other filters
// or a count it is that alone.

func (f *FeedbackCondition) validate(v *validator, path string, _ int) {
	if f.Kind != nil {
		if err := validFeedbackKind(*f.Kind); err != nil {
			v.fail(path+".kind", "%v", err)
		}
	}
	if f.NpsCategory != nil && !f.NpsCategory.Valid() {
		v.fail(path+".npsCategory", "unknown category %q", *f.NpsCategory)
	}
	if f.Sentiment != nil {
		if err := validSentiment(*f.Sentiment); err != nil {
			v.fail(path+".sentiment", "%v", err)
		}
	}
	v.count(path+".rating", f.Rating)
	if f.Rating != nil && (f.Rating.Value < 1 || f.Rating.Value > 5) {
		v.fail(path+".rating.value", "ratings are 1 to 5, got %d", f.Rating.Value)
	}
	v.count(path+".count", f.Count)
	v.window(path+".withinDays", f.WithinDays, false)
}

// counts reports whether the condition counts feedback: always, unless it
// is a bare npsCategory.
func (f *FeedbackCondition) counts() bool {
	return f.NpsCategory == nil || f.Count != nil || f.Kind != nil || f.Sentiment != nil || f.Rating != nil
}

func (f *FeedbackCondition) count() Count {
	if f.Count != nil {
		return *f.Count
	}
	return Count{Op: OpGTE, Value: 1}
}

func (f *FeedbackCondition) compile(c *compiler) (*cond, error) {
	var start *time.Time
	if f.WithinDays != nil {
		s := c.since(*f.WithinDays)
		start = &s
	}
	var nps *cond
	if f.NpsCategory != nil {
		nps = userLeaf(c.latestNPS(*f.NpsCategory, start))
		if !f.counts() {
			return nps, nil
		}
	}
	var filters []string
	if start != nil {
		filters = append(filters, "timestamp >= "+c.arg(*start))
	}
	if f.Kind != nil {
		filters = append(filters, "kind = "+c.arg(string(*f.Kind)))
	}
	if f.Sentiment != nil {
		filters = append(filters, "sentiment = "+c.arg(string(*f.Sentiment)))
	}
	if f.Rating != nil {
		filters = append(filters, "rating "+sqlOp(f.Rating.Op)+" "+c.arg(f.Rating.Value))
	}
	c.feedback = append(c.feedback, filters)
	leaf := c.countLeaf(fromFeedback, len(c.feedback)-1, f.count())
	if nps == nil {
		return leaf, nil
	}
	return &cond{and: []*cond{nps, leaf}}, nil
}

// latestNPS checks the category of the user's latest NPS score (in the
// window, when there is one), through feedback_user_id_timestamp.
func (c *compiler) latestNPS(category NpsCategory, start *time.Time) string {
	window := ""
	if start != nil {
		window = " AND f.timestamp >= " + c.arg(*start)
	}
	low, high := npsRange(category)
	// The comparison is inside the subquery: PostgreSQL expands
	// "(SELECT ...) BETWEEN a AND b" into two comparisons, each running
	// the subquery.
	between := " BETWEEN " + c.arg(low) + " AND " + c.arg(high)
	return "COALESCE((SELECT f.nps_score" + between + " FROM feedbacks f WHERE f.project_id = $1 AND f.user_id = u.id AND f.nps_score IS NOT NULL" +
		window + " ORDER BY f.timestamp DESC, f.id DESC LIMIT 1), false)"
}

// npsRange is a category's scores: promoters 9-10, passives 7-8,
// detractors 0-6.
func npsRange(category NpsCategory) (int, int) {
	switch category {
	case NpsPromoter:
		return 9, 10
	case NpsPassive:
		return 7, 8
	}
	return 0, 6
}

// feedbackSeen is what a feedback condition compares: the latest NPS score
// in the window (nil when none, or when npsCategory is not set) and the
// number of matching feedback.
type feedbackSeen struct {
	latestNPS *int
	matching  int
}

// measure is what evaluate compares and observe shows.
func (f *FeedbackCondition) measure(e *evaluator, u RefUser) feedbackSeen {
	var start *time.Time
	if f.WithinDays != nil {
		s := e.since(*f.WithinDays)
		start = &s
	}
	var seen feedbackSeen
	var latest *RefFeedback
	for i, fb := range e.d.Feedback {
		if fb.UserID != u.ID || (start != nil && fb.At.Before(*start)) {
			continue
		}
		if f.NpsCategory != nil && fb.NPS != nil &&
			(latest == nil || fb.At.After(latest.At) || (fb.At.Equal(latest.At) && fb.ID > latest.ID)) {
			latest = &e.d.Feedback[i]
		}
		switch {
		case f.Kind != nil && fb.Kind != string(*f.Kind),
			f.Sentiment != nil && fb.Sentiment != string(*f.Sentiment),
			f.Rating != nil && (fb.Rating == nil || !compareInt(*fb.Rating, *f.Rating)):
			continue
		}
		seen.matching++
	}
	if latest != nil {
		seen.latestNPS = latest.NPS
	}
	return seen
}

func (f *FeedbackCondition) evaluate(e *evaluator, u RefUser) bool {
	seen := f.measure(e, u)
	if f.NpsCategory != nil {
		low, high := npsRange(*f.NpsCategory)
		if seen.latestNPS == nil || *seen.latestNPS < low || *seen.latestNPS > high {
			return false
		}
	}
	return !f.counts() || compareInt(seen.matching, f.count())
}

func (f *FeedbackCondition) observe(e *evaluator, u RefUser, _ string) (string, []*Explanation) {
	seen := f.measure(e, u)
	var parts []string
	if f.NpsCategory != nil {
		if seen.latestNPS == nil {
			parts = append(parts, "no NPS score")
		} else {
			parts = append(parts, fmt.Sprintf("latest NPS score %d", *seen.latestNPS))
		}
	}
	if f.counts() {
		parts = append(parts, fmt.Sprintf("%d matching feedback", seen.matching))
	}
	return strings.Join(parts, ", ") + window(f.WithinDays), nil
}

func (f *FeedbackCondition) text(bool) string {
	var parts []string
	if f.NpsCategory != nil {
		parts = append(parts, "latest NPS is "+strings.ToLower(string(*f.NpsCategory)))
	}
	subject := "feedback"
	if f.Kind != nil {
		subject = string(*f.Kind) + " feedback"
	}
	var filters []string
	if f.Sentiment != nil {
		filters = append(filters, "sentiment "+string(*f.Sentiment))
	}
	if f.Rating != nil {
		filters = append(filters, "rating "+countText(*f.Rating))
	}
	if f.counts() {
		s := fmt.Sprintf("%s %s times", subject, countText(f.count()))
		if len(filters) > 0 {
			s += " with " + strings.Join(filters, " and ")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " and ") + window(f.WithinDays)
}

func (*FeedbackCondition) sources(add func(Source)) { add(Source{Kind: SourceFeedback}) }

// Without a window, feedback only ever adds up; with one, a feedback that
// leaves it changes the count or the latest NPS score.
func (f *FeedbackCondition) crossing(x *crossing) {
	if f.WithinDays != nil {
		x.feedback(x.window(*f.WithinDays))
	}
}

func (f *FeedbackCondition) reach(path string, add func(string, int)) {
	windowReach(path, f.WithinDays, add)
}

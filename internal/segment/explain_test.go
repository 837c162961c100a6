package segment_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent/schema/schematype"
	"github.com/pulse-analytics/pulse/internal/segment"
)

// randomDataset is a project in memory only, shaped like newWorld's: the
// explain test needs no database.
func randomDataset(rng *rand.Rand, now time.Time) (*world, *segment.Dataset) {
	w := &world{segments: []int{101, 102}, surveyID: 7, question: 8}
	d := &segment.Dataset{Members: map[int]map[int]bool{101: {}, 102: {}}}
	if rng.IntN(3) == 0 {
		d.ActiveEvents = map[string]bool{"export": true, "share": true}
	}
	ago := func() time.Time { return now.Add(-time.Duration(rng.Int64N(int64(40 * 24 * time.Hour)))) }
	for id := 1; id <= 12; id++ {
		traits := map[string]any{}
		if rng.IntN(4) > 0 {
			traits["plan"] = plans[rng.IntN(len(plans))]
		}
		if rng.IntN(4) > 0 {
			traits["age"] = float64(18 + rng.IntN(40))
		}
		d.Users = append(d.Users, segment.RefUser{ID: id, Traits: traits})
		for range rng.IntN(10) {
			d.Events = append(d.Events, segment.RefEvent{UserID: id, Name: eventNames[rng.IntN(3)], At: ago(),
				Platform:   []string{"MOBILE", "TABLET", "DESKTOP", "OTHER"}[rng.IntN(4)],
				Properties: map[string]any{"n": float64(rng.IntN(5)), "tag": []string{"x", "y"}[rng.IntN(2)]}})
		}
		for _, s := range w.segments {
			if rng.IntN(2) == 0 {
				d.Members[s][id] = true
			}
		}
	}
	for i := range 20 {
		f := segment.RefFeedback{ID: i + 1, UserID: 1 + rng.IntN(12), Kind: []string{"BUG", "PRAISE", "COMPLAINT"}[rng.IntN(3)],
			Sentiment: []string{"POSITIVE", "NEUTRAL", "NEGATIVE"}[rng.IntN(3)], At: ago()}
		if rng.IntN(2) == 0 {
			f.Rating = ptr(1 + rng.IntN(5))
		}
		if rng.IntN(2) == 0 {
			f.NPS = ptr(rng.IntN(11))
		}
		d.Feedback = append(d.Feedback, f)
	}
	for i := range 15 {
		d.Responses = append(d.Responses, segment.RefResponse{ID: i + 1, UserID: 1 + rng.IntN(12), SurveyID: 7, At: ago(),
			Answers: []schematype.SurveyAnswer{{QuestionID: 8, Choices: []string{choices[rng.IntN(3)]}}, {QuestionID: 9, Score: ptr(rng.IntN(11))}}})
	}
	return w, d
}

// TestExplainAgreesWithEvaluate: over random datasets and rules, every
// node's Explanation.Holds is Evaluate's answer for that user and that
// node, every leaf shows what it observed, and a count a leaf shows meets
// the leaf's comparison exactly when the leaf holds: the observation is
// the value that was compared.
func TestExplainAgreesWithEvaluate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 10, 15, 30, 0, 0, time.UTC)
	leaves := map[string]int{}
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		w, d := randomDataset(rng, now)
		env := segment.Env{ProjectID: 1, Now: now, Location: time.FixedZone("UTC-5", -5*3600)}
		for range 40 {
			r := w.randomRule(rng, 0)
			for _, u := range d.Users {
				// Explain explains the dataset's first user.
				mine := *d
				mine.Users = append([]segment.RefUser{u}, slices.DeleteFunc(slices.Clone(d.Users), func(o segment.RefUser) bool { return o.ID == u.ID })...)
				checkExplanation(t, r, segment.Explain(r, &mine, env), d, env, u.ID, leaves)
			}
		}
	}
	for _, field := range []string{"inSegment", "trait", "event", "activity", "firstSeen", "lastSeen", "platform", "feedback", "survey"} {
		require.Positive(t, leaves[field], "no %s leaf was explained", field)
	}
}

var observedCount = map[string]*regexp.Regexp{
	"event":    regexp.MustCompile(`: (\d+) times`),
	"activity": regexp.MustCompile(`^active (\d+) days`),
	"feedback": regexp.MustCompile(`(\d+) matching feedback`),
}

func checkExplanation(t *testing.T, r *segment.Rule, x *segment.Explanation, d *segment.Dataset, env segment.Env, userID int, leaves map[string]int) {
	t.Helper()
	rule, _ := json.Marshal(r)
	require.Equal(t, slices.Contains(segment.Evaluate(r, d, env), userID), x.Holds, "%s for user %d", rule, userID)
	switch {
	case r.And != nil:
		require.Len(t, x.Children, len(r.And))
		for i, c := range r.And {
			checkExplanation(t, c, x.Children[i], d, env, userID, leaves)
		}
		return
	case r.Or != nil:
		require.Len(t, x.Children, len(r.Or))
		for i, c := range r.Or {
			checkExplanation(t, c, x.Children[i], d, env, userID, leaves)
		}
		return
	case r.Not != nil:
		require.Len(t, x.Children, 1)
		checkExplanation(t, r.Not, x.Children[0], d, env, userID, leaves)
		return
	}
	var top map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(rule, &top))
	require.Len(t, top, 1)
	for field := range top {
		leaves[field]++
		require.NotEmpty(t, x.Observed, "%s for user %d observed nothing", rule, userID)
		require.Empty(t, x.Children)
		re := observedCount[field]
		if re == nil || (r.Feedback != nil && r.Feedback.NpsCategory != nil) {
			continue
		}
		m := re.FindStringSubmatch(x.Observed)
		require.NotNil(t, m, "%s observed %q", rule, x.Observed)
		n, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		count := segment.Count{Op: segment.OpGTE, Value: 1}
		switch {
		case r.Event != nil && r.Event.Count != nil:
			count = *r.Event.Count
		case r.Activity != nil:
			count = r.Activity.ActiveDays
		case r.Feedback != nil && r.Feedback.Count != nil:
			count = *r.Feedback.Count
		}
		require.Equal(t, x.Holds, holdsCount(n, count), "%s observed %q, holds %v", rule, x.Observed, x.Holds)
	}
}

func holdsCount(n int, c segment.Count) bool {
	switch c.Op {
	case segment.OpEQ:
		return n == c.Value
	case segment.OpNEQ:
		return n != c.Value
	case segment.OpGT:
		return n > c.Value
	case segment.OpGTE:
		return n >= c.Value
	case segment.OpLT:
		return n < c.Value
	}
	return n <= c.Value
}

func ExampleExplain() {
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	d := &segment.Dataset{
		Users: []segment.RefUser{{ID: 1}},
		Events: []segment.RefEvent{
			{UserID: 1, Name: "export", At: now.Add(-time.Hour), Properties: map[string]any{"format": "csv"}},
			{UserID: 1, Name: "export", At: now.Add(-2 * time.Hour), Properties: map[string]any{"format": "pdf"}},
		},
	}
	r, _ := segment.Decode([]byte(`{"event":{"name":"export","where":[{"property":"format","op":"EQ","value":"csv"}],"count":{"op":"GTE","value":2},"withinDays":7}}`))
	x := segment.Explain(r, d, segment.Env{ProjectID: 1, Now: now})
	fmt.Println(x.Text)
	fmt.Println(x.Observed, x.Holds)
	// Output:
	// export ≥ 2 times where format = "csv" in the last 7 days
	// export where format = "csv": 1 times in the last 7 days false
}

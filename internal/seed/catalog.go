package seed

import (
	"math/rand/v2"

	entfeedback "github.com/pulse-analytics/pulse/ent/feedback"
)

// feature is a named product feature and the properties its event carries.
type feature struct {
	event  string
	weight int // relative frequency
	props  func(r *rand.Rand) map[string]any
}

// features are the events of the imaginary product the seed describes: a
// reporting tool with dashboards, reports, exports, sharing and search.
var features = []feature{
	{"dashboard_viewed", 30, func(r *rand.Rand) map[string]any {
		return map[string]any{"dashboard": pick(r, []string{"Revenue", "Signups", "Churn", "Weekly KPIs", "Support"}), "widgets": 3 + r.IntN(10)}
	}},
	{"report_created", 10, func(r *rand.Rand) map[string]any {
		return map[string]any{"template": pick(r, []string{"blank", "cohort", "funnel", "retention"}), "charts": 1 + r.IntN(6)}
	}},
	{"report_exported", 8, func(r *rand.Rand) map[string]any {
		return map[string]any{"format": pick(r, []string{"csv", "csv", "pdf", "xlsx"}), "rows": 10 + r.IntN(5000)}
	}},
	{"filter_applied", 14, func(r *rand.Rand) map[string]any {
		return map[string]any{"field": pick(r, []string{"country", "plan", "date", "channel"}), "operator": pick(r, []string{"eq", "in", "between"})}
	}},
	{"search_performed", 12, func(r *rand.Rand) map[string]any {
		return map[string]any{"query_length": 3 + r.IntN(30), "results": r.IntN(50)}
	}},
	{"share_link_created", 4, func(r *rand.Rand) map[string]any {
		return map[string]any{"audience": pick(r, []string{"team", "public", "client"})}
	}},
	{"comment_added", 6, func(r *rand.Rand) map[string]any {
		return map[string]any{"length": 10 + r.IntN(400), "mentions": r.IntN(3)}
	}},
	{"integration_connected", 1, func(r *rand.Rand) map[string]any {
		return map[string]any{"provider": pick(r, []string{"slack", "salesforce", "bigquery", "stripe"})}
	}},
	{"settings_changed", 2, func(r *rand.Rand) map[string]any {
		return map[string]any{"setting": pick(r, []string{"theme", "timezone", "notifications", "language"})}
	}},
}

var featureWeight = func() int {
	total := 0
	for _, f := range features {
		total += f.weight
	}
	return total
}()

// pickFeature draws a feature by weight.
func pickFeature(r *rand.Rand) feature {
	n := r.IntN(featureWeight)
	for _, f := range features {
		if n < f.weight {
			return f
		}
		n -= f.weight
	}
	return features[0]
}

// FeatureNames are the event names the seed tracks, for rules and docs.
func FeatureNames() []string {
	names := make([]string, len(features))
	for i, f := range features {
		names[i] = f.event
	}
	return names
}

// voice is what a persona says when it gives feedback.
type voice struct {
	kinds    []entfeedback.Kind
	nps      [2]int // inclusive range
	rating   [2]int
	texts    []string
	channels []string
	tags     []string
	share    float64 // of the persona's users who give feedback
}

var voices = map[Persona]voice{
	PowerUser: {
		kinds: []entfeedback.Kind{entfeedback.KindPRAISE, entfeedback.KindFEATURE_REQUEST, entfeedback.KindPRAISE},
		nps:   [2]int{9, 10}, rating: [2]int{4, 5}, share: 0.7,
		texts: []string{
			"Love the new dashboards, they save me an hour every morning.",
			"Really fast and reliable. Could you add scheduled exports to Slack?",
			"Great product, the team adores the sharing links.",
			"The cohort report is excellent. Would love a dark mode too.",
			"Works perfectly for our weekly KPIs, thank you!",
		},
		channels: []string{"in_app", "email"}, tags: []string{"dashboards", "export", "sharing", "reports"},
	},
	MobileCasual: {
		kinds: []entfeedback.Kind{entfeedback.KindQUESTION, entfeedback.KindFEATURE_REQUEST, entfeedback.KindOTHER},
		nps:   [2]int{7, 8}, rating: [2]int{3, 4}, share: 0.3,
		texts: []string{
			"Nice app but the charts are a bit small on my phone.",
			"How do I pin a dashboard to the home screen?",
			"Good enough for a quick look on the go.",
			"Please add offline mode for the mobile app.",
		},
		channels: []string{"mobile_app"}, tags: []string{"mobile", "charts"},
	},
	Newcomer: {
		kinds: []entfeedback.Kind{entfeedback.KindQUESTION, entfeedback.KindQUESTION, entfeedback.KindPRAISE},
		nps:   [2]int{6, 9}, rating: [2]int{3, 5}, share: 0.4,
		texts: []string{
			"Just signed up, how do I connect my database?",
			"The onboarding checklist is helpful.",
			"Where can I find the report templates?",
			"Looks promising so far, easy to set up.",
		},
		channels: []string{"in_app", "chat"}, tags: []string{"onboarding", "setup"},
	},
	Churner: {
		kinds: []entfeedback.Kind{entfeedback.KindCOMPLAINT, entfeedback.KindOTHER},
		nps:   [2]int{3, 6}, rating: [2]int{2, 3}, share: 0.35,
		texts: []string{
			"Too expensive for what we use it for.",
			"We moved to a spreadsheet, it was simpler for our team.",
			"Not what we needed, sorry.",
			"Setup took too long and we never finished it.",
		},
		channels: []string{"email", "cancellation_form"}, tags: []string{"pricing", "setup"},
	},
	Detractor: {
		kinds: []entfeedback.Kind{entfeedback.KindBUG, entfeedback.KindCOMPLAINT, entfeedback.KindBUG},
		nps:   [2]int{0, 5}, rating: [2]int{1, 2}, share: 1,
		texts: []string{
			"Export to CSV is broken again, this is unacceptable.",
			"The dashboard is so slow it is basically unusable.",
			"Filters keep resetting, really frustrating.",
			"Search never finds anything, terrible experience.",
			"The app crashed twice today and I lost my report.",
		},
		channels: []string{"in_app", "support_ticket"}, tags: []string{"export", "performance", "filters", "search", "crash"},
	},
}

// surveyQuestion prompts and choices of the seeded survey.
const (
	surveyName      = "Quarterly product pulse"
	npsPrompt       = "How likely are you to recommend us to a friend or colleague?"
	favoritePrompt  = "Which feature do you use the most?"
	improvePrompt   = "What should we improve first?"
	surveyAnswerPct = 0.45
)

var favoriteChoices = []string{"Dashboards", "Reports", "Exports", "Search", "Sharing"}

// favoriteOf is a persona's likely favourite feature.
func favoriteOf(p Persona, r *rand.Rand) string {
	switch p {
	case PowerUser:
		return pick(r, []string{"Dashboards", "Reports", "Exports"})
	case MobileCasual:
		return "Dashboards"
	case Detractor:
		return pick(r, []string{"Exports", "Search"})
	}
	return pick(r, favoriteChoices)
}

func between(r *rand.Rand, span [2]int) int { return span[0] + r.IntN(span[1]-span[0]+1) }

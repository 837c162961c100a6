package feedback_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	entfeedback "github.com/pulse-analytics/pulse/ent/feedback"
	"github.com/pulse-analytics/pulse/internal/feedback"
)

func TestTextScore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		want float64
	}{
		{"", 0},
		{"How do I change my password?", 0},
		{"It's fine, I guess", 0},
		{"good", 3},
		{"GOOD!!!", 3},
		// A negator flips and dampens the words it reaches.
		{"not bad at all", 2.25},
		{"I don't love the new export", -2.25},
		{"I don’t love the new export", -2.25}, // typographic apostrophe
		{"I dont like the new layout", -1.5},   // contraction typed without the apostrophe
		{"Not the best experience", -2.25},     // articles do not use up the reach
		{"never had a single problem", 1.5},
		{"without any problems", 1.5},
		// ... for three words only, and never across a clause or sentence.
		{"never thought it would be this good", 3},
		{"not. great", 3},
		{"no, it is good", 3},
		// Modifiers.
		{"very good", 4.5},
		{"not very good", -3.375},
		{"slightly slow", -1},
		// "but" shifts the weight to what follows it, within its sentence.
		{"nice idea but it keeps crashing", 1.5 - 3},
		{"Nice idea. But it crashes.", 3 - 3}, //nolint:gocritic,staticcheck // each sentence's score, cancelling out
		// "like" that asks or compares is not liking.
		{"I would like a dark mode", 0},
		{"I'd like to export to CSV", 0},
		{"looks like a bug in the editor", 0},
		{"I like the new editor", 2},
		// Emoji.
		{"Absolutely love it 😍", 4.5 + 3},
		{"👎", -2},
		{"This is a nightmare 😡", -6},
	}
	for _, tt := range tests {
		require.InDelta(t, tt.want, feedback.TextScore(tt.text), 1e-9, "%q", tt.text)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	const (
		pos = entfeedback.SentimentPOSITIVE
		neu = entfeedback.SentimentNEUTRAL
		neg = entfeedback.SentimentNEGATIVE
	)
	n := func(v int) *int { return &v }
	tests := []struct {
		name        string
		kind        entfeedback.Kind
		rating, nps *int
		text        string
		want        entfeedback.Sentiment
	}{
		{"praise", entfeedback.KindPRAISE, nil, nil, "I love the new dashboard, it's so fast!", pos},
		{"negated negative", entfeedback.KindOTHER, nil, nil, "Not bad at all, honestly", pos},
		{"negated positive", entfeedback.KindFEATURE_REQUEST, nil, nil, "I don't love the new export", neg},
		{"crash report", entfeedback.KindBUG, nil, nil, "The app keeps crashing when I upload a photo", neg},
		{"but", entfeedback.KindCOMPLAINT, nil, nil, "Great support, but the app is unusable on my phone", neg},
		{"no problems", entfeedback.KindOTHER, nil, nil, "No problems so far, works as expected", pos},
		{"not helpful", entfeedback.KindCOMPLAINT, nil, nil, "The support team was not helpful", neg},
		{"fixed now", entfeedback.KindOTHER, nil, nil, "Export isn't slow anymore, thank you!", pos},
		{"feature request", entfeedback.KindFEATURE_REQUEST, nil, nil, "Can you add a dark mode?", neu},
		{"polite request", entfeedback.KindFEATURE_REQUEST, nil, nil, "I would like to export reports to CSV", neu},
		{"question", entfeedback.KindQUESTION, nil, nil, "How do I invite my team?", neu},
		{"plain bug", entfeedback.KindBUG, nil, nil, "Export button does nothing", neu}, // the lean alone never decides
		{"bug tipped", entfeedback.KindBUG, nil, nil, "Export is somewhat slow on Safari", neg},
		{"praise without words", entfeedback.KindPRAISE, nil, nil, "The new onboarding flow", neu},
		{"praise with thanks", entfeedback.KindPRAISE, nil, nil, "Thanks to the whole team", pos},
		// Numbers alone.
		{"rating 5", entfeedback.KindOTHER, n(5), nil, "", pos},
		{"rating 4", entfeedback.KindOTHER, n(4), nil, "", pos},
		{"rating 3", entfeedback.KindOTHER, n(3), nil, "", neu},
		{"rating 2", entfeedback.KindOTHER, n(2), nil, "", neg},
		{"rating 1", entfeedback.KindOTHER, n(1), nil, "", neg},
		{"promoter", entfeedback.KindOTHER, nil, n(10), "", pos},
		{"passive", entfeedback.KindOTHER, nil, n(8), "", neu},
		{"detractor 6", entfeedback.KindOTHER, nil, n(6), "", neg},
		{"detractor 0", entfeedback.KindOTHER, nil, n(0), "", neg},
		// Numbers and words together.
		{"high rating, small gripe", entfeedback.KindOTHER, n(5), nil, "The export is slightly slow", pos},
		{"low rating, kind words", entfeedback.KindCOMPLAINT, n(1), nil, "Great idea, love the concept, but it crashes every day", neg},
		{"promoter with a gripe", entfeedback.KindOTHER, nil, n(9), "Good product, but it is too expensive", pos},
		{"passive and happy", entfeedback.KindOTHER, nil, n(8), "Really enjoying it", pos},
		{"detractor and angry", entfeedback.KindCOMPLAINT, nil, n(2), "Terrible. I want a refund.", neg},
		// Text counts at most 4 either way: praise piled on cannot outvote a
		// detractor's score (+6 unclamped would make it POSITIVE).
		{"clamped text", entfeedback.KindCOMPLAINT, nil, n(3), "Love the idea, love the team", neu},
		{"strong text against a high rating", entfeedback.KindOTHER, n(5), nil, "Broken, terrible, useless", neg},
	}
	for _, tt := range tests {
		got := feedback.Classify(tt.kind, tt.rating, tt.nps, tt.text)
		require.Equal(t, tt.want, got, "%s: %q (text score %.2f)", tt.name, tt.text, feedback.TextScore(tt.text))
	}
}

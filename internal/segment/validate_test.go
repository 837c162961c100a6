package segment_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/segment"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		rule      string
		wantPath  string
		wantInMsg string
	}{
		{"trait", `{"trait":{"key":"plan","op":"EQ","value":"pro"}}`, "", ""},
		{"trait exists", `{"trait":{"key":"plan","op":"EXISTS"}}`, "", ""},
		{"event defaults", `{"event":{"name":"export"}}`, "", ""},
		{"event did not", `{"event":{"name":"export","count":{"op":"EQ","value":0},"withinDays":30}}`, "", ""},
		{"nested", `{"and":[{"activity":{"activeDays":{"op":"GTE","value":5},"withinDays":7}},{"not":{"inSegment":12}}]}`, "", ""},
		{"dormant", `{"lastSeen":{"moreThanDaysAgo":30}}`, "", ""},
		{"nps", `{"feedback":{"npsCategory":"DETRACTOR","withinDays":90}}`, "", ""},
		{"survey", `{"survey":{"surveyId":3,"questionId":4,"answerIn":["dev"]}}`, "", ""},

		{"empty node", `{}`, "rule", "none is set"},
		{"two fields", `{"firstSeen":{"withinDays":1},"lastSeen":{"withinDays":1}}`, "rule", "firstSeen, lastSeen are set"},
		{"empty or", `{"or":[]}`, "rule.or", "at least one rule"},
		{"null child", `{"and":[null]}`, "rule.and[0]", "a rule is required"},
		{"zero window", `{"event":{"name":"x","withinDays":0}}`, "rule.event.withinDays", "at least 1 day"},
		{"huge window", `{"firstSeen":{"withinDays":100000}}`, "rule.firstSeen.withinDays", "at most 3650"},
		{"missing window", `{"activity":{"activeDays":{"op":"GTE","value":1},"withinDays":0}}`, "rule.activity.withinDays", "at least 1"},
		{"more days than window", `{"activity":{"activeDays":{"op":"GTE","value":9},"withinDays":7}}`, "rule.activity.activeDays.value", "cannot exceed"},
		{"unknown op", `{"trait":{"key":"a","op":"LIKE","value":"x"}}`, "rule.trait.op", "unknown operator"},
		{"exists with value", `{"trait":{"key":"a","op":"EXISTS","value":1}}`, "rule.trait", "takes no value"},
		{"contains number", `{"trait":{"key":"a","op":"CONTAINS","value":1}}`, "rule.trait.value", "needs a string"},
		{"in with value", `{"trait":{"key":"a","op":"IN","value":1}}`, "rule.trait.value", "takes values"},
		{"list in list", `{"trait":{"key":"a","op":"IN","values":[[1]]}}`, "rule.trait.values[0]", "string, number or boolean"},
		{"blank key", `{"trait":{"key":" ","op":"EXISTS"}}`, "rule.trait.key", "must not be empty"},
		{"blank property", `{"event":{"name":"x","where":[{"property":"","op":"EQ","value":1}]}}`, "rule.event.where[0].property", "must not be empty"},
		{"negative count", `{"event":{"name":"x","count":{"op":"GTE","value":-1}}}`, "rule.event.count.value", "must not be negative"},
		{"last seen both", `{"lastSeen":{"withinDays":1,"moreThanDaysAgo":2}}`, "rule.lastSeen", "exactly one"},
		{"bad platform", `{"platform":{"platform":"WATCH","minShare":0.5,"withinDays":7}}`, "rule.platform.platform", "invalid enum"},
		{"zero share", `{"platform":{"platform":"MOBILE","minShare":0,"withinDays":7}}`, "rule.platform.minShare", "(0, 1]"},
		{"bad kind", `{"feedback":{"kind":"RANT"}}`, "rule.feedback.kind", "invalid enum"},
		{"rating range", `{"feedback":{"rating":{"op":"GTE","value":6}}}`, "rule.feedback.rating.value", "1 to 5"},
		{"answer without question", `{"survey":{"surveyId":3,"answerIn":["x"]}}`, "rule.survey.questionId", "is required"},
		{"bad segment id", `{"inSegment":0}`, "rule.inSegment", "not a segment id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := segment.Decode([]byte(tt.rule))
			require.NoError(t, err)
			err = segment.Validate(r)
			if tt.wantPath == "" {
				require.NoError(t, err)
				return
			}
			var verr *segment.ValidationError
			require.ErrorAs(t, err, &verr, "got %v", err)
			require.Equal(t, tt.wantPath, verr.Field)
			require.Contains(t, verr.Message, tt.wantInMsg)
		})
	}
}

func TestValidateLimits(t *testing.T) {
	t.Parallel()
	deep := `{"firstSeen":{"withinDays":1}}`
	for range segment.MaxRuleDepth {
		deep = `{"not":` + deep + `}`
	}
	r, err := segment.Decode([]byte(deep))
	require.NoError(t, err)
	require.ErrorContains(t, segment.Validate(r), "at most 16 levels")

	wide := &segment.Rule{}
	for range segment.MaxRuleNodes {
		days := 1
		wide.Or = append(wide.Or, &segment.Rule{Event: &segment.EventCondition{Name: "x", WithinDays: &days}})
	}
	require.ErrorContains(t, segment.Validate(wide), "at most 200 nodes")
}

func TestDecodeRejectsWrongTypes(t *testing.T) {
	t.Parallel()
	_, err := segment.Decode([]byte(`{"firstSeen":{"withinDays":"soon"}}`))
	require.Error(t, err)
	var inputErr *invalid.Error
	require.NotErrorAs(t, err, &inputErr, "syntax errors are not field errors")
}

func TestReferences(t *testing.T) {
	t.Parallel()
	r, err := segment.Decode([]byte(`{"or":[{"inSegment":4},{"and":[{"inSegment":7},{"survey":{"surveyId":2}}]},{"not":{"inSegment":4}}]}`))
	require.NoError(t, err)
	segments, surveys := r.References()
	require.Equal(t, []int{4, 7}, segments)
	require.Equal(t, []int{2}, surveys)
}

// A rule is the JSON of a GraphQL RuleInput: one field per node. This is the
// "mobile power exporters" rule of the README.
func ExampleValidate() {
	r, _ := segment.Decode([]byte(`{"and":[
	  {"event":{"name":"export","count":{"op":"GTE","value":3},"withinDays":30}},
	  {"platform":{"platform":"MOBILE","minShare":0.7,"withinDays":28}}
	]}`))
	fmt.Println(segment.Validate(r))

	bad, _ := segment.Decode([]byte(`{"and":[{"event":{"name":"export","withinDays":-1}}]}`))
	fmt.Println(segment.Validate(bad))
	// Output:
	// <nil>
	// rule.and[0].event.withinDays: must be at least 1 day, got -1
}

func ExampleText() {
	r, _ := segment.Decode([]byte(`{"and":[
	  {"event":{"name":"export","count":{"op":"GTE","value":3},"withinDays":30}},
	  {"platform":{"platform":"MOBILE","minShare":0.7,"withinDays":28}},
	  {"not":{"or":[{"trait":{"key":"plan","op":"IN","values":["free","trial"]}},{"lastSeen":{"moreThanDaysAgo":30}}]}}
	]}`))
	fmt.Println(segment.Text(r))
	// Output:
	// export ≥ 3 times in the last 30 days AND MOBILE ≥ 70% of events in the last 28 days AND NOT (trait plan in ("free", "trial") OR not seen for more than 30 days)
}

package segment_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/segment"
)

func TestSources(t *testing.T) {
	t.Parallel()
	event := func(name string) segment.Source { return segment.Source{Kind: segment.SourceEvent, Name: name} }
	for _, tc := range []struct {
		name, rule string
		want       []segment.Source
	}{
		{"named events, each once, sorted", `{"or":[{"event":{"name":"share"}},{"not":{"event":{"name":"export","withinDays":3}}},{"event":{"name":"share","count":{"op":"EQ","value":0}}}]}`,
			[]segment.Source{event("export"), event("share")}},
		{"any event subsumes the named ones", `{"and":[{"event":{"name":"export"}},{"platform":{"platform":"MOBILE","minShare":0.5,"withinDays":7}}]}`,
			[]segment.Source{event("")}},
		{"activity, first and last seen are any event", `{"or":[{"activity":{"activeDays":{"op":"GTE","value":1},"withinDays":7}},{"firstSeen":{"withinDays":3}},{"lastSeen":{"moreThanDaysAgo":3}}]}`,
			[]segment.Source{event("")}},
		{"by kind then name", `{"and":[{"inSegment":12},{"survey":{"surveyId":30}},{"trait":{"key":"plan","op":"EXISTS"}},{"feedback":{"kind":"BUG"}},
			{"inSegment":4},{"survey":{"surveyId":4}},{"trait":{"key":"age","op":"GT","value":3}},{"event":{"name":"login"}},{"feedback":{"npsCategory":"PROMOTER"}}]}`,
			[]segment.Source{event("login"), {Kind: segment.SourceFeedback}, {Kind: segment.SourceSegment, Name: "12"}, {Kind: segment.SourceSegment, Name: "4"},
				{Kind: segment.SourceSurvey, Name: "30"}, {Kind: segment.SourceSurvey, Name: "4"}, {Kind: segment.SourceTrait, Name: "age"}, {Kind: segment.SourceTrait, Name: "plan"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, segment.Sources(decode(t, tc.rule)))
		})
	}
}

// A real-time engine re-evaluates a segment for the users whose data
// changed in one of its sources.
func ExampleSources() {
	r, _ := segment.Decode([]byte(`{"and":[
	  {"event":{"name":"export","count":{"op":"GTE","value":3},"withinDays":30}},
	  {"not":{"trait":{"key":"plan","op":"IN","values":["free","trial"]}}},
	  {"feedback":{"npsCategory":"PROMOTER"}}
	]}`))
	for _, s := range segment.Sources(r) {
		fmt.Printf("%s %q\n", s.Kind, s.Name)
	}
	// Output:
	// event "export"
	// feedback ""
	// trait "plan"
}

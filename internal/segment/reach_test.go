package segment_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/segment"
)

// TestCheckRetention: a rule passes a retention when every condition that
// reads history has a window within it; the error names the withinDays of
// the first one that does not, however deep.
func TestCheckRetention(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		rule      string
		retention int
		wantPath  string
		wantInMsg string
	}{
		{"no retention", `{"event":{"name":"export"}}`, 0, "", ""},
		{"window inside", `{"event":{"name":"export","withinDays":30}}`, 30, "", ""},
		{"user columns", `{"and":[{"trait":{"key":"plan","op":"EXISTS"}},{"firstSeen":{"withinDays":400}},{"lastSeen":{"moreThanDaysAgo":400}},{"inSegment":3}]}`, 30, "", ""},
		{"window past", `{"event":{"name":"export","withinDays":31}}`, 30, "rule.event.withinDays", "must be at most 30"},
		{"all history", `{"or":[{"trait":{"key":"plan","op":"EXISTS"}},{"not":{"feedback":{"kind":"BUG"}}}]}`, 30, "rule.or[1].not.feedback.withinDays", "is required"},
		{"activity", `{"and":[{"platform":{"platform":"MOBILE","minShare":0.5,"withinDays":7}},{"activity":{"activeDays":{"op":"GTE","value":2},"withinDays":28}}]}`, 14, "rule.and[1].activity.withinDays", "got 28"},
		{"survey", `{"survey":{"surveyId":3}}`, 90, "rule.survey.withinDays", "reads all of it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := segment.CheckRetention(decode(t, tt.rule), tt.retention)
			if tt.wantPath == "" {
				require.NoError(t, err)
				return
			}
			var verr *segment.ValidationError
			require.ErrorAs(t, err, &verr)
			require.Equal(t, tt.wantPath, verr.Field)
			require.Contains(t, verr.Message, tt.wantInMsg)
		})
	}
}

// TestLongest: the days a rule needs, and whether it needs all of them.
func TestLongest(t *testing.T) {
	t.Parallel()
	days, unbounded := segment.Longest(segment.Reaches(decode(t, `{"and":[{"event":{"name":"a","withinDays":7}},{"feedback":{"withinDays":90}}]}`)))
	require.Equal(t, 90, days)
	require.False(t, unbounded)
	_, unbounded = segment.Longest(segment.Reaches(decode(t, `{"and":[{"event":{"name":"a","withinDays":7}},{"event":{"name":"b"}}]}`)))
	require.True(t, unbounded)
	days, unbounded = segment.Longest(segment.Reaches(decode(t, `{"trait":{"key":"plan","op":"EXISTS"}}`)))
	require.Zero(t, days)
	require.False(t, unbounded)
	require.True(t, segment.Exceeds(segment.Reaches(decode(t, `{"event":{"name":"b"}}`)), 3650))
	require.False(t, segment.Exceeds(segment.Reaches(decode(t, `{"event":{"name":"b","withinDays":3650}}`)), 3650))
}

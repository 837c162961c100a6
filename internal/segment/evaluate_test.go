package segment_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/segment"
)

// TestEvaluateBoundaries pins the reference semantics the compiler is
// checked against, on hand-made data.
func TestEvaluateBoundaries(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	require.NoError(t, err)
	d := &segment.Dataset{
		Users: []segment.RefUser{
			{ID: 1, Traits: map[string]any{"plan": "pro", "age": float64(30), "tags": []any{"beta"}}},
			{ID: 2, Traits: map[string]any{"plan": "free", "age": "30"}},
			{ID: 3},
		},
		Events: []segment.RefEvent{
			// Exactly 7 days before now: inside a 7-day window.
			{UserID: 1, Name: "export", At: now.Add(-7 * 24 * time.Hour), Platform: "MOBILE"},
			// One second older: outside it.
			{UserID: 2, Name: "export", At: now.Add(-7*24*time.Hour - time.Second), Platform: "DESKTOP"},
			// 23:30 UTC on June 9th is June 10th in Tokyo.
			{UserID: 2, Name: "login", At: time.Date(2026, 6, 9, 23, 30, 0, 0, time.UTC), Platform: "DESKTOP"},
		},
	}
	eval := func(rule string, env segment.Env) []int {
		r, err := segment.Decode([]byte(rule))
		require.NoError(t, err)
		require.NoError(t, segment.Validate(r))
		return segment.Evaluate(r, d, env)
	}
	utc := segment.Env{ProjectID: 1, Now: now}
	require.Equal(t, []int{1}, eval(`{"event":{"name":"export","withinDays":7}}`, utc))
	require.Equal(t, []int{2, 3}, eval(`{"event":{"name":"export","count":{"op":"EQ","value":0},"withinDays":7}}`, utc),
		"did not: users without events included")
	require.Equal(t, []int{1}, eval(`{"trait":{"key":"age","op":"GTE","value":4}}`, utc),
		"30 ≥ 4 as numbers; the text \"30\" sorts before \"4\"")
	require.Equal(t, []int{1, 2}, eval(`{"trait":{"key":"age","op":"EQ","value":"30"}}`, utc), "against a string, the number 30 compares as its text")
	require.Equal(t, []int{1}, eval(`{"trait":{"key":"tags","op":"CONTAINS","value":"beta"}}`, utc))
	require.Equal(t, []int{3}, eval(`{"trait":{"key":"plan","op":"NOT_EXISTS"}}`, utc))
	require.Equal(t, []int{1}, eval(`{"trait":{"key":"plan","op":"NEQ","value":"free"}}`, utc), "a missing trait never matches NEQ")
	require.Equal(t, []int{1}, eval(`{"platform":{"platform":"MOBILE","minShare":1,"withinDays":8}}`, utc))
	require.Equal(t, []int(nil), eval(`{"platform":{"platform":"OTHER","minShare":0.1,"withinDays":8}}`, utc), "no events, no share")
	// Today in Tokyo is June 10th; user 2's login counts as today there,
	// as yesterday in UTC.
	require.Equal(t, []int{2}, eval(`{"activity":{"activeDays":{"op":"GTE","value":1},"withinDays":1}}`,
		segment.Env{ProjectID: 1, Now: now, Location: tokyo}))
	require.Equal(t, []int(nil), eval(`{"activity":{"activeDays":{"op":"GTE","value":1},"withinDays":1}}`, utc))
	require.Equal(t, []int{1, 2}, eval(`{"lastSeen":{"withinDays":8}}`, utc))
	require.Equal(t, []int(nil), eval(`{"lastSeen":{"moreThanDaysAgo":8}}`, utc), "user 3 was never seen")
}

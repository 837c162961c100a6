package retention_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/retention"
)

// TestCutoffAt: a retention of N days keeps today and the N-1 days before
// it in the project's time zone, and at least the last N × 24 hours; in
// the last hour of a day whose window has a 25-hour day, the events of the
// first day start before that.
func TestCutoffAt(t *testing.T) {
	t.Parallel()
	load := func(name string) *time.Location {
		loc, err := time.LoadLocation(name)
		require.NoError(t, err)
		return loc
	}
	tests := []struct {
		name string
		now  time.Time
		loc  *time.Location
		days int
		want retention.Cutoff
	}{
		{"UTC", time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC), time.UTC, 30,
			retention.Cutoff{Time: time.Date(2026, 5, 11, 12, 0, 0, 0, time.UTC), FirstDay: "2026-05-12"}},
		{"ahead of UTC: already tomorrow", time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC), load("Pacific/Auckland"), 1,
			retention.Cutoff{Time: time.Date(2026, 6, 9, 12, 0, 0, 0, time.UTC), FirstDay: "2026-06-11"}},
		{"clocks went back in the window, last hour of the day", time.Date(2026, 11, 5, 22, 30, 0, 0, time.UTC), load("Europe/Paris"), 14,
			retention.Cutoff{Time: time.Date(2026, 10, 22, 22, 0, 0, 0, time.UTC), FirstDay: "2026-10-23"}},
		{"clocks went back in the window, earlier in the day", time.Date(2026, 11, 5, 12, 0, 0, 0, time.UTC), load("Europe/Paris"), 14,
			retention.Cutoff{Time: time.Date(2026, 10, 22, 12, 0, 0, 0, time.UTC), FirstDay: "2026-10-23"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := retention.CutoffAt(tt.now, tt.loc, tt.days)
			require.True(t, tt.want.Time.Equal(got.Time), "cutoff %s, want %s", got.Time.UTC(), tt.want.Time)
			require.Equal(t, tt.want.FirstDay, got.FirstDay)
		})
	}
}

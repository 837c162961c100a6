package analytics

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// "Today" is the calendar day of the project's time zone: at 20:00 UTC on
// March 1 it is already March 2 in Kiritimati (UTC+14) and still March 1 in
// Pago Pago (UTC-11).
func TestTodayIsTheProjectsCalendarDay(t *testing.T) {
	t.Parallel()
	s := &Service{now: func() time.Time { return time.Date(2026, 3, 1, 20, 0, 0, 0, time.UTC) }}
	for zone, want := range map[string]string{"Pacific/Kiritimati": "2026-03-02", "Pacific/Pago_Pago": "2026-03-01", "UTC": "2026-03-01"} {
		loc, err := time.LoadLocation(zone)
		require.NoError(t, err)
		require.Equal(t, want, date(s.today(&snapshot{location: loc})), zone)
	}
}

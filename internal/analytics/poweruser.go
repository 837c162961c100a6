package analytics

import (
	"context"
	"fmt"
	"time"

	"github.com/pulse-analytics/pulse/internal/invalid"
)

// PowerUserBar is one bar of the power-user curve: how many users were
// active on exactly ActiveDays of the window's days.
type PowerUserBar struct {
	ActiveDays int
	Users      int
}

// powerUserSQL counts users by their active days between $2 and $3.
var powerUserSQL = `
SELECT n, count(*)::int FROM (
	SELECT count(*) AS n
	FROM user_daily_activities d
	WHERE d.project_id = $1 AND d.day BETWEEN $2::date AND $3::date AND d.events > 0
	  AND ` + inSegment("d.user_id", "$4") + `
	GROUP BY d.user_id
) per_user
GROUP BY n`

// PowerUserCurve is the histogram of users by active days over a window of
// days days ending on to (default today, project time zone): the L7 or L28
// curve. It has one bar per count from 1 to days, zeros included; users
// not active in the window are not in it. With segmentID, only the
// segment's current members count.
func (s *Service) PowerUserCurve(ctx context.Context, days int, to *time.Time, segmentID *int) ([]PowerUserBar, error) {
	if days < 1 || days > MaxPowerUserDays {
		return nil, invalid.Field("days", "must be between 1 and %d, got %d", MaxPowerUserDays, days)
	}
	if err := s.segment(ctx, "segmentId", segmentID); err != nil {
		return nil, err
	}
	bars := make([]PowerUserBar, days)
	for i := range bars {
		bars[i].ActiveDays = i + 1
	}
	err := s.read(ctx, func(snap *snapshot) error {
		last := s.today(snap)
		if to != nil {
			last = civil(*to)
		}
		rows, err := snap.tx.QueryContext(ctx, powerUserSQL, snap.projectID, date(last.AddDate(0, 0, -(days-1))), date(last), segmentID)
		if err != nil {
			return fmt.Errorf("power-user curve: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var n, users int
			if err := rows.Scan(&n, &users); err != nil {
				return fmt.Errorf("power-user curve: %w", err)
			}
			bars[n-1].Users = users
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return bars, nil
}

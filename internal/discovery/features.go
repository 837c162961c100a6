package discovery

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/pulse-analytics/pulse/internal/segment"
)

// Features is how one user behaved over a discovery window.
type Features struct {
	UserID int
	// RecencyDays is how long ago the user was last seen, in days.
	RecencyDays float64
	// Events counts the user's usage events in the window.
	Events int
	// ActiveDays counts calendar days with activity (project time zone),
	// as activity rules do.
	ActiveDays int
	// DistinctEvents counts the distinct event names used: the breadth of
	// features used.
	DistinctEvents int
	// MobileEvents counts the window's events on MOBILE; MobileShare is
	// their share, as platform rules measure it.
	MobileEvents int
	MobileShare  float64
	// NPS is the user's latest NPS score in the window, if any.
	NPS *int
}

// featuresSQL measures every user with a usage event in the window ($2 =
// now - window, $3 = the first activity day, $4 = now). Active days come
// from the daily rollup and recency from users.last_seen_at. Breadth needs
// event names, which no rollup keeps, so one scan of the window's events
// (index events(project_id, name, timestamp) or a sequential scan) is
// unavoidable; counting the events and their MOBILE share rides on that
// same scan, which also makes them match platform rules to the event.
const featuresSQL = `
WITH ev AS (
	SELECT user_id, count(*) AS events, count(*) FILTER (WHERE platform = 'MOBILE') AS mobile,
		count(DISTINCT name) AS names
	FROM events WHERE project_id = $1 AND timestamp >= $2 GROUP BY user_id
), act AS (
	SELECT user_id, count(*) AS days FROM user_daily_activities
	WHERE project_id = $1 AND day >= $3::date AND events > 0 GROUP BY user_id
), nps AS (
	SELECT DISTINCT ON (user_id) user_id, nps_score FROM feedbacks
	WHERE project_id = $1 AND timestamp >= $2 AND nps_score IS NOT NULL
	ORDER BY user_id, timestamp DESC, id DESC
)
SELECT u.id, GREATEST(EXTRACT(EPOCH FROM $4::timestamptz - u.last_seen_at) / 86400, 0)::float8,
	ev.events, ev.mobile, ev.names, COALESCE(act.days, 0), nps.nps_score
FROM ev JOIN users u ON u.id = ev.user_id AND u.project_id = $1
LEFT JOIN act ON act.user_id = ev.user_id
LEFT JOIN nps ON nps.user_id = ev.user_id
ORDER BY u.id`

// window is where and when a discovery measures behaviour.
type window struct {
	projectID int
	days      int
	now       time.Time
	location  *time.Location
}

func (w window) since() time.Time { return w.now.Add(-time.Duration(w.days) * 24 * time.Hour) }

// loadFeatures measures the users active in the window, in user id order.
func loadFeatures(ctx context.Context, q querier, w window) ([]Features, error) {
	rows, err := q.QueryContext(ctx, featuresSQL, w.projectID, w.since(),
		segment.FirstActiveDay(w.now, w.location, w.days), w.now)
	if err != nil {
		return nil, fmt.Errorf("measure users: %w", err)
	}
	defer rows.Close()
	var out []Features
	for rows.Next() {
		var f Features
		var nps sql.NullInt64
		if err := rows.Scan(&f.UserID, &f.RecencyDays, &f.Events, &f.MobileEvents, &f.DistinctEvents, &f.ActiveDays, &nps); err != nil {
			return nil, fmt.Errorf("measure users: %w", err)
		}
		f.MobileShare = float64(f.MobileEvents) / float64(f.Events)
		if nps.Valid {
			score := int(nps.Int64)
			f.NPS = &score
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("measure users: %w", err)
	}
	return out, nil
}

// querier is a *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Standardise turns features into points for k-means: one coordinate per
// measure, each scaled to mean 0 and standard deviation 1 over all users so
// that no measure dominates by its unit. Event counts are heavy-tailed and
// enter as log(1 + events). A missing NPS takes the mean of the known
// scores, i.e. 0 after scaling: it pulls towards no cluster. A measure that
// is the same for everyone scales to 0.
func Standardise(users []Features) [][]float64 {
	const dims = 6
	points := make([][]float64, len(users))
	var npsSum float64
	var npsCount int
	for _, u := range users {
		if u.NPS != nil {
			npsSum += float64(*u.NPS)
			npsCount++
		}
	}
	npsMean := 0.0
	if npsCount > 0 {
		npsMean = npsSum / float64(npsCount)
	}
	for i, u := range users {
		nps := npsMean
		if u.NPS != nil {
			nps = float64(*u.NPS)
		}
		points[i] = []float64{u.RecencyDays, math.Log1p(float64(u.Events)), float64(u.ActiveDays),
			float64(u.DistinctEvents), u.MobileShare, nps}
	}
	for d := range dims {
		var sum, sq float64
		for _, p := range points {
			sum += p[d]
		}
		mean := sum / float64(len(points))
		for _, p := range points {
			sq += (p[d] - mean) * (p[d] - mean)
		}
		std := math.Sqrt(sq / float64(len(points)))
		for _, p := range points {
			if std == 0 {
				p[d] = 0
			} else {
				p[d] = (p[d] - mean) / std
			}
		}
	}
	return points
}

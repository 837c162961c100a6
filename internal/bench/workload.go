// Package bench measures Pulse against floors measured in the same run:
// these machines are shared and noisy, so only ratios mean something.
package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Event is one generated usage event, in the shape an SDK sends.
type Event struct {
	UserID     string
	Name       string
	Timestamp  time.Time
	DeviceType string
	UserAgent  string
	MessageID  string
	Properties map[string]any
}

// features are the product areas generated events are named after.
var features = []string{
	"dashboard_viewed", "report_exported", "filter_applied", "chart_created", "comment_added",
	"file_uploaded", "search_performed", "invite_sent", "settings_changed", "integration_connected",
	"notification_opened", "project_created", "task_completed", "share_link_copied", "template_used",
}

type device struct {
	deviceType, userAgent string
	weight                float64
}

var devices = []device{
	{"mobile", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148", 0.45},
	{"", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36", 0.35},
	{"tablet", "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148", 0.10},
	{"", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Safari/605.1.15", 0.10},
}

const (
	// primaryDeviceShare is how many of a user's sessions use their own
	// device; the rest use any device (a laptop at work, a tablet at home).
	primaryDeviceShare = 0.8
	// sessionContinue is the chance a session goes on after each event:
	// 1 + geometric(1-p) events, mean 1/(1-p) = about 7.
	sessionContinue = 6.0 / 7.0
	// meanGap is the mean time between two events of a session.
	meanGap = 40 * time.Second
)

// Workload generates n events for users users over days days ending at end,
// deterministically for seed.
//
// Real products see sessions, not independent events: a user opens the app
// on one device and does several things a few seconds to minutes apart, on
// the days they are active at all. That shape is what ingestion and segment
// rules meet in production (a batch holds runs of the same user and day, so
// rollups touch far fewer rows than events; daily activity is clustered), so
// the stream is generated that way: users are picked with skewed, power-law
// activity (a few heavy users, a long tail), each session is 1 + geometric
// events (mean about 7) spaced by exponential gaps (mean 40s) on the user's
// primary device most of the time, and the whole stream is sorted by
// timestamp, as traffic arrives, before message ids are assigned.
func Workload(n, users, days int, end time.Time, seed uint64) []Event {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	primary := make([]int, users)
	for u := range primary {
		primary[u] = pickDevice(rng.Float64())
	}
	span := time.Duration(days) * 24 * time.Hour
	events := make([]Event, 0, n)
	for len(events) < n {
		// A power law over user ranks: rank r has weight ~ 1/(r+1)^0.55.
		u := int(math.Pow(rng.Float64(), 2.2) * float64(users))
		d := primary[u]
		if rng.Float64() >= primaryDeviceShare {
			d = pickDevice(rng.Float64())
		}
		at := end.Add(-time.Duration(rng.Int64N(int64(span))))
		for len(events) < n && at.Before(end) {
			events = append(events, Event{
				UserID:     fmt.Sprintf("user-%06d", u),
				Name:       features[rng.IntN(len(features))],
				Timestamp:  at.Truncate(time.Millisecond),
				DeviceType: devices[d].deviceType,
				UserAgent:  devices[d].userAgent,
				Properties: properties(rng),
			})
			if rng.Float64() >= sessionContinue {
				break
			}
			at = at.Add(time.Duration(rng.ExpFloat64() * float64(meanGap)))
		}
	}
	// Stable: events of one session sharing a millisecond keep their order.
	slices.SortStableFunc(events, func(a, b Event) int { return a.Timestamp.Compare(b.Timestamp) })
	for i := range events {
		events[i].MessageID = fmt.Sprintf("bench-%d-%08d", seed, i)
	}
	return events
}

func pickDevice(x float64) int {
	for i, d := range devices {
		if x < d.weight {
			return i
		}
		x -= d.weight
	}
	return len(devices) - 1
}

// properties are about 200 bytes of JSON, as a typical track call carries.
func properties(rng *rand.Rand) map[string]any {
	return map[string]any{
		"plan":        []string{"free", "team", "business", "enterprise"}[rng.IntN(4)],
		"workspaceId": fmt.Sprintf("ws_%06d", rng.IntN(20000)),
		"durationMs":  rng.IntN(60000),
		"path":        "/app/" + strings.Repeat("x", 8+rng.IntN(24)),
		"items":       rng.IntN(50),
		"referrer":    []string{"direct", "email", "search", "social"}[rng.IntN(4)],
		"experiment":  fmt.Sprintf("exp-%d-variant-%c", rng.IntN(12), 'a'+rune(rng.IntN(3))),
		"success":     rng.IntN(10) > 0,
	}
}

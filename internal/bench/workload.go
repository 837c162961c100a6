// Package bench measures Pulse against floors measured in the same run:
// these machines are shared and noisy, so only ratios mean something.
package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
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

var devices = []struct {
	deviceType, userAgent string
	weight                float64
}{
	{"mobile", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148", 0.45},
	{"", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36", 0.35},
	{"tablet", "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148", 0.10},
	{"", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Safari/605.1.15", 0.10},
}

// Workload generates n events for users users over days days ending at end,
// deterministically for seed. User activity is skewed like real products: a
// few heavy users, a long tail.
func Workload(n, users, days int, end time.Time, seed uint64) []Event {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	events := make([]Event, n)
	span := time.Duration(days) * 24 * time.Hour
	for i := range events {
		// A power law over user ranks: rank r has weight ~ 1/(r+1)^0.8.
		u := int(math.Pow(rng.Float64(), 2.2) * float64(users))
		d := pickDevice(rng.Float64())
		events[i] = Event{
			UserID:     fmt.Sprintf("user-%06d", u),
			Name:       features[rng.IntN(len(features))],
			Timestamp:  end.Add(-time.Duration(rng.Int64N(int64(span)))).Truncate(time.Millisecond),
			DeviceType: d.deviceType,
			UserAgent:  d.userAgent,
			MessageID:  fmt.Sprintf("bench-%d-%08d", seed, i),
			Properties: properties(rng),
		}
	}
	return events
}

func pickDevice(x float64) (d struct {
	deviceType, userAgent string
	weight                float64
}) {
	for _, d = range devices {
		if x < d.weight {
			return d
		}
		x -= d.weight
	}
	return d
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

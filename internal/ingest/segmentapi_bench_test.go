package ingest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// benchmarkBody is a /v1/batch body of 500 track calls like analytics-node
// sends, about 450 bytes each.
func benchmarkBody() []byte {
	msgs := make([]map[string]any, 500)
	for i := range msgs {
		msgs[i] = map[string]any{"type": "track", "userId": fmt.Sprintf("user-%06d", i*7), "event": "dashboard_viewed",
			"properties": map[string]any{"plan": "team", "workspaceId": "ws_001234", "durationMs": 12345, "path": "/app/" + strings.Repeat("x", 20),
				"items": 12, "referrer": "email", "experiment": "exp-3-variant-b", "success": true},
			"timestamp": time.Date(2025, 3, 1, 12, 0, i, 123e6, time.UTC), "messageId": fmt.Sprintf("bench-1-%08d", i),
			"context": map[string]any{"userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
				"library": map[string]any{"name": "analytics-node", "version": "2.1.0"}, "device": map[string]any{"type": "mobile"}}}
	}
	body, _ := json.Marshal(map[string]any{"batch": msgs, "sentAt": time.Date(2025, 3, 1, 12, 10, 0, 0, time.UTC)})
	return body
}

// BenchmarkParseSegmentBatch measures the Segment batch parser, the Go
// side's largest cost per event.
func BenchmarkParseSegmentBatch(b *testing.B) {
	body := benchmarkBody()
	r := httptest.NewRequest(http.MethodPost, "/v1/batch", nil)
	r.SetBasicAuth("key", "")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		parsed, _, apiErr := parseSegmentBatch(r, body, "")
		if apiErr != nil || len(parsed.msgs) != 500 {
			b.Fatal(apiErr, len(parsed.rejected))
		}
	}
}

// BenchmarkTextAndNumberChecks measures what checking a batch's texts
// and numbers adds to parsing it: textFault over each message and the
// Writer's checks of each parsed message.
func BenchmarkTextAndNumberChecks(b *testing.B) {
	body := benchmarkBody()
	r := httptest.NewRequest("POST", "/v1/batch", nil)
	r.SetBasicAuth("key", "")
	parsed, _, apiErr := parseSegmentBatch(r, body, "")
	if apiErr != nil {
		b.Fatal(apiErr)
	}
	env, _ := parseSegmentEnvelope(body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		for _, item := range env.items {
			if offset, _ := textFault(item.raw); offset >= 0 {
				b.Fatal("fault")
			}
		}
		for _, m := range parsed.msgs {
			if _, reason := unstorable(m); reason != "" {
				b.Fatal(reason)
			}
		}
	}
}

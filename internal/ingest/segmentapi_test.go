package ingest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/ingest"
)

// TestSegmentCalls posts the examples of Segment's HTTP API documentation
// to the long and the short (analytics.js) paths of each call.
func TestSegmentCalls(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		ts, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return ts
	}
	tests := []struct {
		name  string
		paths []string
		body  string
		want  ingest.Message
	}{
		{
			name:  "identify",
			paths: []string{"/v1/identify", "/v1/i"},
			body: `{
			  "userId": "019mr8mf4r",
			  "traits": {"email": "pgibbons@example.com", "name": "Peter Gibbons", "industry": "Technology"},
			  "context": {"ip": "24.5.68.47"},
			  "timestamp": "2012-12-02T00:30:08.276Z"
			}`,
			want: ingest.Message{Type: ingest.TypeIdentify, UserID: "019mr8mf4r",
				Traits:    map[string]any{"email": "pgibbons@example.com", "name": "Peter Gibbons", "industry": "Technology"},
				Timestamp: at("2012-12-02T00:30:08.276Z")},
		},
		{
			name:  "track",
			paths: []string{"/v1/track", "/v1/t"},
			body: `{
			  "userId": "019mr8mf4r",
			  "event": "Item Purchased",
			  "properties": {"name": "Leap to Conclusions Mat", "revenue": 14.99},
			  "context": {"ip": "24.5.68.47"},
			  "timestamp": "2012-12-02T00:30:12.984Z"
			}`,
			want: ingest.Message{Type: ingest.TypeTrack, UserID: "019mr8mf4r", Event: "Item Purchased",
				Properties: map[string]any{"name": "Leap to Conclusions Mat", "revenue": 14.99},
				Timestamp:  at("2012-12-02T00:30:12.984Z")},
		},
		{
			name:  "page",
			paths: []string{"/v1/page", "/v1/p"},
			body:  `{"userId": "019mr8mf4r", "name": "Tracking HTTP API", "timestamp": "2012-12-02T00:31:29.738Z"}`,
			want: ingest.Message{Type: ingest.TypePage, UserID: "019mr8mf4r", Name: "Tracking HTTP API",
				Timestamp: at("2012-12-02T00:31:29.738Z")},
		},
		{
			name:  "screen",
			paths: []string{"/v1/screen", "/v1/s"},
			body:  `{"userId": "019mr8mf4r", "name": "Tracking HTTP API", "timestamp": "2012-12-02T00:31:29.738Z"}`,
			want: ingest.Message{Type: ingest.TypeScreen, UserID: "019mr8mf4r", Name: "Tracking HTTP API",
				Timestamp: at("2012-12-02T00:31:29.738Z")},
		},
		{
			name:  "group",
			paths: []string{"/v1/group", "/v1/g"},
			body: `{
			  "userId": "019mr8mf4r",
			  "groupId": "8e9df332ac",
			  "traits": {"name": "Initech", "industry": "Technology", "employees": 420},
			  "timestamp": "2012-12-02T00:31:38.208Z"
			}`,
			want: ingest.Message{Type: ingest.TypeGroup, UserID: "019mr8mf4r", GroupID: "8e9df332ac",
				Traits:    map[string]any{"name": "Initech", "industry": "Technology", "employees": 420},
				Timestamp: at("2012-12-02T00:31:38.208Z")},
		},
		{
			name:  "alias",
			paths: []string{"/v1/alias", "/v1/a"},
			body:  `{"previousId": "39239-239239-239239-23923", "userId": "019mr8mf4r", "timestamp": "2012-12-02T00:31:29.738Z"}`,
			want: ingest.Message{Type: ingest.TypeAlias, UserID: "019mr8mf4r", PreviousID: "39239-239239-239239-23923",
				Timestamp: at("2012-12-02T00:31:29.738Z")},
		},
		{
			name:  "analytics.js track",
			paths: []string{"/v1/t", "/v1/track/"},
			body: `{
			  "timestamp": "2024-05-01T09:15:00.123Z",
			  "integrations": {},
			  "type": "track",
			  "event": "Signed Up",
			  "properties": {"plan": "pro"},
			  "context": {
			    "page": {"path": "/signup"},
			    "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
			    "library": {"name": "analytics.js", "version": "next-1.64.0"}
			  },
			  "messageId": "ajs-next-1714554900123-0f6c",
			  "anonymousId": "7c4f0a3e-4b1d-4e7e-9b55-0b3f5b0c2d11",
			  "userId": null,
			  "sentAt": "2024-05-01T09:15:00.200Z",
			  "_metadata": {"bundled": ["Segment.io"]}
			}`,
			want: ingest.Message{Type: ingest.TypeTrack, AnonymousID: "7c4f0a3e-4b1d-4e7e-9b55-0b3f5b0c2d11",
				Event: "Signed Up", Properties: map[string]any{"plan": "pro"}, MessageID: "ajs-next-1714554900123-0f6c",
				Context:   ingest.Context{UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"},
				Timestamp: at("2024-05-01T09:15:00.123Z"), SentAt: at("2024-05-01T09:15:00.200Z")},
		},
		{
			name:  "mobile context and a numeric userId",
			paths: []string{"/v1/screen"},
			body: `{"userId": 42, "name": "Checkout", "messageId": "m-1",
			  "context": {"device": {"type": "ios", "model": "iPhone15,2"}, "os": {"name": "iOS", "version": "17.4"}}}`,
			want: ingest.Message{Type: ingest.TypeScreen, UserID: "42", Name: "Checkout", MessageID: "m-1",
				Context: ingest.Context{DeviceType: "ios", OSName: "iOS"}},
		},
	}
	for _, tt := range tests {
		for _, path := range tt.paths {
			t.Run(tt.name+" "+path, func(t *testing.T) {
				t.Parallel()
				b := setupHTTP(t)
				r := b.do(t, call{path: path, body: tt.body, basicKey: b.project.Ingest.Secret})
				require.Equal(t, http.StatusOK, r.Status, r.Raw)
				require.JSONEq(t, `{"success": true, "accepted": 1, "duplicates": 0, "suppressed": 0}`, r.Raw)
				require.Equal(t, []ingest.Message{tt.want}, b.sink.messages())
			})
		}
	}
}

// TestSegmentBatch posts the batch example of Segment's documentation, plus
// messages that bring their own context and sentAt: the batch's context
// and sentAt apply, field by field, to each message lacking its own.
func TestSegmentBatch(t *testing.T) {
	t.Parallel()
	b := setupHTTP(t)
	body := `{
	  "batch": [
	    {"type": "identify", "userId": "019mr8mf4r", "traits": {"email": "jake@yahoo.com", "name": "Jake Peterson", "age": 26}, "timestamp": "2012-12-02T00:30:08.276Z"},
	    {"type": "track", "userId": "019mr8mf4r", "event": "Song Played", "properties": {"name": "Fallin for You", "artist": "Dierks Bentley"}, "timestamp": "2012-12-02T00:30:12.984Z"},
	    {"type": "identify", "userId": "971mj8mk7p", "traits": {"email": "cindy@example.com", "name": "Cindy Gonzalez", "age": 23}, "timestamp": "2015-2-02T00:30:08.276Z"},
	    {"type": "track", "userId": "971mj8mk7p", "event": "Song Played", "properties": {"name": "Get Right", "artist": "Jennifer Lopez"}, "timestamp": "2015-2-02T00:30:12.984Z"},
	    {"type": "Track", "anonymousId": "tab-1", "event": "Opened", "context": {"device": {"type": "tablet"}}, "sentAt": "2024-01-01T00:00:05Z", "timestamp": "2024-01-01T00:00:00Z"}
	  ],
	  "writeKey": "KEY",
	  "sentAt": "2015-2-02T00:31:00Z",
	  "context": {"device": {"type": "phone", "name": "Apple iPhone 6"}, "os": {"name": "iOS"}, "userAgent": "Segment/iOS"}
	}`
	r := b.do(t, call{path: "/v1/batch", body: withKey(body, b.project.Ingest.Secret), gzip: true})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	require.JSONEq(t, `{"success": true, "accepted": 5, "duplicates": 0, "suppressed": 0}`, r.Raw)

	phone := ingest.Context{DeviceType: "phone", OSName: "iOS", UserAgent: "Segment/iOS"}
	sentAt := time.Date(2015, 2, 2, 0, 31, 0, 0, time.UTC)
	ms := func(y int, mo time.Month, d, h, mi, s, milli int) time.Time {
		return time.Date(y, mo, d, h, mi, s, milli*int(time.Millisecond), time.UTC)
	}
	require.Equal(t, []ingest.Message{
		{Type: ingest.TypeIdentify, UserID: "019mr8mf4r", Traits: map[string]any{"email": "jake@yahoo.com", "name": "Jake Peterson", "age": 26},
			Context: phone, Timestamp: ms(2012, 12, 2, 0, 30, 8, 276), SentAt: sentAt},
		{Type: ingest.TypeTrack, UserID: "019mr8mf4r", Event: "Song Played", Properties: map[string]any{"name": "Fallin for You", "artist": "Dierks Bentley"},
			Context: phone, Timestamp: ms(2012, 12, 2, 0, 30, 12, 984), SentAt: sentAt},
		{Type: ingest.TypeIdentify, UserID: "971mj8mk7p", Traits: map[string]any{"email": "cindy@example.com", "name": "Cindy Gonzalez", "age": 23},
			Context: phone, Timestamp: ms(2015, 2, 2, 0, 30, 8, 276), SentAt: sentAt},
		{Type: ingest.TypeTrack, UserID: "971mj8mk7p", Event: "Song Played", Properties: map[string]any{"name": "Get Right", "artist": "Jennifer Lopez"},
			Context: phone, Timestamp: ms(2015, 2, 2, 0, 30, 12, 984), SentAt: sentAt},
		{Type: ingest.TypeTrack, AnonymousID: "tab-1", Event: "Opened",
			Context:   ingest.Context{DeviceType: "tablet", OSName: "iOS", UserAgent: "Segment/iOS"},
			Timestamp: ms(2024, 1, 1, 0, 0, 0, 0), SentAt: ms(2024, 1, 1, 0, 0, 5, 0)},
	}, b.sink.messages())
}

// TestSegmentAnalyticsJSBatch is what analytics.js's batching strategy
// sends: text/plain to /v1/b, the key in the body and in every message.
func TestSegmentAnalyticsJSBatch(t *testing.T) {
	t.Parallel()
	b := setupHTTP(t)
	body := `{"writeKey": "KEY", "sentAt": "2024-05-01T09:15:05.000Z", "batch": [
	  {"type": "page", "anonymousId": "anon-1", "properties": {"path": "/", "url": "https://shop.example.com/"}, "writeKey": "KEY",
	   "messageId": "ajs-1", "timestamp": "2024-05-01T09:15:00.000Z", "context": {"userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4)"}},
	  {"type": "identify", "anonymousId": "anon-1", "userId": "ann", "traits": {"plan": "pro"}, "writeKey": "KEY",
	   "messageId": "ajs-2", "timestamp": "2024-05-01T09:15:01.000Z"}
	]}`
	r := b.do(t, call{path: "/v1/b", body: withKey(body, b.project.Ingest.Secret), header: map[string]string{"Content-Type": "text/plain"}})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	require.Equal(t, 2, r.Accepted)
	stored := b.sink.messages()
	require.Len(t, stored, 2)
	require.Equal(t, ingest.TypePage, stored[0].Type)
	require.Equal(t, "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4)", stored[0].Context.UserAgent)
	require.Equal(t, time.Date(2024, 5, 1, 9, 15, 5, 0, time.UTC), stored[0].SentAt)
	require.Equal(t, ingest.Message{Type: ingest.TypeIdentify, AnonymousID: "anon-1", UserID: "ann", Traits: map[string]any{"plan": "pro"},
		MessageID: "ajs-2", Timestamp: time.Date(2024, 5, 1, 9, 15, 1, 0, time.UTC), SentAt: time.Date(2024, 5, 1, 9, 15, 5, 0, time.UTC)}, stored[1])
}

func TestSegmentTimestamps(t *testing.T) {
	t.Parallel()
	b := setupHTTP(t)
	tests := []struct {
		in   string // JSON value
		want time.Time
		bad  bool
	}{
		{in: `"2012-12-02T00:30:08.276Z"`, want: time.Date(2012, 12, 2, 0, 30, 8, 276e6, time.UTC)},
		{in: `"2012-12-02T00:30:08Z"`, want: time.Date(2012, 12, 2, 0, 30, 8, 0, time.UTC)},
		{in: `"2024-03-05T10:00:00+01:00"`, want: time.Date(2024, 3, 5, 9, 0, 0, 0, time.UTC)},
		{in: `"2024-03-05T10:00:00.123456789-07:00"`, want: time.Date(2024, 3, 5, 17, 0, 0, 123456789, time.UTC)},
		{in: `"2024-03-05T10:00:00.123+0530"`, want: time.Date(2024, 3, 5, 4, 30, 0, 123e6, time.UTC)},
		{in: `"2024-03-05T10:00:00"`, want: time.Date(2024, 3, 5, 10, 0, 0, 0, time.UTC)},
		{in: `"2024-03-05 10:00:00.5Z"`, want: time.Date(2024, 3, 5, 10, 0, 0, 5e8, time.UTC)},
		{in: `"2015-2-02T00:30:08.276Z"`, want: time.Date(2015, 2, 2, 0, 30, 8, 276e6, time.UTC)},
		{in: `"2024-03-05"`, want: time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)},
		{in: `null`},
		{in: `""`},
		{in: `"yesterday"`, bad: true},
		{in: `"2024-13-05T10:00:00Z"`, bad: true},
		{in: `"05/03/2024 10:00"`, bad: true},
		{in: `1709632800`, bad: true},
	}
	msgs := make([]string, len(tests))
	for i, tt := range tests {
		msgs[i] = fmt.Sprintf(`{"type":"track","userId":"ann","event":"e","messageId":"ts-%d","timestamp":%s}`, i, tt.in)
	}
	r := b.do(t, call{path: "/v1/batch", body: `{"batch":[` + strings.Join(msgs, ",") + `]}`, basicKey: b.project.Ingest.Secret})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)

	rejected := map[int]ingest.Rejection{}
	for _, rej := range r.Rejected {
		rejected[rej.Index] = rej
	}
	stored := map[string]ingest.Message{}
	for _, m := range b.sink.messages() {
		stored[m.MessageID] = m
	}
	for i, tt := range tests {
		if tt.bad {
			require.Equal(t, "timestamp", rejected[i].Field, tt.in)
			require.Equal(t, fmt.Sprintf("ts-%d", i), rejected[i].MessageID)
			require.Contains(t, rejected[i].Reason, "ISO 8601", tt.in)
			continue
		}
		m, ok := stored[fmt.Sprintf("ts-%d", i)]
		require.True(t, ok, tt.in)
		require.True(t, tt.want.Equal(m.Timestamp), "%s: got %s, want %s", tt.in, m.Timestamp, tt.want)
	}
	require.Len(t, r.Rejected, 4)
}

// TestSegmentNumbers: properties keep integers exact all the way to JSON.
func TestSegmentNumbers(t *testing.T) {
	t.Parallel()
	b := setupHTTP(t)
	body := `{"userId":"ann","event":"Order Completed","properties":{
	  "orderId": 9007199254740993, "total": 14.99, "items": -3, "ratio": 1e3, "huge": 123456789012345678901234567890,
	  "nested": {"ids": [1, 2.5, 9007199254740995]}, "free": false, "note": null}}`
	r := b.do(t, call{path: "/v1/track", body: body, basicKey: b.project.Ingest.Secret})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	stored := b.sink.messages()
	require.Len(t, stored, 1)
	require.Equal(t, map[string]any{
		"orderId": 9007199254740993, "total": 14.99, "items": -3, "ratio": 1000.0,
		"huge":   json.Number("123456789012345678901234567890"),
		"nested": map[string]any{"ids": []any{1, 2.5, 9007199254740995}}, "free": false, "note": nil,
	}, stored[0].Properties)
	encoded, err := json.Marshal(stored[0].Properties)
	require.NoError(t, err)
	require.JSONEq(t, `{"orderId": 9007199254740993, "total": 14.99, "items": -3, "ratio": 1000,
	  "huge": 123456789012345678901234567890, "nested": {"ids": [1, 2.5, 9007199254740995]}, "free": false, "note": null}`, string(encoded))
	require.Contains(t, string(encoded), `"orderId":9007199254740993`, "no float64 rounding")
}

// TestSegmentPartialBatch: invalid messages are rejected one by one, with
// their index in the request, whether the handler or the Writer refuses
// them; the valid ones are stored.
func TestSegmentPartialBatch(t *testing.T) {
	t.Parallel()
	b := setupHTTP(t)
	body := `{"writeKey":"KEY","batch":[
	  {"type":"track","userId":"ann","event":"ok","messageId":"m0"},
	  {"type":"track","userId":"ann","event":"e","messageId":"m1","timestamp":"last tuesday"},
	  "not an object",
	  {"type":"track","userId":{"id":1},"event":"e","messageId":"m3"},
	  {"type":"track","userId":"ann","event":"` + sinkRejects + `","messageId":"m4"},
	  {"type":"identify","userId":"ann","traits":{"plan":"pro"},"messageId":"m5"},
	  {"type":"track","userId":"ann","event":"e","messageId":"m6","writeKey":"another-projects-key"},
	  {"userId":"ann","event":"e","messageId":"m7"},
	  {"type":"track","userId":"ann","event":"e","messageId":"m8","properties":["a"]},
	  {"type":"track","userId":"ann","event":"e","messageId":"m9","sentAt":12}
	]}`
	r := b.do(t, call{path: "/v1/batch", body: withKey(body, b.project.Ingest.Secret)})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	require.True(t, r.Success)
	require.Equal(t, 2, r.Accepted)
	require.Equal(t, []ingest.Rejection{
		{Index: 1, MessageID: "m1", Field: "timestamp", Reason: `"last tuesday" is not an ISO 8601 timestamp such as "2024-03-01T12:00:00.000Z"`},
		{Index: 2, Field: "message", Reason: "must be a JSON object"},
		{Index: 3, MessageID: "m3", Field: "userId", Reason: "must be a string"},
		{Index: 4, MessageID: "m4", Field: "event", Reason: "refused by the test sink"},
		{Index: 6, MessageID: "m6", Field: "writeKey", Reason: "differs from the key of the request; send one project's messages per request"},
		{Index: 7, MessageID: "m7", Field: "type", Reason: "is required: one of track, page, screen, identify, group or alias"},
		{Index: 8, MessageID: "m8", Field: "properties", Reason: "must be a JSON object"},
		{Index: 9, MessageID: "m9", Field: "sentAt", Reason: `must be an ISO 8601 string such as "2024-03-01T12:00:00.000Z"`},
	}, r.Rejected)
	stored := b.sink.messages()
	require.Len(t, stored, 2)
	require.Equal(t, "m0", stored[0].MessageID)
	require.Equal(t, "m5", stored[1].MessageID)
}

// TestSegmentOversizedMessageInBatch: a message over 32 KB is rejected alone;
// the rest of its batch is stored.
func TestSegmentOversizedMessageInBatch(t *testing.T) {
	t.Parallel()
	b := setupHTTP(t)
	pad := strings.Repeat("x", ingest.MaxMessageBytes)
	big := `{"type":"track","userId":"ann","event":"big","messageId":"m1","properties":{"pad":"` + pad + `"}}`
	body := `{"batch":[
		{"type":"track","userId":"ann","event":"small","messageId":"m0"},
		` + big + `,
		{"type":"track","userId":"ann","event":"small","messageId":"m2"}]}`
	r := b.do(t, call{path: "/v1/batch", body: body, basicKey: b.project.Ingest.Secret, gzip: true})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	require.Equal(t, 2, r.Accepted)
	require.Len(t, r.Rejected, 1)
	require.Equal(t, 1, r.Rejected[0].Index)
	require.Equal(t, "m1", r.Rejected[0].MessageID)
	require.Equal(t, "message", r.Rejected[0].Field)
	require.Equal(t, fmt.Sprintf("is %d bytes; the limit is 32768", len(big)), r.Rejected[0].Reason)
	stored := b.sink.messages()
	require.Len(t, stored, 2)
	require.Equal(t, []string{"m0", "m2"}, []string{stored[0].MessageID, stored[1].MessageID})

}

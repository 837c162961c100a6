package ingest_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/ingest"
)

const macUA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"

// TestPostHogCapture posts what PostHog's SDKs send, in each of their
// encodings, and checks the messages they become.
func TestPostHogCapture(t *testing.T) {
	t.Parallel()
	ts := func(s string) time.Time {
		parsed, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return parsed
	}
	jsSentAt := time.UnixMilli(1714557605000).UTC()
	tests := []struct {
		name   string
		path   string
		body   string
		header map[string]string
		encode func(t *testing.T, body string) string // how the SDK encodes the body
		gzip   bool                                   // Content-Encoding: gzip
		want   []ingest.Message
	}{
		{
			name: "posthog-python batch",
			path: "/batch/",
			gzip: true,
			body: `{"api_key": "KEY", "sent_at": "2024-05-01T10:00:05.000000+00:00", "batch": [
			  {"event": "movie played", "distinct_id": "user-1", "type": "capture", "library": "posthog-python",
			   "properties": {"movie": "Dune", "minutes": 155, "$lib": "posthog-python"},
			   "timestamp": "2024-05-01T10:00:00.000000+00:00", "uuid": "0190a1b2-0000-7000-8000-000000000001"},
			  {"event": "$identify", "distinct_id": "user-1", "$set": {"email": "ann@example.com", "plan": "pro"},
			   "properties": {"$set_once": {"first_plan": "free", "plan": "trial"}},
			   "timestamp": "2024-05-01T10:00:01+00:00", "uuid": "0190a1b2-0000-7000-8000-000000000002"}
			]}`,
			want: []ingest.Message{
				{Type: ingest.TypeTrack, UserID: "user-1", Event: "movie played", MessageID: "0190a1b2-0000-7000-8000-000000000001",
					Properties: map[string]any{"movie": "Dune", "minutes": 155, "$lib": "posthog-python"},
					Timestamp:  ts("2024-05-01T10:00:00Z"), SentAt: ts("2024-05-01T10:00:05Z")},
				{Type: ingest.TypeIdentify, UserID: "user-1", MessageID: "0190a1b2-0000-7000-8000-000000000002",
					Traits:    map[string]any{"email": "ann@example.com", "plan": "pro", "first_plan": "free"},
					Timestamp: ts("2024-05-01T10:00:01Z"), SentAt: ts("2024-05-01T10:00:05Z")},
			},
		},
		{
			name: "single capture, distinct_id in properties",
			path: "/capture",
			body: `{"api_key": "KEY", "event": "signed up", "properties": {"distinct_id": "user-2", "plan": "pro"},
			  "timestamp": "2024-05-01T10:00:00Z", "uuid": "u-2"}`,
			want: []ingest.Message{{Type: ingest.TypeTrack, UserID: "user-2", Event: "signed up", MessageID: "u-2",
				Properties: map[string]any{"plan": "pro"}, Timestamp: ts("2024-05-01T10:00:00Z")}},
		},
		{
			name:   "posthog-js gzip-js batch",
			path:   "/e/?ip=1&_=1714557605000&ver=1.130.0&compression=gzip-js",
			header: map[string]string{"Content-Type": "text/plain"},
			encode: func(t *testing.T, body string) string { return string(gzipped(t, []byte(body))) },
			body: `[
			  {"uuid": "js-1", "event": "$pageview", "timestamp": "2024-05-01T10:00:00.100Z", "properties": {
			    "token": "KEY", "distinct_id": "dev-1", "$device_id": "dev-1", "$is_identified": false,
			    "$current_url": "https://shop.example.com/pricing?ref=ad", "$pathname": "/pricing",
			    "$os": "Mac OS X", "$device_type": "Desktop", "$raw_user_agent": "` + macUA + `"}},
			  {"uuid": "js-2", "event": "$identify", "timestamp": "2024-05-01T10:00:01.000Z",
			   "$set": {"email": "ann@example.com"}, "$set_once": {"signup_source": "ad"}, "properties": {
			    "token": "KEY", "distinct_id": "ann", "$anon_distinct_id": "dev-1", "$device_id": "dev-1", "$is_identified": true}},
			  {"uuid": "js-3", "event": "plan upgraded", "timestamp": "2024-05-01T10:00:02.000Z", "properties": {
			    "token": "KEY", "distinct_id": "ann", "$device_id": "dev-1", "$is_identified": true, "plan": "team",
			    "$set": {"plan": "team"}}}
			]`,
			want: []ingest.Message{
				{Type: ingest.TypePage, AnonymousID: "dev-1", Name: "https://shop.example.com/pricing?ref=ad", MessageID: "js-1",
					Properties: map[string]any{"$device_id": "dev-1", "$is_identified": false, "$current_url": "https://shop.example.com/pricing?ref=ad",
						"$pathname": "/pricing", "$os": "Mac OS X", "$device_type": "Desktop", "$raw_user_agent": macUA},
					Context:   ingest.Context{DeviceType: "Desktop", OSName: "Mac OS X", UserAgent: macUA},
					Timestamp: ts("2024-05-01T10:00:00.100Z"), SentAt: jsSentAt},
				{Type: ingest.TypeIdentify, UserID: "ann", AnonymousID: "dev-1", MessageID: "js-2",
					Traits:    map[string]any{"email": "ann@example.com", "signup_source": "ad"},
					Timestamp: ts("2024-05-01T10:00:01Z"), SentAt: jsSentAt},
				{Type: ingest.TypeTrack, UserID: "ann", AnonymousID: "dev-1", Event: "plan upgraded", MessageID: "js-3",
					Properties: map[string]any{"$device_id": "dev-1", "$is_identified": true, "plan": "team"},
					Timestamp:  ts("2024-05-01T10:00:02Z"), SentAt: jsSentAt},
				{Type: ingest.TypeIdentify, UserID: "ann", AnonymousID: "dev-1", MessageID: "js-3:$set",
					Traits:    map[string]any{"plan": "team"},
					Timestamp: ts("2024-05-01T10:00:02Z"), SentAt: jsSentAt},
			},
		},
		{
			name: "mobile screen and alias, gzip by header",
			path: "/i/v0/e",
			gzip: true,
			body: `{"api_key": "KEY", "batch": [
			  {"event": "$screen", "distinct_id": "ann", "uuid": "m-1", "timestamp": "2024-05-01T10:00:00Z",
			   "properties": {"$screen_name": "Checkout", "$os": "iOS", "$device_type": "Mobile"}},
			  {"event": "$create_alias", "distinct_id": "ann", "uuid": "m-2", "timestamp": "2024-05-01T10:00:01Z",
			   "properties": {"alias": "ann-legacy-id"}}
			]}`,
			want: []ingest.Message{
				{Type: ingest.TypeScreen, UserID: "ann", Name: "Checkout", MessageID: "m-1",
					Properties: map[string]any{"$screen_name": "Checkout", "$os": "iOS", "$device_type": "Mobile"},
					Context:    ingest.Context{DeviceType: "Mobile", OSName: "iOS"}, Timestamp: ts("2024-05-01T10:00:00Z")},
				{Type: ingest.TypeAlias, UserID: "ann", PreviousID: "ann-legacy-id", MessageID: "m-2", Timestamp: ts("2024-05-01T10:00:01Z")},
			},
		},
		{
			name: "setPersonProperties is a profile update, not usage",
			path: "/batch/",
			body: `{"api_key": "KEY", "batch": [
			  {"event": "$set", "distinct_id": "ann", "uuid": "s-1", "timestamp": "2024-05-01T10:00:00Z",
			   "properties": {"$set": {"seats": 5}, "$set_once": {"first_seats": 1}, "$lib": "posthog-node"}},
			  {"event": "$set", "distinct_id": "dev-1", "uuid": "s-2", "timestamp": "2024-05-01T10:00:01Z",
			   "properties": {"$device_id": "dev-1", "$is_identified": false, "$set": {"theme": "dark"}}}
			]}`,
			want: []ingest.Message{
				{Type: ingest.TypeIdentify, UserID: "ann", MessageID: "s-1",
					Traits: map[string]any{"seats": 5, "first_seats": 1}, Timestamp: ts("2024-05-01T10:00:00Z")},
				{Type: ingest.TypeIdentify, AnonymousID: "dev-1", MessageID: "s-2",
					Traits: map[string]any{"theme": "dark"}, Timestamp: ts("2024-05-01T10:00:01Z")},
			},
		},
		{
			name: "posthog-js group() of the person",
			path: "/e/",
			body: `{"event": "$groupidentify", "distinct_id": "ann", "uuid": "g-1", "timestamp": "2024-05-01T10:00:00Z", "token": "KEY",
			  "properties": {"$group_type": "company", "$group_key": "acme", "$group_set": {"name": "Acme"}, "$device_id": "dev-1"}}`,
			want: []ingest.Message{
				{Type: ingest.TypeGroup, UserID: "ann", AnonymousID: "dev-1", GroupID: "acme", MessageID: "g-1", Timestamp: ts("2024-05-01T10:00:00Z")},
			},
		},
		{
			name:   "sendBeacon base64 form",
			path:   "/e/?compression=base64&beacon=1&_=1714557605000",
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			encode: func(_ *testing.T, body string) string {
				return "data=" + url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(body)))
			},
			body: `[{"uuid": "b-1", "event": "$pageleave", "timestamp": "2024-05-01T10:05:00Z",
			  "properties": {"token": "KEY", "distinct_id": "ann", "$pathname": "/pricing"}}]`,
			want: []ingest.Message{{Type: ingest.TypeTrack, UserID: "ann", Event: "$pageleave", MessageID: "b-1",
				Properties: map[string]any{"$pathname": "/pricing"}, Timestamp: ts("2024-05-01T10:05:00Z"), SentAt: jsSentAt}},
		},
		{
			name:   "JSON that curl -d labels as a form",
			path:   "/capture/",
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			body:   `{"api_key": "KEY", "event": "exported", "distinct_id": "ann", "uuid": "c-1", "timestamp": "2024-05-01T10:00:00Z"}`,
			want: []ingest.Message{{Type: ingest.TypeTrack, UserID: "ann", Event: "exported", MessageID: "c-1",
				Properties: map[string]any{}, Timestamp: ts("2024-05-01T10:00:00Z")}},
		},
		{
			name: "pageview named by its path",
			path: "/batch",
			body: `{"api_key": "KEY", "batch": [{"event": "$pageview", "distinct_id": "ann", "uuid": "p-1",
			  "timestamp": "2024-05-01T10:00:00Z", "properties": {"$pathname": "/docs"}}]}`,
			want: []ingest.Message{{Type: ingest.TypePage, UserID: "ann", Name: "/docs", MessageID: "p-1",
				Properties: map[string]any{"$pathname": "/docs"}, Timestamp: ts("2024-05-01T10:00:00Z")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupHTTP(t)
			body := withKey(tt.body, b.project.Ingest.Secret)
			if tt.encode != nil {
				body = tt.encode(t, body)
			}
			r := b.do(t, call{path: tt.path, body: body, header: tt.header, gzip: tt.gzip})
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			require.Equal(t, 1, r.PostHog, r.Raw)
			require.JSONEq(t, fmt.Sprintf(`{"status": 1, "accepted": %d, "duplicates": 0, "suppressed": 0}`, len(tt.want)), r.Raw)
			require.Equal(t, tt.want, b.sink.messages())
		})
	}
}

// TestPostHogAnonymous documents which distinct_id is a known user.
func TestPostHogAnonymous(t *testing.T) {
	t.Parallel()
	b := setupHTTP(t)
	tests := []struct {
		name          string
		distinctID    string // JSON value
		properties    string
		wantUser      string
		wantAnonymous string
	}{
		{"server SDK: a known user", `"ann"`, `{}`, "ann", ""},
		{"posthog-js before identify", `"dev-1"`, `{"$device_id": "dev-1"}`, "", "dev-1"},
		{"posthog-js says anonymous", `"dev-2"`, `{"$device_id": "dev-1", "$is_identified": false}`, "", "dev-2"},
		{"posthog-js after identify", `"ann"`, `{"$device_id": "dev-1", "$is_identified": true}`, "ann", "dev-1"},
		{"identified flag wins over the device id", `"dev-1"`, `{"$device_id": "dev-1", "$is_identified": true}`, "dev-1", ""},
		{"older posthog-js after identify", `"ann"`, `{"$device_id": "dev-1"}`, "ann", "dev-1"},
		{"numeric distinct_id", `42`, `{}`, "42", ""},
	}
	events := make([]string, len(tests))
	for i, tt := range tests {
		events[i] = fmt.Sprintf(`{"event": "e", "uuid": "a-%d", "distinct_id": %s, "properties": %s}`, i, tt.distinctID, tt.properties)
	}
	body := withKey(`{"api_key": "KEY", "batch": [`+strings.Join(events, ",")+`]}`, b.project.Ingest.Secret)
	r := b.do(t, call{path: "/batch/", body: body})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	stored := b.sink.messages()
	require.Len(t, stored, len(tests))
	sort.Slice(stored, func(i, j int) bool { return stored[i].MessageID < stored[j].MessageID })
	for i, tt := range tests {
		require.Equal(t, fmt.Sprintf("a-%d", i), stored[i].MessageID)
		require.Equal(t, tt.wantUser, stored[i].UserID, tt.name)
		require.Equal(t, tt.wantAnonymous, stored[i].AnonymousID, tt.name)
	}
}

// TestPostHogRejections: bad events are rejected one by one with PostHog's
// field names and their index in the request; the rest are stored.
func TestPostHogRejections(t *testing.T) {
	t.Parallel()
	b := setupHTTP(t)
	body := `{"api_key": "KEY", "batch": [
	  {"event": "ok", "distinct_id": "ann", "uuid": "r-0"},
	  {"event": "e", "uuid": "r-1", "properties": {}},
	  {"distinct_id": "ann", "uuid": "r-2"},
	  {"event": "e", "distinct_id": "ann", "uuid": "r-3", "timestamp": "soon"},
	  {"event": "e", "distinct_id": "ann", "uuid": "r-4", "properties": {"token": "another-projects-key"}},
	  {"event": "` + sinkRejects + `", "distinct_id": "ann", "uuid": "r-5", "$set": {"plan": "pro"}},
	  {"event": "$create_alias", "distinct_id": "ann", "uuid": "r-6", "properties": {}},
	  [1],
	  {"event": "ok", "distinct_id": "bob", "uuid": "r-8"},
	  {"event": "$groupidentify", "distinct_id": "$company_acme", "uuid": "r-9",
	   "properties": {"$group_type": "company", "$group_key": "acme", "$group_set": {"name": "Acme"}}},
	  {"event": "$groupidentify", "distinct_id": "ann", "uuid": "r-10", "properties": {"$group_type": "company"}}
	]}`
	r := b.do(t, call{path: "/batch/", body: withKey(body, b.project.Ingest.Secret)})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	require.Equal(t, 1, r.PostHog)
	require.Equal(t, []ingest.Rejection{
		{Index: 1, MessageID: "r-1", Field: "distinct_id", Reason: "is required, at the top level or in properties"},
		{Index: 2, MessageID: "r-2", Field: "event", Reason: "is required"},
		{Index: 3, MessageID: "r-3", Field: "timestamp", Reason: `"soon" is not an ISO 8601 timestamp such as "2024-03-01T12:00:00.000Z"`},
		{Index: 4, MessageID: "r-4", Field: "token", Reason: "differs from the key of the request; send one project's events per request"},
		{Index: 5, MessageID: "r-5", Field: "event", Reason: "refused by the test sink"},
		{Index: 6, MessageID: "r-6", Field: "properties.alias", Reason: "$create_alias needs the alias to merge"},
		{Index: 7, Field: "event", Reason: "must be a JSON object"},
		{Index: 9, MessageID: "r-9", Field: "distinct_id", Reason: `names the group "acme", not a person: Pulse stores no group properties; ` +
			"a person's group is set by $groupidentify with the person's distinct_id"},
		{Index: 10, MessageID: "r-10", Field: "properties.$group_key", Reason: "$groupidentify needs the group's key"},
	}, r.Rejected)
	require.Equal(t, 3, r.Accepted, "r-0, the $set of r-5 and r-8")
	var ids []string
	for _, m := range b.sink.messages() {
		ids = append(ids, m.MessageID)
	}
	require.Equal(t, []string{"r-0", "r-5:$set", "r-8"}, ids)
}

// TestPostHogOffset: an event with an offset instead of a timestamp
// happened that long before the request arrived.
func TestPostHogOffset(t *testing.T) {
	t.Parallel()
	b := setupHTTP(t)
	before := time.Now()
	r := b.do(t, call{path: "/e/?_=1714557605000", body: withKey(`{"event": "e", "offset": 5000, "properties": {"distinct_id": "ann", "token": "KEY"}}`, b.project.Ingest.Secret)})
	after := time.Now()
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	stored := b.sink.messages()
	require.Len(t, stored, 1)
	require.WithinRange(t, stored[0].Timestamp, before.Add(-5*time.Second), after.Add(-5*time.Second))
	require.True(t, stored[0].SentAt.IsZero(), "the offset is already relative to the server's clock")
}

// TestPostHogOversizedEvent: an event over 32 KB is rejected alone; the
// rest of its batch is stored.
func TestPostHogOversizedEvent(t *testing.T) {
	t.Parallel()
	b := setupHTTP(t)
	big := `{"event":"big","distinct_id":"ann","uuid":"p0","properties":{"pad":"` + strings.Repeat("x", ingest.MaxMessageBytes) + `"}}`
	body := `{"api_key":"KEY","batch":[` + big + `,{"event":"small","distinct_id":"ann","uuid":"p1"}]}`
	r := b.do(t, call{path: "/batch/", body: withKey(body, b.project.Ingest.Secret)})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	require.Equal(t, 1, r.Accepted)
	require.Equal(t, []ingest.Rejection{
		{Index: 0, MessageID: "p0", Field: "event", Reason: fmt.Sprintf("is %d bytes; the limit is 32768", len(big))},
	}, r.Rejected)
	require.Equal(t, "p1", b.sink.messages()[0].MessageID)
}

package ingest_test

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/ingest"
)

// hostileTemplate places an untrusted text s in a request. With a
// companion, the batch also holds a valid track call, ID as its message
// id, which must be stored whenever the request is answered 200; hostile
// says the first item is a valid track (ID "h-" + id) wherever s is, so it
// too must be stored when it is not rejected.
type hostileTemplate struct {
	path      string
	body      func(s, id, key string) string
	companion bool
	hostile   bool
	form      bool // posted form-encoded, base64
	gzip      bool
}

func segmentBatch(first, id string) string {
	return `{"batch":[` + first + `,{"type":"track","userId":"companion","event":"e","messageId":"c-` + id + `"}]}`
}

func posthogBatch(first, id, key string) string {
	return `{"api_key":"` + key + `","batch":[` + first + `,{"event":"e","distinct_id":"companion","uuid":"c-` + id + `"}]}`
}

var hostileTemplates = []hostileTemplate{
	{path: "/v1/batch", companion: true, hostile: true, body: func(s, id, _ string) string {
		return segmentBatch(`{"type":"track","userId":"u","event":"e","messageId":"h-`+id+`","properties":{"p":`+s+`}}`, id)
	}},
	{path: "/v1/batch", companion: true, hostile: true, body: func(s, id, _ string) string {
		return segmentBatch(`{"type":"track","userId":"u","event":"e","messageId":"h-`+id+`","properties":{"`+s+`":"`+s+`"}}`, id)
	}},
	{path: "/v1/batch", companion: true, body: func(s, id, _ string) string {
		return segmentBatch(`{"type":"identify","userId":"u","messageId":"h-`+id+`","traits":{"`+s+`":`+s+`}}`, id)
	}},
	{path: "/v1/batch", companion: true, body: func(s, id, _ string) string {
		return segmentBatch(`{"type":"track","userId":"`+s+`","anonymousId":"`+s+`","event":"`+s+`","messageId":"h-`+id+`"}`, id)
	}},
	{path: "/v1/batch", companion: true, hostile: true, body: func(s, id, _ string) string {
		return segmentBatch(`{"type":"track","userId":"u","event":"e","messageId":"h-`+id+`","context":`+s+`}`, id)
	}},
	{path: "/v1/batch", companion: true, body: func(s, id, _ string) string {
		return segmentBatch(`{"type":"page","userId":"u","name":"n","messageId":"h-`+id+`","timestamp":`+s+`,"sentAt":`+s+`}`, id)
	}},
	{path: "/v1/batch", companion: true, body: func(s, id, _ string) string { return segmentBatch(s, id) }},
	{path: "/v1/batch", body: func(s, _, _ string) string { return s }},
	{path: "/v1/track", body: func(s, id, _ string) string {
		return `{"userId":"u","event":"e","messageId":"h-` + id + `","properties":` + s + `}`
	}},
	{path: "/batch/", companion: true, hostile: true, body: func(s, id, key string) string {
		return posthogBatch(`{"event":"e","distinct_id":"u","uuid":"h-`+id+`","properties":{"p":`+s+`}}`, id, key)
	}},
	{path: "/batch/", companion: true, hostile: true, body: func(s, id, key string) string {
		return posthogBatch(`{"event":"e","distinct_id":"u","uuid":"h-`+id+`","$set":{"`+s+`":`+s+`}}`, id, key)
	}},
	{path: "/batch/", companion: true, body: func(s, id, key string) string {
		return posthogBatch(`{"event":"`+s+`","distinct_id":`+s+`,"uuid":"h-`+id+`","offset":`+s+`,"timestamp":`+s+`}`, id, key)
	}},
	{path: "/batch/", companion: true, body: func(s, id, key string) string {
		return posthogBatch(`{"event":"$pageview","distinct_id":"u","uuid":"h-`+id+`","properties":{"$current_url":"`+s+`","$device_id":`+s+`}}`, id, key)
	}},
	{path: "/e/?compression=base64", companion: true, hostile: true, form: true, body: func(s, id, key string) string {
		return posthogBatch(`{"event":"e","distinct_id":"u","uuid":"h-`+id+`","properties":{"p":`+s+`}}`, id, key)
	}},
	{path: "/batch/", companion: true, hostile: true, gzip: true, body: func(s, id, key string) string {
		return posthogBatch(`{"event":"e","distinct_id":"u","uuid":"h-`+id+`","properties":{"p":"`+s+`"}}`, id, key)
	}},
	{path: "/batch/", body: func(s, _, _ string) string { return s }},
	{path: "/capture/", body: func(s, id, key string) string {
		return `{"api_key":"` + key + `","event":"e","distinct_id":"u","uuid":"h-` + id + `","properties":` + s + `}`
	}},
}

// hostileTexts are values and fragments that have failed, or could fail,
// a batch: texts PostgreSQL cannot store, numbers jsonb cannot hold,
// nesting, duplicates, sizes, and JSON that is not quite JSON.
var hostileTexts = []string{
	`"ok"`, `1`, `null`, `{}`, `[]`, `""`,
	`"\u0000"`, `\u0000`, "\x00", `"a\ud800"`, `\ud800`, `\udc00\ud800`, `"\ud83d\ude00"`, "\xff", "\xc0\x80", "\xed\xa0\x80",
	`"\\u0000"`, `\\`, `\"`, `"` + strings.Repeat(`\u0041`, 3000) + `"`,
	`1e1000000`, `-1e131072`, `1e131071`, `1e-16384`, `0.` + strings.Repeat("0", 16400) + `1`, `1e99999999999999999999`,
	`123456789012345678901234567890`, `-0`, `1.5`, `9e18`, `-9e18`, `1e400`, `NaN`, `Infinity`, `0x10`, `01`,
	strings.Repeat("[", 9980) + strings.Repeat("]", 9980), strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000),
	`{"a":1,"a":2,"a":{"b":1e1000000}}`, `{"":""}`, `{"userId":"x","userId":"y"}`,
	strings.Repeat("x", 600), strings.Repeat("é", 300), strings.Repeat("x", 40<<10),
	`"2024-03-01T12:00:00Z"`, `"9999-12-31T23:59:59Z"`, `"0001-01-01T00:00:01Z"`, `"2024-13-45"`, `1714557605000`,
	`{"type":"track","userId":"a","event":"e"},{}`, `{"batch":[]}`, `{"batch":null}`, `[{}]`, `{}{}`, `{"batch":[1,"x",null]}`,
}

// FuzzIngestHandlers: whatever the body, both APIs answer 2xx or 4xx,
// never 5xx, and what they accept is stored, against the real Writer and
// database. go test runs the corpus of hostileTexts in every template;
// go test -fuzz=FuzzIngestHandlers explores further.
func FuzzIngestHandlers(f *testing.F) {
	for _, s := range hostileTexts {
		for where := range hostileTemplates {
			f.Add(uint8(where), s)
		}
	}
	b := setupStored(f)
	key := b.project.Ingest.Secret
	run := fmt.Sprintf("%08x", rand.Uint32()) // fuzzing workers share the database
	var seq atomic.Int64
	f.Fuzz(func(t *testing.T, where uint8, s string) {
		tt := hostileTemplates[int(where)%len(hostileTemplates)]
		id := fmt.Sprintf("%s-%d", run, seq.Add(1))
		body := tt.body(s, id, key)
		c := call{path: tt.path, basicKey: key, gzip: tt.gzip}
		if tt.form {
			c.body = "data=" + url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(body)))
			c.header = map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
		} else {
			c.body = body
		}
		r := b.do(t, c)
		require.Less(t, r.Status, 500, "%s %.300q: %s", tt.path, body, r.Raw)
		if r.Status != http.StatusOK {
			require.NotNil(t, r.Error, "a refusal says why: %s", r.Raw)
			return
		}
		if !tt.companion {
			return
		}
		requireStored(t, b, "c-"+id, r)
		if tt.hostile && !rejectedAt(r, 0) {
			requireStored(t, b, "h-"+id, r)
		}
	})
}

// rejectedAt reports whether the request's item at index was rejected.
func rejectedAt(r reply, index int) bool {
	return slices.ContainsFunc(r.Rejected, func(rej ingest.Rejection) bool { return rej.Index == index })
}

// requireStored asserts that the event of message id is stored once.
func requireStored(t *testing.T, b *storedBundle, messageID string, r reply) {
	t.Helper()
	var n int
	require.NoError(t, b.db.QueryRow(`SELECT count(*) FROM events WHERE project_id = $1 AND message_id = $2`, b.project.Project.ID, messageID).Scan(&n))
	require.Equal(t, 1, n, "%s is stored: %s", messageID, r.Raw)
}

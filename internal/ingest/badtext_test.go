package ingest_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// storedBundle is the ingestion handler over the real Writer and the
// package database, served by a test server, with a project of the test's
// own.
type storedBundle struct {
	*httpBundle
	db *sql.DB
}

func setupStored(t testing.TB) *storedBundle {
	t.Helper()
	db := pgtest.DB(t)
	client := database.NewClient(db)
	project, err := auth.CreateProject(context.Background(), client, t.Name())
	require.NoError(t, err)
	server := httptest.NewServer(ingest.NewHTTPHandler(auth.NewKeys(client), ingest.NewWriter(db), slog.New(slog.DiscardHandler)))
	t.Cleanup(server.Close)
	return &storedBundle{httpBundle: &httpBundle{server: server, project: project}, db: db}
}

// storedIDs are the message ids of the project's stored events, sorted.
func (b *storedBundle) storedIDs(t *testing.T) []string {
	t.Helper()
	rows, err := b.db.Query(`SELECT message_id FROM events WHERE project_id = $1 ORDER BY message_id`, b.project.Project.ID)
	require.NoError(t, err)
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	return ids
}

// TestSegmentBadTextRejectedAlone: a message with a NUL, bytes that are not
// UTF-8 or a lone surrogate anywhere is rejected alone, naming the field;
// the rest of its batch is stored.
func TestSegmentBadTextRejectedAlone(t *testing.T) {
	t.Parallel()
	b := setupStored(t)
	body := `{"batch": [
	  {"type": "track", "userId": "ann", "event": "ok", "messageId": "ok-0"},
	  {"type": "track", "userId": "ann", "event": "bad\u0000name", "messageId": "bad-1"},
	  {"type": "track", "userId": "ann", "event": "e", "messageId": "bad-2", "properties": {"note": "a\u0000b"}},
	  {"type": "identify", "userId": "ann", "messageId": "bad-3", "traits": {"x\ud800": 1}},
	  {"type": "track", "userId": "ann` + "\xff" + `", "event": "e", "messageId": "bad-4"},
	  {"type": "page", "userId": "ann", "name": "Home", "messageId": "bad-5", "context": {"page": {"title": "cut \udc00"}}},
	  {"type": "track", "userId": "ann", "event": "e", "messageId": "bad-6", "properties": {"a": {"b": [1, "\u0000"]}}},
	  {"type": "track", "userId": "ann", "event": "e", "messageId": "bad-7", "properties": {"a": {"c": [1, "\ud83d"]}}},
	  {"type": "page", "userId": "ann", "name": "Smile \ud83d\ude00 \\u0000", "messageId": "ok-8", "properties": {"k\\ud800": "\u00e9"}}
	]}`
	r := b.do(t, call{path: "/v1/batch", body: body, basicKey: b.project.Ingest.Secret})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	nul := `contains a NUL character (\u0000), which cannot be stored`
	require.Equal(t, []ingest.Rejection{
		{Index: 1, MessageID: "bad-1", Field: "event", Reason: nul},
		{Index: 2, MessageID: "bad-2", Field: "properties.note", Reason: nul},
		{Index: 3, MessageID: "bad-3", Field: "traits.x\ufffd", Reason: `has a key that contains a lone UTF-16 surrogate \ud800 (half of a surrogate pair), which is not a character`},
		{Index: 4, MessageID: "bad-4", Field: "userId", Reason: "contains bytes that are not UTF-8 (0xff)"},
		{Index: 5, MessageID: "bad-5", Field: "context.page.title", Reason: `contains a lone UTF-16 surrogate \udc00 (half of a surrogate pair), which is not a character`},
		{Index: 6, MessageID: "bad-6", Field: "properties.a.b[1]", Reason: nul},
		{Index: 7, MessageID: "bad-7", Field: "properties.a.c[1]", Reason: `contains a lone UTF-16 surrogate \ud83d (half of a surrogate pair), which is not a character`},
	}, r.Rejected, r.Raw)
	require.Equal(t, 2, r.Accepted, r.Raw)
	require.Equal(t, []string{"ok-0", "ok-8"}, b.storedIDs(t))
	var name string
	require.NoError(t, b.db.QueryRow(`SELECT properties->>'name' FROM events WHERE project_id = $1 AND message_id = 'ok-8'`, b.project.Project.ID).Scan(&name))
	require.Equal(t, `Smile 😀 \u0000`, name, "an escaped backslash is no escape")
}

// TestPostHogBadTextRejectedAlone: the same over PostHog's batch, in each
// of the encodings posthog-js uses.
func TestPostHogBadTextRejectedAlone(t *testing.T) {
	t.Parallel()
	b := setupStored(t)
	batch := func(prefix string) string {
		return withKey(`{"api_key": "KEY", "batch": [
		  {"event": "ok", "distinct_id": "ann", "uuid": "`+prefix+`ok-0"},
		  {"event": "bad\u0000", "distinct_id": "ann", "uuid": "`+prefix+`bad-1"},
		  {"event": "$pageview", "distinct_id": "ann", "uuid": "`+prefix+`bad-2", "properties": {"$current_url": "https://example.com/`+"\xc0\x80"+`"}},
		  {"event": "e", "distinct_id": "ann", "uuid": "`+prefix+`bad-3", "$set": {"name": "\ud800"}},
		  {"event": "ok", "distinct_id": "bob", "uuid": "`+prefix+`ok-4", "properties": {"$set": {"name": "Bob \ud83d\ude00"}}}
		]}`, b.project.Ingest.Secret)
	}
	form := func(body string) string {
		return "data=" + url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(body)))
	}
	nul := `contains a NUL character (\u0000), which cannot be stored`
	for _, tt := range []struct {
		prefix string
		call   call
	}{
		{"json-", call{path: "/batch/", body: batch("json-")}},
		{"gzip-", call{path: "/batch/", body: batch("gzip-"), gzip: true}},
		{"form-", call{path: "/e/?compression=base64", body: form(batch("form-")), header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}},
	} {
		c, prefix := tt.call, tt.prefix
		r := b.do(t, c)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, []ingest.Rejection{
			{Index: 1, MessageID: prefix + "bad-1", Field: "event", Reason: nul},
			{Index: 2, MessageID: prefix + "bad-2", Field: "properties.$current_url", Reason: "contains bytes that are not UTF-8 (0xc0)"},
			{Index: 3, MessageID: prefix + "bad-3", Field: "$set.name", Reason: `contains a lone UTF-16 surrogate \ud800 (half of a surrogate pair), which is not a character`},
		}, r.Rejected, r.Raw)
		require.Equal(t, 3, r.Accepted, "ok-0, ok-4 and the $set of ok-4: %s", r.Raw)
	}
	require.Equal(t, []string{"form-ok-0", "form-ok-4", "gzip-ok-0", "gzip-ok-4", "json-ok-0", "json-ok-4"}, b.storedIDs(t))
}

// TestSingleCallBadText: a single call with a text that cannot be stored
// is answered 200 with its rejection, as any other invalid call is.
func TestSingleCallBadText(t *testing.T) {
	t.Parallel()
	b := setupStored(t)
	for _, c := range []call{
		{path: "/v1/track", body: `{"userId": "ann", "event": "e", "properties": {"\u0000": 1}}`, basicKey: b.project.Ingest.Secret},
		{path: "/capture/", body: withKey(`{"api_key": "KEY", "event": "e", "distinct_id": "ann", "properties": {"\u0000": 1}}`, b.project.Ingest.Secret)},
	} {
		r := b.do(t, c)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Equal(t, []ingest.Rejection{{Field: "properties.\x00", Reason: `has a key that contains a NUL character (\u0000), which cannot be stored`}}, r.Rejected, r.Raw)
	}
	r := b.do(t, call{path: "/v1/batch", body: `{"context": {"userAgent": "\u0000"}, "batch": []}`, basicKey: b.project.Ingest.Secret})
	requireError(t, r, http.StatusBadRequest, "BAD_TEXT", `context contains a NUL character (\u0000), which cannot be stored`)
	require.Empty(t, b.storedIDs(t))
}

// TestWriteBadTextRejected: messages given to the Writer directly (the
// GraphQL API, the seeder) are checked too: a text PostgreSQL cannot store
// is a rejection, not an error that fails the batch.
func TestWriteBadTextRejected(t *testing.T) {
	t.Parallel()
	b := setupWriter(t)
	ok := ingest.Message{Type: ingest.TypeTrack, UserID: "ann", Event: "ok", MessageID: "ok"}
	res := b.write(t,
		ok,
		ingest.Message{Type: ingest.TypeTrack, UserID: "ann", Event: "a\x00", MessageID: "m1"},
		ingest.Message{Type: ingest.TypeTrack, UserID: "ann\xff", Event: "e", MessageID: "m2"},
		ingest.Message{Type: ingest.TypeTrack, UserID: "ann", Event: "e", MessageID: "m3", Properties: map[string]any{"list": []any{"x", "\x00"}}},
		ingest.Message{Type: ingest.TypeIdentify, UserID: "ann", MessageID: "m4", Traits: map[string]any{"a\x00": "x"}},
		ingest.Message{Type: ingest.TypeTrack, UserID: "ann", Event: "e", MessageID: "m5", RawProperties: []byte(`{"a": "\u0000"}`)},
	)
	nul := `contains a NUL character (\u0000), which cannot be stored`
	require.Equal(t, []ingest.Rejection{
		{Index: 1, MessageID: "m1", Field: "event", Reason: nul},
		{Index: 2, MessageID: "m2", Field: "userId", Reason: "contains bytes that are not UTF-8 (0xff)"},
		{Index: 3, MessageID: "m3", Field: "properties.list[1]", Reason: nul},
		{Index: 4, MessageID: "m4", Field: "traits.a\x00", Reason: "has a key that " + nul},
		{Index: 5, MessageID: "m5", Field: "properties", Reason: nul},
	}, res.Rejected)
	require.Equal(t, 1, res.Accepted)
}

// TestNumbersOutOfRangeRejected: numbers that are valid JSON but out of
// the range jsonb stores are rejected alone, in properties and traits, over
// both APIs.
func TestNumbersOutOfRangeRejected(t *testing.T) {
	t.Parallel()
	b := setupStored(t)
	reason := "is a number out of the range that can be stored (at most 131072 digits before the decimal point and 16383 after)"
	tinyFraction := "0." + strings.Repeat("0", 16383) + "1"
	segment := `{"batch": [
	  {"type": "track", "userId": "ann", "event": "ok", "messageId": "s-ok-0", "properties": {"big": 1e131071, "small": 1e-16383, "zero": 0e999999, "t": true, "f": false}},
	  {"type": "track", "userId": "ann", "event": "e", "messageId": "s-1", "properties": {"n": 1e1000000}},
	  {"type": "track", "userId": "ann", "event": "e", "messageId": "s-2", "properties": {"a": [1E131072]}},
	  {"type": "identify", "userId": "ann", "messageId": "s-3", "traits": {"n": -1e1000000}},
	  {"type": "track", "userId": "ann", "event": "e", "messageId": "s-4", "properties": {"n": ` + tinyFraction + `}},
	  {"type": "track", "userId": "ann", "event": "1e1000000", "messageId": "s-ok-5", "properties": {"s": "1e1000000"}}
	]}`
	r := b.do(t, call{path: "/v1/batch", body: segment, basicKey: b.project.Ingest.Secret})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	require.Equal(t, []ingest.Rejection{
		{Index: 1, MessageID: "s-1", Field: "properties.n", Reason: reason},
		{Index: 2, MessageID: "s-2", Field: "properties.a[0]", Reason: reason},
		{Index: 3, MessageID: "s-3", Field: "traits.n", Reason: reason},
		{Index: 4, MessageID: "s-4", Field: "properties.n", Reason: reason},
	}, r.Rejected, r.Raw)
	require.Equal(t, 2, r.Accepted, r.Raw)

	posthog := withKey(`{"api_key": "KEY", "batch": [
	  {"event": "ok", "distinct_id": "ann", "uuid": "p-ok-0", "properties": {"n": 1e308}},
	  {"event": "e", "distinct_id": "ann", "uuid": "p-1", "properties": {"n": 1e1000000}},
	  {"event": "e", "distinct_id": "ann", "uuid": "p-2", "$set": {"n": [1e400000]}}
	]}`, b.project.Ingest.Secret)
	r = b.do(t, call{path: "/batch/", body: posthog})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	require.Equal(t, []ingest.Rejection{
		{Index: 1, MessageID: "p-1", Field: "properties.n", Reason: reason},
		{Index: 2, MessageID: "p-2:$set", Field: "$set.n[0]", Reason: reason},
	}, r.Rejected, r.Raw)
	require.Equal(t, []string{"p-2", "p-ok-0", "s-ok-0", "s-ok-5"}, b.storedIDs(t), "an event with $set is two messages: the event is stored")
}

// TestWriteIsolatesRefusedMessages: should PostgreSQL refuse a message
// all the same (here raw properties that are not JSON, which only a caller
// of the Writer can give), the batch is stored but that message, which is
// rejected with PostgreSQL's reason.
func TestWriteIsolatesRefusedMessages(t *testing.T) {
	t.Parallel()
	b := setupWriter(t)
	var msgs []ingest.Message
	for i := range 10 {
		msgs = append(msgs, ingest.Message{Type: ingest.TypeTrack, UserID: fmt.Sprintf("user-%d", i%3), Event: "e", MessageID: fmt.Sprintf("m%d", i)})
	}
	msgs[3].RawProperties = []byte(`{"a": tru}`)
	msgs[8].RawProperties = []byte(`{"a": 1`)
	res := b.write(t, msgs...)
	require.Equal(t, 8, res.Accepted)
	require.Len(t, res.Rejected, 2)
	for i, index := range []int{3, 8} {
		require.Equal(t, index, res.Rejected[i].Index)
		require.Equal(t, "message", res.Rejected[i].Field)
		require.Contains(t, res.Rejected[i].Reason, "cannot be stored: invalid input syntax for type json")
	}
	require.Equal(t, 8, b.count(t, `SELECT count(*) FROM events WHERE project_id = $1`))
	require.Equal(t, 8, b.user(t, "user-0").EventCount+b.user(t, "user-1").EventCount+b.user(t, "user-2").EventCount)
}

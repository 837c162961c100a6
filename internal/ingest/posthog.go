package ingest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const posthogKeyHelp = "send the project key as api_key (or token) in the body"

// posthogResponse is the answer to an accepted capture request: PostHog's
// {"status": 1}, plus what became of the messages. Accepted counts stored
// messages, and an event carrying $set is stored as two (see posthog).
type posthogResponse struct {
	Status int `json:"status"`
	Result
}

// posthog serves PostHog's capture endpoints, so that posthog-js and the
// PostHog server SDKs can send to Pulse unchanged. A body is one event, an
// array of events (posthog-js), or {"api_key", "batch": [...], "sent_at"}
// (server SDKs); gzip (Content-Encoding or ?compression=gzip-js) and the
// base64 form encoding posthog-js uses for sendBeacon are accepted. The key
// is api_key or token at the top level, or the events' properties.token.
//
// Limits: a body is at most MaxBatchBytes and MaxBatchSize events; an event
// in an array or batch over MaxMessageBytes is rejected alone, a single
// event over it refuses the request. Events map to messages so:
//
//   - $identify → identify of distinct_id, traits from $set_once overlaid
//     by $set (top level or in properties), anonymousId $anon_distinct_id;
//   - $set (the SDKs' setPersonProperties) → identify with those traits
//     only: it is a profile update, not usage;
//   - $groupidentify of a person (posthog-js's group()) → group with
//     groupId $group_key; of the group itself (the server SDKs' distinct_id
//     "$<type>_<key>") it is rejected: Pulse keeps a person's group as the
//     groupId trait and stores no group properties;
//   - $pageview → page named by $current_url (else $pathname); $screen →
//     screen named by $screen_name; $create_alias → alias of
//     properties.alias into distinct_id; any other event → track;
//   - any other event that carries $set or $set_once also
//     gives an identify with those traits (message id uuid + ":$set").
//
// distinct_id is anonymous when $is_identified is false (posthog-js and
// posthog-react-native send it on every event), or, when $is_identified is
// absent, when it equals $device_id (the id posthog-js starts with, before
// identify). Otherwise it is the userId, and a different $device_id becomes
// the anonymousId, which ties the device's anonymous history to the user
// as Segment's anonymousId does. Server SDKs send neither property: their
// distinct_id is a known user.
func (h *handler) posthog(w http.ResponseWriter, r *http.Request) {
	if !requirePost(w, r) {
		return
	}
	compression := strings.ToLower(r.URL.Query().Get("compression"))
	if compression != "" && compression != "gzip-js" && compression != "gzip" && compression != "base64" {
		writeError(w, badRequest("BAD_ENCODING", "compression %q is not supported; use gzip-js, base64 or none", compression))
		return
	}
	body, apiErr := readBody(w, r, "capture body", MaxBatchBytes, strings.HasPrefix(compression, "gzip"))
	if apiErr == nil {
		body, apiErr = posthogForm(r, body, compression == "base64")
	}
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	parsed, key, apiErr := parsePostHog(r, body, time.Now())
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	ctx, apiErr := h.authenticate(r.Context(), key, posthogKeyHelp)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	res, apiErr := h.storeAndLog(ctx, parsed, posthogField)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	writeJSON(w, http.StatusOK, posthogResponse{Status: 1, Result: res})
}

// posthogForm unwraps posthog-js's form encoding, data=<JSON or base64 of
// JSON>; other bodies are returned as they are. A JSON body labelled as a
// form (curl -d sends every body so) is JSON.
func posthogForm(r *http.Request, body []byte, base64Encoded bool) ([]byte, *apiError) {
	looksJSON := func(b []byte) bool {
		b = bytes.TrimSpace(b)
		return bytes.HasPrefix(b, []byte("{")) || bytes.HasPrefix(b, []byte("["))
	}
	formType := strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
	isForm := bytes.HasPrefix(body, []byte("data=")) || formType && !looksJSON(body)
	if isForm {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, badRequest("BAD_REQUEST", "malformed form body: %v", err)
		}
		body = []byte(form.Get("data"))
	}
	trimmed := bytes.TrimSpace(body)
	if looksJSON(trimmed) || !isForm && !base64Encoded {
		return body, nil
	}
	decoded, err := base64.StdEncoding.DecodeString(string(trimmed))
	if err != nil {
		if decoded, err = base64.RawStdEncoding.DecodeString(string(trimmed)); err != nil {
			return nil, badRequest("BAD_ENCODING", "the data is not valid base64: %v", err)
		}
	}
	return decoded, nil
}

// posthogEnvelope is the top level of a server SDK's batch; a single event
// has only the key fields of it.
type posthogEnvelope struct {
	APIKey any                `json:"api_key"`
	Token  any                `json:"token"`
	Batch  *[]json.RawMessage `json:"batch"`
	SentAt any                `json:"sent_at"`
}

// parsePostHog parses a capture body of any form; now is the time of
// receipt, for events that give an offset instead of a timestamp.
func parsePostHog(r *http.Request, body []byte, now time.Time) (*parsedBatch, string, *apiError) {
	if n := posthogEventCount(body); n > MaxBatchSize {
		return nil, "", badRequest("BATCH_TOO_LARGE", "the batch has %d events; the limit is %d", n, MaxBatchSize)
	}
	var env posthogEnvelope
	var items []json.RawMessage
	single := false
	if trimmed := bytes.TrimSpace(body); bytes.HasPrefix(trimmed, []byte("[")) {
		if err := decodeJSON(trimmed, &items); err != nil {
			return nil, "", malformed(err)
		}
	} else {
		if err := decodeJSON(body, &env); err != nil {
			return nil, "", malformed(err)
		}
		if env.Batch != nil {
			items = *env.Batch
		} else {
			items, single = []json.RawMessage{body}, true
		}
	}
	if len(items) > MaxBatchSize {
		return nil, "", badRequest("BATCH_TOO_LARGE", "the batch has %d events; the limit is %d", len(items), MaxBatchSize)
	}
	if single && len(body) > MaxMessageBytes {
		return nil, "", badRequest("BODY_TOO_LARGE", "event body is %d bytes; the limit is %d", len(body), MaxMessageBytes)
	}
	sentAt, apiErr := posthogSentAt(r, env.SentAt)
	if apiErr != nil {
		return nil, "", apiErr
	}
	events := make([]map[string]any, len(items))
	bodyKey := first(text(env.APIKey), text(env.Token))
	for i, raw := range items {
		if err := decodeJSON(raw, &events[i]); err != nil {
			events[i] = nil
		}
		if bodyKey == "" {
			bodyKey = posthogEventKey(events[i])
		}
	}
	key := requestKey(r, bodyKey)
	parsed := &parsedBatch{}
	for i, fields := range events {
		uuid, _ := idString(fields["uuid"])
		switch {
		case fields == nil:
			parsed.reject(i, "", "event", "must be a JSON object")
		case !single && len(items[i]) > MaxMessageBytes:
			parsed.reject(i, uuid, "event", "is %d bytes; the limit is %d", len(items[i]), MaxMessageBytes)
		case parsed.rejectBadText(i, uuid, items[i]):
		default:
			msgs, field, err := posthogMessages(fields, sentAt, key, now)
			if err != nil {
				parsed.reject(i, uuid, field, "%v", err)
				continue
			}
			for _, m := range msgs {
				parsed.add(i, m)
			}
		}
	}
	return parsed, key, nil
}

// posthogEventCount is how many events a capture body holds, counted by
// the scanner before anything is decoded: decoding 500 KB of "{}," into
// 170,000 values would cost many times the body. It is 0 for a body that
// is not valid JSON (decoding then says why) and 1 for a single event.
func posthogEventCount(body []byte) int {
	if !validJSON(body) {
		return 0
	}
	count := 0
	countElements := func(raw []byte) {
		scanElements(raw, func(rest []byte) int {
			count++
			return valueEnd(rest, 0)
		})
	}
	switch body[skipSpace(body, 0)] {
	case '[':
		countElements(body)
	case '{':
		count = 1
		members(body, func(key, value []byte) {
			if string(key) == "batch" { // the last one counts, as when decoded
				count = 0
				countElements(value)
			}
		})
	}
	return count
}

// posthogSentAt is when the client sent the request: the body's sent_at
// (server SDKs) or the _ query parameter, milliseconds since the epoch,
// that posthog-js adds to every request.
func posthogSentAt(r *http.Request, bodySentAt any) (time.Time, *apiError) {
	sentAt, err := parseTimestamp(bodySentAt)
	if err != nil {
		return time.Time{}, badRequest("BAD_REQUEST", "sent_at %v", err)
	}
	if ms, err := strconv.ParseInt(r.URL.Query().Get("_"), 10, 64); sentAt.IsZero() && err == nil && ms > 0 {
		sentAt = time.UnixMilli(ms).UTC()
	}
	return sentAt, nil
}

// posthogEventKey is the key an event carries itself.
func posthogEventKey(fields map[string]any) string {
	return first(text(fields["api_key"]), text(fields["token"]), text(lookup(fields, "properties", "token")))
}

// posthogMessages maps one event to its messages (see posthog), or returns
// the offending field with an error.
func posthogMessages(fields map[string]any, sentAt time.Time, key string, now time.Time) ([]Message, string, error) {
	event, _ := fields["event"].(string)
	if strings.TrimSpace(event) == "" {
		return nil, "event", errors.New("is required")
	}
	props, ok := object(plainJSON(fields["properties"]))
	if !ok {
		return nil, "properties", errors.New("must be a JSON object")
	}
	if own := posthogEventKey(fields); own != "" && own != key {
		return nil, "token", errors.New("differs from the key of the request; send one project's events per request")
	}
	distinctID, _ := idString(fields["distinct_id"])
	if distinctID == "" {
		distinctID, _ = idString(props["distinct_id"])
	}
	if strings.TrimSpace(distinctID) == "" {
		return nil, "distinct_id", errors.New("is required, at the top level or in properties")
	}
	base := Message{Context: Context{
		DeviceType: text(props["$device_type"]),
		OSName:     text(props["$os"]),
		UserAgent:  first(text(props["$raw_user_agent"]), text(props["$user_agent"])),
	}}
	base.MessageID, _ = idString(fields["uuid"])
	var err error
	if base.Timestamp, err = parseTimestamp(fields["timestamp"]); err != nil {
		return nil, "timestamp", err
	}
	if offset, isNumber := fields["offset"].(json.Number); base.Timestamp.IsZero() && isNumber {
		// posthog-js without a timestamp: the event happened offset ms
		// before the request, by no clock but the interval.
		if ms, err := offset.Int64(); err == nil {
			base.Timestamp = now.Add(-time.Duration(ms) * time.Millisecond)
		}
	} else {
		base.SentAt = sentAt
	}
	traits := posthogTraits(fields, props)
	base.UserID, base.AnonymousID = posthogIdentity(distinctID, props)

	m := base
	m.Properties = posthogProperties(props)
	switch event {
	case "$identify":
		m.Type, m.UserID, m.Traits, m.Properties = TypeIdentify, distinctID, traits, nil
		m.AnonymousID, _ = idString(props["$anon_distinct_id"])
		if m.AnonymousID == "" && base.AnonymousID != distinctID {
			m.AnonymousID = base.AnonymousID
		}
		if m.AnonymousID == distinctID {
			m.AnonymousID = ""
		}
		return []Message{m}, "", nil
	case "$set":
		m.Type, m.Traits, m.Properties = TypeIdentify, traits, nil
		return []Message{m}, "", nil
	case "$groupidentify":
		groupKey, _ := idString(props["$group_key"])
		if groupKey == "" {
			return nil, "properties.$group_key", errors.New("$groupidentify needs the group's key")
		}
		if distinctID == "$"+text(props["$group_type"])+"_"+groupKey {
			return nil, "distinct_id", errors.New("names the group " + strconv.Quote(groupKey) + ", not a person: Pulse stores no group properties; " +
				"a person's group is set by $groupidentify with the person's distinct_id")
		}
		m.Type, m.GroupID, m.Properties = TypeGroup, groupKey, nil
		return []Message{m}, "", nil
	case "$create_alias":
		m.Type, m.UserID, m.AnonymousID, m.Properties = TypeAlias, distinctID, "", nil
		if m.PreviousID, _ = idString(props["alias"]); m.PreviousID == "" {
			return nil, "properties.alias", errors.New("$create_alias needs the alias to merge")
		}
	case "$pageview":
		m.Type, m.Name = TypePage, first(text(props["$current_url"]), text(props["$pathname"]))
	case "$screen":
		m.Type, m.Name = TypeScreen, text(props["$screen_name"])
	default:
		m.Type, m.Event = TypeTrack, event
	}
	msgs := []Message{m}
	if len(traits) > 0 {
		update := base
		update.Type, update.Traits = TypeIdentify, traits
		if update.MessageID != "" {
			update.MessageID += ":$set"
		}
		msgs = append(msgs, update)
	}
	return msgs, "", nil
}

// posthogIdentity splits distinct_id into userId and anonymousId by the
// rule documented on posthog.
func posthogIdentity(distinctID string, props map[string]any) (userID, anonymousID string) {
	deviceID, _ := idString(props["$device_id"])
	identified, said := props["$is_identified"].(bool)
	if said && !identified || !said && deviceID != "" && deviceID == distinctID {
		return "", distinctID
	}
	if deviceID == distinctID {
		deviceID = ""
	}
	return distinctID, deviceID
}

// posthogTraits merges $set_once and then $set, each from the event's top
// level (posthog-js, posthog-python) and from its properties. The Writer
// has no "only if unset" merge, so $set_once simply yields to $set.
func posthogTraits(fields, props map[string]any) map[string]any {
	traits := map[string]any{}
	for _, source := range []any{props["$set_once"], fields["$set_once"], props["$set"], fields["$set"]} {
		if m, ok := plainJSON(source).(map[string]any); ok {
			maps.Copy(traits, m)
		}
	}
	if len(traits) == 0 {
		return nil
	}
	return traits
}

// posthogProperties are the stored properties of an event: its properties
// without the key, the distinct id and the trait updates, which are not
// event data.
func posthogProperties(props map[string]any) map[string]any {
	out := make(map[string]any, len(props))
	for k, v := range props {
		switch k {
		case "token", "api_key", "distinct_id", "$set", "$set_once":
		default:
			out[k] = v
		}
	}
	return out
}

// posthogField names a rejected field as PostHog calls it.
func posthogField(field string) string {
	switch field {
	case "userId", "anonymousId":
		return "distinct_id"
	case "messageId":
		return "uuid"
	case "previousId":
		return "properties.alias"
	case "type":
		return "event"
	}
	if rest, ok := strings.CutPrefix(field, "traits"); ok {
		return "$set" + rest // traits are $set_once overlaid by $set
	}
	return field
}

// first returns the first non-empty string.
func first(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

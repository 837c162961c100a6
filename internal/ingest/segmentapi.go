package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// segmentCalls maps the last element of a Segment endpoint's path to the
// type of message it takes; batch endpoints map to "" (each message names
// its type). The one-letter forms are what analytics.js posts to (it takes
// the first letter of the type, and "b" for its batching strategy); import
// is the batch endpoint of Segment's older libraries.
var segmentCalls = map[string]Type{
	"batch": "", "b": "", "import": "",
	"track": TypeTrack, "t": TypeTrack,
	"identify": TypeIdentify, "i": TypeIdentify,
	"page": TypePage, "p": TypePage,
	"screen": TypeScreen, "s": TypeScreen,
	"group": TypeGroup, "g": TypeGroup,
	"alias": TypeAlias, "a": TypeAlias,
}

const segmentKeyHelp = "send the write key as the HTTP Basic-auth user (empty password) or as writeKey in the body"

// segmentResponse is the answer to an accepted Segment request. Segment
// answers {"success": true}; Pulse adds what became of the messages.
type segmentResponse struct {
	Success bool `json:"success"`
	Result
}

// segment serves the Segment HTTP Tracking API, payloads unchanged.
//
// Limits are Segment's: a single call's body is at most MaxMessageBytes, a
// batch body at most MaxBatchBytes with at most MaxBatchSize messages, all
// measured decompressed. A body over its limit, malformed JSON or a batch
// without a batch array is refused whole with 400. Inside a valid batch,
// each message is judged alone: one over MaxMessageBytes, with an
// unparsable timestamp or otherwise invalid is reported in "rejected" with
// its index, and the others are stored. The integrations object is accepted
// and ignored: Pulse is the destination.
func (h *handler) segment(w http.ResponseWriter, r *http.Request) {
	if !requirePost(w, r) {
		return
	}
	call := r.PathValue("call")
	typ, ok := segmentCalls[call]
	if !ok {
		writeError(w, &apiError{http.StatusNotFound, "NOT_FOUND", fmt.Sprintf("unknown Segment call %q (want batch, track, identify, page, screen, group or alias)", call)})
		return
	}
	isBatch := typ == ""
	limit, what := int64(MaxMessageBytes), "call body"
	if isBatch {
		limit, what = MaxBatchBytes, "batch body"
	}
	body, apiErr := readBody(w, r, what, limit, false)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	var parse func(*http.Request, []byte, Type) (*parsedBatch, string, *apiError)
	if isBatch {
		parse = parseSegmentBatch
	} else {
		parse = parseSegmentCall
	}
	parsed, key, apiErr := parse(r, body, typ)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	ctx, apiErr := h.authenticate(r.Context(), key, segmentKeyHelp)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	res, apiErr := h.storeAndLog(ctx, parsed, func(field string) string { return field })
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	writeJSON(w, http.StatusOK, segmentResponse{Success: true, Result: res})
}

// parseSegmentCall parses the body of a single call; the path gives its type.
func parseSegmentCall(r *http.Request, body []byte, typ Type) (*parsedBatch, string, *apiError) {
	var fields map[string]any
	if err := decodeJSON(body, &fields); err != nil {
		return nil, "", malformed(err)
	}
	if fields == nil {
		return nil, "", badRequest("MALFORMED_JSON", "the body must be a JSON object, not null")
	}
	key := requestKey(r, text(fields["writeKey"]))
	parsed := &parsedBatch{}
	m, field, err := segmentMessage(fields, typ, segmentDefaults{}, key)
	if err != nil {
		parsed.reject(0, text(fields["messageId"]), field, "%v", err)
	} else {
		parsed.add(0, m)
	}
	return parsed, key, nil
}

// segmentEnvelope is a batch request: the messages, and the context and
// sentAt that apply to each message lacking its own.
type segmentEnvelope struct {
	Batch    *[]json.RawMessage `json:"batch"`
	Context  any                `json:"context"`
	SentAt   any                `json:"sentAt"`
	WriteKey any                `json:"writeKey"`
}

// segmentDefaults are a batch's values for messages that lack their own.
type segmentDefaults struct {
	context Context
	sentAt  time.Time
}

func parseSegmentBatch(r *http.Request, body []byte, _ Type) (*parsedBatch, string, *apiError) {
	var env segmentEnvelope
	if err := decodeJSON(body, &env); err != nil {
		return nil, "", malformed(err)
	}
	if env.Batch == nil {
		return nil, "", badRequest("BAD_REQUEST", `the body has no "batch" array of messages`)
	}
	items := *env.Batch
	if len(items) > MaxBatchSize {
		return nil, "", badRequest("BATCH_TOO_LARGE", "the batch has %d messages; the limit is %d", len(items), MaxBatchSize)
	}
	sentAt, err := parseTimestamp(env.SentAt)
	if err != nil {
		return nil, "", badRequest("BAD_REQUEST", "sentAt %v", err)
	}
	batchContext, ok := object(env.Context)
	if !ok {
		return nil, "", badRequest("BAD_REQUEST", "context must be a JSON object")
	}
	defaults := segmentDefaults{context: segmentContext(batchContext), sentAt: sentAt}

	messages := make([]map[string]any, len(items))
	bodyKey := text(env.WriteKey)
	for i, raw := range items {
		// Each element is valid JSON already; an object decodes, anything
		// else is rejected below.
		messages[i] = decodeMessage(raw)
		if bodyKey == "" {
			bodyKey = text(messages[i]["writeKey"])
		}
	}
	key := requestKey(r, bodyKey)
	parsed := &parsedBatch{}
	for i, fields := range messages {
		messageID := text(fields["messageId"])
		switch {
		case fields == nil:
			parsed.reject(i, "", "message", "must be a JSON object")
		case len(items[i]) > MaxMessageBytes:
			parsed.reject(i, messageID, "message", "is %d bytes; the limit is %d", len(items[i]), MaxMessageBytes)
		default:
			m, field, err := segmentMessage(fields, "", defaults, key)
			if err != nil {
				parsed.reject(i, messageID, field, "%v", err)
				continue
			}
			parsed.add(i, m)
		}
	}
	return parsed, key, nil
}

// segmentMessage normalises one Segment message. typ is the type the
// endpoint implies, "" in a batch (the message's "type" then says). It
// returns the offending field with an error for an invalid message.
func segmentMessage(fields map[string]any, typ Type, defaults segmentDefaults, requestKey string) (Message, string, error) {
	m := Message{Type: typ}
	if typ == "" {
		t, ok := fields["type"].(string)
		if !ok {
			return m, "type", errors.New("is required: one of track, page, screen, identify, group or alias")
		}
		m.Type = Type(strings.ToLower(strings.TrimSpace(t)))
	}
	if key := text(fields["writeKey"]); key != "" && key != requestKey {
		return m, "writeKey", errors.New("differs from the key of the request; send one project's messages per request")
	}
	for _, id := range []struct {
		name string
		dst  *string
	}{
		{"userId", &m.UserID}, {"anonymousId", &m.AnonymousID}, {"previousId", &m.PreviousID},
		{"groupId", &m.GroupID}, {"messageId", &m.MessageID},
	} {
		v, ok := idString(fields[id.name])
		if !ok {
			return m, id.name, errors.New("must be a string")
		}
		*id.dst = v
	}
	for _, name := range []struct {
		name string
		dst  *string
	}{{"event", &m.Event}, {"name", &m.Name}} {
		v, ok := fields[name.name].(string)
		if !ok && fields[name.name] != nil {
			return m, name.name, errors.New("must be a string")
		}
		*name.dst = v
	}
	var ok bool
	if raw, isRaw := fields["properties"].(rawProperties); isRaw {
		if !isObject(raw) {
			return m, "properties", errors.New("must be a JSON object")
		}
		m.RawProperties = raw
	} else if m.Properties, ok = object(plainJSON(fields["properties"])); !ok {
		return m, "properties", errors.New("must be a JSON object")
	}
	if m.Traits, ok = object(plainJSON(fields["traits"])); !ok {
		return m, "traits", errors.New("must be a JSON object")
	}
	ctx, ok := object(fields["context"])
	if !ok {
		return m, "context", errors.New("must be a JSON object")
	}
	m.Context = mergeContext(segmentContext(ctx), defaults.context)
	var err error
	if m.Timestamp, err = parseTimestamp(fields["timestamp"]); err != nil {
		return m, "timestamp", err
	}
	if m.SentAt, err = parseTimestamp(fields["sentAt"]); err != nil {
		return m, "sentAt", err
	}
	if m.SentAt.IsZero() {
		m.SentAt = defaults.sentAt
	}
	return m, "", nil
}

// segmentContext reads what Pulse uses of a Segment context object.
func segmentContext(ctx map[string]any) Context {
	return Context{
		DeviceType: text(lookup(ctx, "device", "type")),
		OSName:     text(lookup(ctx, "os", "name")),
		UserAgent:  text(lookup(ctx, "userAgent")),
	}
}

// mergeContext fills what own lacks from defaults, field by field, as
// Segment merges a batch's context into each message's.
func mergeContext(own, defaults Context) Context {
	if own.DeviceType == "" {
		own.DeviceType = defaults.DeviceType
	}
	if own.OSName == "" {
		own.OSName = defaults.OSName
	}
	if own.UserAgent == "" {
		own.UserAgent = defaults.UserAgent
	}
	return own
}

// timestampLayouts are the ISO 8601 forms accepted, tried in order. A
// fractional second is accepted after the seconds of any of them; month,
// day and hour may have one digit (Segment's own batch example has
// "2015-2-02T00:30:08.276Z"); a time without a zone is UTC. PostHog's
// SDKs send the same forms.
var timestampLayouts = []string{
	"2006-1-2T15:04:05Z07:00",
	"2006-1-2T15:04:05Z0700",
	"2006-1-2T15:04:05Z07",
	"2006-1-2T15:04:05",
	"2006-1-2 15:04:05Z07:00",
	"2006-1-2 15:04:05Z0700",
	"2006-1-2 15:04:05",
	"2006-1-2T15:04Z07:00",
	"2006-1-2",
}

// parseTimestamp parses an ISO 8601 timestamp, in UTC; null or "" is the
// zero time (the Writer then uses the time of receipt).
func parseTimestamp(v any) (time.Time, error) {
	s, isString := v.(string)
	switch {
	case v == nil || isString && strings.TrimSpace(s) == "":
		return time.Time{}, nil
	case !isString:
		return time.Time{}, fmt.Errorf("must be an ISO 8601 string such as %q", "2024-03-01T12:00:00.000Z")
	}
	s = strings.TrimSpace(s)
	for _, layout := range timestampLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 timestamp such as %q", s, "2024-03-01T12:00:00.000Z")
}

// rawProperties marks a message's properties left undecoded by
// decodeMessage: they go to the database as the client wrote them.
type rawProperties []byte

// decodeMessage decodes one message of a batch, except its properties,
// which are kept as raw JSON (they are most of the bytes and Pulse only
// stores them). It returns nil for anything but a JSON object.
func decodeMessage(raw json.RawMessage) map[string]any {
	var parts map[string]json.RawMessage
	if err := json.Unmarshal(raw, &parts); err != nil || parts == nil {
		return nil
	}
	fields := make(map[string]any, len(parts))
	for k, v := range parts {
		if k == "properties" {
			fields[k] = rawProperties(v)
			continue
		}
		var value any
		if err := decodeJSON(v, &value); err != nil {
			return nil
		}
		fields[k] = value
	}
	return fields
}

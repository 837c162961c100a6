package ingest

import (
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
	early := h.lookUpEarly(r)
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
	ctx, apiErr := h.authenticateKey(r, early, key, segmentKeyHelp)
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
	if apiErr := checkJSONObject(body); apiErr != nil {
		return nil, "", apiErr
	}
	fields, _ := readSegmentFields(body)
	key := requestKey(r, textValue(fields.writeKey))
	parsed := &parsedBatch{}
	if parsed.rejectBadText(0, textValue(fields.messageID), body) {
		return parsed, key, nil
	}
	m, field, err := segmentMessage(fields, typ, segmentDefaults{}, key)
	if err != nil {
		parsed.reject(0, textValue(fields.messageID), field, "%v", err)
	} else {
		parsed.add(0, m)
	}
	return parsed, key, nil
}

// checkJSONObject refuses a body that is not valid JSON or not an object,
// saying why as a JSON decoder would.
func checkJSONObject(body []byte) *apiError {
	if apiErr := malformedBody(body); apiErr != nil {
		return apiErr
	}
	switch kind := jsonKind(body); kind {
	case "object":
		return nil
	case "null":
		return badRequest("MALFORMED_JSON", "the body must be a JSON object, not null")
	default:
		return notAnObject(kind)
	}
}

// malformedBody refuses a body that is not valid JSON, saying why as a
// JSON decoder would; nil for valid JSON.
func malformedBody(body []byte) *apiError {
	if validJSON(body) {
		return nil
	}
	var v any
	return malformed(decodeJSON(body, &v))
}

// notAnObject refuses a valid JSON body of another kind than object.
func notAnObject(kind string) *apiError {
	return badRequest("MALFORMED_JSON", "the body must be a JSON object, not a JSON %s", kind)
}

// segmentDefaults are a batch's values for messages that lack their own.
type segmentDefaults struct {
	context Context
	sentAt  time.Time
}

// segmentEnvelope is a batch request: the messages, and the context and
// sentAt that apply to each message lacking its own; raw JSON values.
type segmentEnvelope struct {
	batch, context, sentAt, writeKey []byte
	// items are the batch's first MaxBatchSize+1 elements; count is how
	// many it has (a batch over the limit is refused, so the rest are
	// counted, not kept).
	items []batchItem
	count int
}

func parseSegmentBatch(r *http.Request, body []byte, _ Type) (*parsedBatch, string, *apiError) {
	env, apiErr := parseSegmentEnvelope(body)
	if apiErr != nil {
		return nil, "", apiErr
	}
	sentAt, err := timestampValue(env.sentAt)
	if err != nil {
		return nil, "", badRequest("BAD_REQUEST", "sentAt %v", err)
	}
	batchContext, ok := readContext(env.context)
	if !ok {
		return nil, "", badRequest("BAD_REQUEST", "context must be a JSON object")
	}
	defaults := segmentDefaults{context: batchContext, sentAt: sentAt}
	bodyKey := textValue(env.writeKey)
	for i := 0; bodyKey == "" && i < len(env.items); i++ {
		bodyKey = textValue(env.items[i].fields.writeKey)
	}
	key := requestKey(r, bodyKey)
	parsed := &parsedBatch{msgs: make([]Message, 0, len(env.items)), origins: make([]int, 0, len(env.items))}
	for i, item := range env.items {
		messageID := textValue(item.fields.messageID)
		switch {
		case !item.isMessage:
			parsed.reject(i, "", "message", "must be a JSON object")
		case len(item.raw) > MaxMessageBytes:
			parsed.reject(i, messageID, "message", "is %d bytes; the limit is %d", len(item.raw), MaxMessageBytes)
		case parsed.rejectBadText(i, messageID, item.raw):
		default:
			m, field, err := segmentMessage(item.fields, "", defaults, key)
			if err != nil {
				parsed.reject(i, messageID, field, "%v", err)
				continue
			}
			parsed.add(i, m)
		}
	}
	return parsed, key, nil
}

// batchItem is one element of a batch's array, its members picked.
type batchItem struct {
	raw       []byte
	fields    segmentFields
	isMessage bool // an object
}

// parseSegmentEnvelope validates a batch body and picks it apart in one
// walk, the messages' members with it. It refuses the body whole, as a
// JSON decoder would, when it is malformed, not an object, or without a
// batch array of at most MaxBatchSize messages.
func parseSegmentEnvelope(body []byte) (segmentEnvelope, *apiError) {
	var env segmentEnvelope
	if apiErr := malformedBody(body); apiErr != nil {
		return env, apiErr
	}
	// SDKs' messages are a few hundred bytes: room for one per 384 bytes
	// saves growing the slice by copies, most of the time.
	env.items = make([]batchItem, 0, min(len(body)/384+1, MaxBatchSize+1))
	isObject := scanMembers(body, func(key, rest []byte) int {
		if string(key) == "batch" {
			env.batch, env.items, env.count = scanBatch(rest, env.items[:0])
			return len(env.batch)
		}
		value := rest[:valueEnd(rest, 0)]
		switch string(key) {
		case "context":
			env.context = value
		case "sentAt":
			env.sentAt = value
		case "writeKey":
			env.writeKey = value
		}
		return len(value)
	}) >= 0
	switch kind := jsonKind(body); {
	case !isObject && kind != "null":
		return env, notAnObject(kind)
	case isNull(env.batch):
		return env, badRequest("BAD_REQUEST", `the body has no "batch" array of messages`)
	case jsonKind(env.batch) != "array":
		return env, badRequest("MALFORMED_JSON", "batch must not be a JSON %s", jsonKind(env.batch))
	case env.count > MaxBatchSize:
		return env, badRequest("BATCH_TOO_LARGE", "the batch has %d messages; the limit is %d", env.count, MaxBatchSize)
	}
	for _, member := range [...]struct {
		name string
		raw  []byte
	}{{"context", env.context}, {"sentAt", env.sentAt}, {"writeKey", env.writeKey}} {
		if offset, reason := textFault(member.raw); offset >= 0 {
			return env, badRequest("BAD_TEXT", "%s %s", member.name, reason)
		}
	}
	return env, nil
}

// scanBatch reads the batch value at the start of rest: it returns the
// value and, when it is an array, its first MaxBatchSize+1 items appended
// to items, and its length. Elements past the limit are only measured:
// 500 KB of "{}," is 170,000 of them, and keeping each would cost a
// hundred times the body.
func scanBatch(rest []byte, items []batchItem) ([]byte, []batchItem, int) {
	count := 0
	n := scanElements(rest, func(element []byte) int {
		if count++; count > MaxBatchSize+1 {
			return valueEnd(element, 0)
		}
		fields, n := readSegmentFields(element)
		isMessage := n >= 0
		if !isMessage {
			n = valueEnd(element, 0)
		}
		items = append(items, batchItem{raw: element[:n], fields: fields, isMessage: isMessage})
		return n
	})
	if n < 0 {
		n = valueEnd(rest, 0)
	}
	return rest[:n], items, count
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
	// What SDKs send (JavaScript's toISOString, Go's RFC 3339) takes
	// time.Parse's fast path for RFC 3339; the layouts below cover the rest.
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range timestampLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 timestamp such as %q", s, "2024-03-01T12:00:00.000Z")
}

package ingest

import (
	"errors"
	"fmt"
	"strings"
)

// segmentFields are the members of one message that Pulse reads, as raw
// JSON values; nil when absent. A repeated key keeps its last value, as
// decoding into a map would.
type segmentFields struct {
	typ, writeKey, userID, anonymousID, previousID, groupID, messageID []byte
	event, name, properties, traits, context, timestamp, sentAt        []byte
}

// readSegmentFields picks the members of the message at the start of raw
// (valid JSON from there on, as scanMembers takes it) and returns the
// message's length, or -1 when it is not an object.
func readSegmentFields(raw []byte) (segmentFields, int) {
	var f segmentFields
	n := scanMembers(raw, func(key, rest []byte) int {
		value := rest[:valueEnd(rest, 0)]
		switch string(key) {
		case "type":
			f.typ = value
		case "writeKey":
			f.writeKey = value
		case "userId":
			f.userID = value
		case "anonymousId":
			f.anonymousID = value
		case "previousId":
			f.previousID = value
		case "groupId":
			f.groupID = value
		case "messageId":
			f.messageID = value
		case "event":
			f.event = value
		case "name":
			f.name = value
		case "properties":
			f.properties = value
		case "traits":
			f.traits = value
		case "context":
			f.context = value
		case "timestamp":
			f.timestamp = value
		case "sentAt":
			f.sentAt = value
		}
		return len(value)
	})
	return f, n
}

// segmentMessage normalises one Segment message. typ is the type the
// endpoint implies, "" in a batch (the message's "type" then says). It
// returns the offending field with an error for an invalid message.
func segmentMessage(fields segmentFields, typ Type, defaults segmentDefaults, requestKey string) (Message, string, error) {
	m := Message{Type: typ}
	if typ == "" {
		t, ok := jsonString(fields.typ)
		if !ok {
			return m, "type", errors.New("is required: one of track, page, screen, identify, group or alias")
		}
		m.Type = Type(strings.ToLower(strings.TrimSpace(t)))
	}
	if key := textValue(fields.writeKey); key != "" && key != requestKey {
		return m, "writeKey", errors.New("differs from the key of the request; send one project's messages per request")
	}
	if field, err := readStrings(fields, &m); err != nil {
		return m, field, err
	}
	if fields.properties != nil {
		if !isObject(fields.properties) {
			return m, "properties", errors.New("must be a JSON object")
		}
		// Stored as the client wrote it: numbers keep their digits, and
		// the largest part of every message is never decoded.
		m.RawProperties = fields.properties
	}
	var err error
	if m.Traits, err = decodeObject(fields.traits); err != nil {
		return m, "traits", err
	}
	ctx, ok := readContext(fields.context)
	if !ok {
		return m, "context", errors.New("must be a JSON object")
	}
	m.Context = mergeContext(ctx, defaults.context)
	if m.Timestamp, err = timestampValue(fields.timestamp); err != nil {
		return m, "timestamp", err
	}
	if m.SentAt, err = timestampValue(fields.sentAt); err != nil {
		return m, "sentAt", err
	}
	if m.SentAt.IsZero() {
		m.SentAt = defaults.sentAt
	}
	return m, "", nil
}

// readStrings reads a message's ids (strings or numbers) and names
// (strings) into m, or returns the field that is neither.
func readStrings(fields segmentFields, m *Message) (string, error) {
	for _, id := range [...]struct {
		name string
		raw  []byte
		dst  *string
	}{
		{"userId", fields.userID, &m.UserID}, {"anonymousId", fields.anonymousID, &m.AnonymousID},
		{"previousId", fields.previousID, &m.PreviousID}, {"groupId", fields.groupID, &m.GroupID},
		{"messageId", fields.messageID, &m.MessageID},
	} {
		v, ok := idValue(id.raw)
		if !ok {
			return id.name, errors.New("must be a string")
		}
		*id.dst = v
	}
	for _, name := range [...]struct {
		name string
		raw  []byte
		dst  *string
	}{{"event", fields.event, &m.Event}, {"name", fields.name, &m.Name}} {
		s, ok := jsonString(name.raw)
		if !ok && !isNull(name.raw) {
			return name.name, errors.New("must be a string")
		}
		*name.dst = s
	}
	return "", nil
}

// decodeObject decodes a raw JSON object (nil or null: none) with plain Go
// numbers, as traits are merged and compared as values.
func decodeObject(raw []byte) (map[string]any, error) {
	if raw == nil || jsonKind(raw) == "null" {
		return nil, nil
	}
	if jsonKind(raw) != "object" {
		return nil, errors.New("must be a JSON object")
	}
	var v map[string]any
	if err := decodeJSON(raw, &v); err != nil {
		return nil, fmt.Errorf("must be a JSON object: %w", err)
	}
	return plainJSON(v).(map[string]any), nil
}

// readContext reads what Pulse uses of a Segment context object: nil or
// null is an empty one; it reports false for anything but an object.
func readContext(raw []byte) (Context, bool) {
	var c Context
	if raw == nil || jsonKind(raw) == "null" {
		return c, true
	}
	ok := members(raw, func(key, value []byte) {
		switch string(key) {
		case "userAgent":
			c.UserAgent = textValue(value)
		case "device":
			c.DeviceType = textValue(member(value, "type"))
		case "os":
			c.OSName = textValue(member(value, "name"))
		}
	})
	return c, ok
}

// member returns the raw value of key in the JSON object raw (the last one
// if repeated), or nil when raw is not an object or has no such key.
func member(raw []byte, key string) []byte {
	var found []byte
	members(raw, func(k, value []byte) {
		if string(k) == key {
			found = value
		}
	})
	return found
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

package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// maxFutureSkew is how far in the future a corrected timestamp may be before
// the message is refused: a client clock that is this wrong is lying.
const maxFutureSkew = 24 * time.Hour

// prepared is a validated message with its corrected time and stored form.
type prepared struct {
	Message
	index      int
	at         time.Time // corrected timestamp
	properties []byte    // JSON
	traits     map[string]any
}

// prepare validates m and corrects its clock; receivedAt is when Pulse got it.
func prepare(index int, m Message, receivedAt time.Time) (prepared, *Rejection) {
	reject := func(field, format string, args ...any) (prepared, *Rejection) {
		return prepared{}, &Rejection{Index: index, MessageID: m.MessageID, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	switch m.Type {
	case TypeTrack, TypePage, TypeScreen, TypeIdentify, TypeGroup, TypeAlias:
	default:
		return reject("type", "unknown type %q (want track, page, screen, identify, group or alias)", m.Type)
	}
	m.UserID, m.AnonymousID = strings.TrimSpace(m.UserID), strings.TrimSpace(m.AnonymousID)
	for _, id := range [...]struct{ field, value string }{
		{"userId", m.UserID}, {"anonymousId", m.AnonymousID}, {"previousId", m.PreviousID}, {"messageId", m.MessageID}, {"groupId", m.GroupID},
	} {
		if len(id.value) > maxIDLength {
			return reject(id.field, "longer than %d characters", maxIDLength)
		}
	}
	switch {
	case m.Type == TypeAlias && (m.UserID == "" || strings.TrimSpace(m.PreviousID) == ""):
		return reject("previousId", "alias needs userId and previousId")
	case m.UserID == "" && m.AnonymousID == "":
		return reject("userId", "userId or anonymousId is required")
	case m.Type == TypeTrack && strings.TrimSpace(m.Event) == "":
		return reject("event", "track needs an event name")
	case m.Type == TypeGroup && strings.TrimSpace(m.GroupID) == "":
		return reject("groupId", "group needs a groupId")
	case len(m.Event) > maxNameLength || len(m.Name) > maxNameLength:
		return reject("event", "event and page names are at most %d characters", maxNameLength)
	}
	if field, reason := unstorable(m); reason != "" {
		return reject(field, "%s", reason)
	}
	properties, err := storedProperties(m)
	if err != nil {
		return reject("properties", "%v", err)
	}
	if len(properties) > MaxMessageBytes {
		return reject("properties", "%d bytes; a message is at most %d", len(properties), MaxMessageBytes)
	}
	p := prepared{Message: m, index: index, properties: properties, traits: m.Traits}
	p.at = correctClock(m.Timestamp, m.SentAt, receivedAt)
	if p.at.After(receivedAt.Add(maxFutureSkew)) {
		return reject("timestamp", "%s is more than %s in the future", m.Timestamp.Format(time.RFC3339), maxFutureSkew)
	}
	if p.MessageID == "" {
		p.MessageID = deriveMessageID(m, properties)
	}
	return p, nil
}

// unstorable finds a text (see textFault) or a number (see
// numberFault) of m that PostgreSQL cannot store: the field and the
// reason, or reason "". The HTTP APIs have checked the texts of their raw
// messages already; this covers numbers and every other caller.
func unstorable(m Message) (field, reason string) {
	for _, s := range [...]struct{ field, value string }{
		{"userId", m.UserID}, {"anonymousId", m.AnonymousID}, {"previousId", m.PreviousID}, {"groupId", m.GroupID},
		{"messageId", m.MessageID}, {"event", m.Event}, {"name", m.Name},
	} {
		if reason := stringFault(s.value); reason != "" {
			return s.field, reason
		}
	}
	if m.RawProperties != nil {
		if offset, reason := textFault(m.RawProperties); offset >= 0 {
			return "properties", reason
		}
		if mayHoldBadNumber(m.RawProperties) && validJSON(m.RawProperties) {
			if field, ok := numberPath(m.RawProperties, "properties"); ok {
				return field, reasonNumber
			}
		}
	} else if field, reason := valueFault(m.Properties, "properties"); reason != "" {
		return field, reason
	}
	return valueFault(m.Traits, "traits")
}

// correctClock applies Segment's clock-skew correction: the client's clock
// may be wrong, but the time between the event and its sending is right, so
// timestamp = receivedAt - (sentAt - timestamp).
func correctClock(timestamp, sentAt, receivedAt time.Time) time.Time {
	switch {
	case timestamp.IsZero():
		return receivedAt
	case sentAt.IsZero():
		return timestamp
	}
	return receivedAt.Add(-sentAt.Sub(timestamp))
}

// deriveMessageID gives a message without an id a stable one from its
// content, so that a retried identical payload is still stored once.
func deriveMessageID(m Message, properties []byte) string {
	h := sha256.New()
	for _, part := range []string{string(m.Type), m.UserID, m.AnonymousID, m.Event, m.Name, m.Timestamp.UTC().Format(time.RFC3339Nano), string(properties)} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return "derived-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// storedProperties is the JSON stored for m's properties; page and screen
// names are added as properties.name unless the client set one.
func storedProperties(m Message) ([]byte, error) {
	named := (m.Type == TypePage || m.Type == TypeScreen) && m.Name != ""
	if m.RawProperties != nil && !named {
		if !isObject(m.RawProperties) {
			return nil, fmt.Errorf("must be a JSON object")
		}
		return m.RawProperties, nil
	}
	properties := m.Properties
	if m.RawProperties != nil {
		properties = nil
		if err := json.Unmarshal(m.RawProperties, &properties); err != nil {
			return nil, fmt.Errorf("must be a JSON object")
		}
	}
	if named {
		if _, ok := properties["name"]; !ok {
			properties = withName(properties, m.Name)
		}
	}
	return encodeObject(properties)
}

// isObject reports whether raw (valid JSON) is an object or null.
func isObject(raw []byte) bool {
	trimmed := bytes.TrimSpace(raw)
	return len(trimmed) > 0 && (trimmed[0] == '{' || bytes.Equal(trimmed, []byte("null")))
}

func encodeObject(v map[string]any) ([]byte, error) {
	if len(v) == 0 {
		return []byte("{}"), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("not representable as JSON: %w", err)
	}
	return b, nil
}

// withName returns a copy of properties with the page or screen name, so the
// caller's map is never changed.
func withName(properties map[string]any, name string) map[string]any {
	out := make(map[string]any, len(properties)+1)
	for k, v := range properties {
		out[k] = v
	}
	out["name"] = name
	return out
}

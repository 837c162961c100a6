package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
)

// segmentTrack sends a message as Segment spec track calls, one per user,
// "Audience Entered" or "Audience Exited", in one request to the Tracking
// API's /v1/batch with the write key as the Basic-auth user: what Segment
// Engage sends for an audience, so the tools downstream of Segment (or
// RudderStack, or another Pulse) take memberships unchanged. The calls are
// derived from the stored message alone, so every attempt sends the same
// calls, with the same messageIds (the receiver's deduplication key).
type segmentTrack struct{}

var _ destination = segmentTrack{}

// storedBody is the part of a message's body the track calls are made of.
type storedBody struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Data      struct {
		Segment struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"segment"`
		Run struct {
			Seq *int `json:"seq"`
		} `json:"run"`
		Users []struct {
			ID         string  `json:"id"`
			ExternalID *string `json:"externalId"`
		} `json:"users"`
	} `json:"data"`
}

// trackCall is one Segment spec track call.
type trackCall struct {
	Type       string         `json:"type"`
	Event      string         `json:"event"`
	UserID     string         `json:"userId"`
	MessageID  string         `json:"messageId"`
	Timestamp  string         `json:"timestamp"`
	Properties map[string]any `json:"properties"`
	Context    map[string]any `json:"context"`
}

func (segmentTrack) request(ctx context.Context, e endpoint, m message, _ time.Time) (*http.Request, error) {
	if e.writeKey == nil || *e.writeKey == "" {
		return nil, errors.New("the endpoint has no write key")
	}
	body, err := trackBatch(m)
	if err != nil || body == nil {
		return nil, err // nil, nil: no user of the message has a userId
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, batchURL(e.url), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("request to endpoint %d: %w", e.id, err)
	}
	req.SetBasicAuth(*e.writeKey, "")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	return req, nil
}

// batchURL is the batch call of a Tracking API: the endpoint's URL is its
// base (https://api.segment.io) or, as given by some, the call itself.
func batchURL(base string) string {
	base = strings.TrimRight(base, "/")
	if strings.HasSuffix(base, "/v1/batch") {
		return base
	}
	return base + "/v1/batch"
}

// trackBatch is the /v1/batch body of a message: a track call per user
// with an external id (Segment needs a userId; a user a merge deleted has
// none left).
func trackBatch(m message) ([]byte, error) {
	var b storedBody
	if err := json.Unmarshal(m.body, &b); err != nil {
		return nil, fmt.Errorf("message %s: %w", m.webhookID, err)
	}
	event := map[string]string{TypeEntered: "Audience Entered", TypeExited: "Audience Exited"}[b.Type]
	if event == "" {
		return nil, fmt.Errorf("message %s: a %s has no Segment call", m.webhookID, b.Type)
	}
	key := AudienceKey(b.Data.Segment.Name, b.Data.Segment.ID)
	calls := make([]trackCall, 0, len(b.Data.Users))
	for _, u := range b.Data.Users {
		if u.ExternalID == nil || *u.ExternalID == "" {
			continue
		}
		calls = append(calls, trackCall{
			Type: "track", Event: event, UserID: *u.ExternalID,
			MessageID: m.webhookID + "-" + u.ID, Timestamp: b.Timestamp,
			Properties: map[string]any{
				"audience_key": key, "audience_id": b.Data.Segment.ID, "seq": b.Data.Run.Seq,
				// Engage's own calls carry the membership under the key too.
				key: b.Type == TypeEntered,
			},
			Context: map[string]any{
				"library":  map[string]string{"name": "pulse", "version": "1.0"},
				"personas": map[string]string{"computation_class": "audience", "computation_id": b.Data.Segment.ID, "computation_key": key},
			},
		})
	}
	if len(calls) == 0 {
		return nil, nil
	}
	return json.Marshal(map[string]any{"batch": calls})
}

// AudienceKey is the audience_key of a segment: its name in snake_case
// ("Power users (EU)" is power_users_eu), as Segment keys audiences, or
// segment_<id> for a name with no letter or digit.
func AudienceKey(name, id string) string {
	var b strings.Builder
	underscore := false
	for _, r := range strings.ToLower(name) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if underscore && b.Len() > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
			underscore = false
			continue
		}
		underscore = true
	}
	if b.Len() == 0 {
		return "segment_" + id
	}
	return b.String()
}

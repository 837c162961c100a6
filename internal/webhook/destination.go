package webhook

import (
	"context"
	"net/http"
	"time"

	"github.com/pulse-analytics/pulse/ent/webhookendpoint"
)

// destination is how one kind of endpoint is sent a message: each kind is
// one file with one implementation, and TestEveryKindHasADestination fails
// when a kind of the schema has none.
type destination interface {
	// request is the HTTP request of one attempt at sending m to e at time
	// at. The same message makes the same request on every attempt but for
	// what the attempt's time changes (a signature's timestamp). A nil
	// request with no error means there is nothing to send: the message is
	// delivered as it is.
	request(ctx context.Context, e endpoint, m message, at time.Time) (*http.Request, error)
}

// destinations are the kinds of endpoint and how each is sent to.
var destinations = map[webhookendpoint.Kind]destination{
	webhookendpoint.KindWEBHOOK:       standardWebhook{},
	webhookendpoint.KindSEGMENT_TRACK: segmentTrack{},
}

// endpoint is what a delivery reads of a webhook endpoint.
type endpoint struct {
	id, projectID  int
	kind           webhookendpoint.Kind
	url            string
	secret         string
	previousSecret *string
	previousUntil  *time.Time
	writeKey       *string
	disabledAt     *time.Time
	failingSince   *time.Time
}

// secrets are the secrets that sign a message sent at: the current one,
// and during a rotation's overlap the previous one too.
func (e endpoint) secrets(at time.Time) []string {
	if e.previousSecret != nil && e.previousUntil != nil && at.Before(*e.previousUntil) {
		return []string{e.secret, *e.previousSecret}
	}
	return []string{e.secret}
}

// message is what a delivery reads of a pending message.
type message struct {
	id            int
	webhookID     string
	typ           string
	seq           int
	body          []byte
	attempts      int
	nextAttemptAt *time.Time
}

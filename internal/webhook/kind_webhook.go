package webhook

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"
)

// standardWebhook posts the message's body as it is stored, signed per
// Standard Webhooks 1.0: the same webhook-id on every attempt, the
// attempt's timestamp, one signature per current secret.
type standardWebhook struct{}

var _ destination = standardWebhook{}

func (standardWebhook) request(ctx context.Context, e endpoint, m message, at time.Time) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(m.body))
	if err != nil {
		return nil, fmt.Errorf("request to endpoint %d: %w", e.id, err)
	}
	if err := Sign(req.Header, m.webhookID, at, m.body, e.secrets(at)...); err != nil {
		return nil, fmt.Errorf("endpoint %d: %w", e.id, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	return req, nil
}

// userAgent names Pulse to receivers.
const userAgent = "Pulse-Webhooks/1.0"

package webhook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// The outcomes of an attempt, as OnAttempt and the metrics name them.
const (
	// OutcomeDelivered: the receiver answered 2xx.
	OutcomeDelivered = "delivered"
	// OutcomeFailed: the attempt failed; the message will be retried.
	OutcomeFailed = "failed"
	// OutcomeGaveUp: the message's last attempt failed; it is FAILED.
	OutcomeGaveUp = "gave_up"
	// OutcomeDisabled: the attempt disabled the endpoint (410 Gone, or
	// failing for DisableAfter); its pending messages are FAILED.
	OutcomeDisabled = "disabled"
)

// Outcomes lists every outcome, for metrics to show them all from the start.
var Outcomes = []string{OutcomeDelivered, OutcomeFailed, OutcomeGaveUp, OutcomeDisabled}

// sent is how one attempt went.
type sent struct {
	status  int // 0: no response
	header  http.Header
	body    string
	err     error
	latency time.Duration
	// nothing: the destination had nothing to send (delivered as it is).
	nothing bool
}

func (s sent) delivered() bool {
	return s.nothing || (s.err == nil && s.status >= 200 && s.status < 300)
}

// send makes the attempt's request and reads its answer.
func (w *deliverWorker) send(ctx context.Context, e endpoint, m message, at time.Time) sent {
	dest, ok := destinations[e.kind]
	if !ok {
		return sent{err: fmt.Errorf("endpoint kind %q has no destination", e.kind)}
	}
	req, err := dest.request(ctx, e, m, at)
	if err != nil {
		return sent{err: err}
	}
	if req == nil {
		return sent{nothing: true}
	}
	start := time.Now()
	res, err := w.opts.Client.Do(req)
	if err != nil {
		return sent{err: err, latency: time.Since(start)}
	}
	defer func() { _ = res.Body.Close() }()
	body := readSnippet(res)
	return sent{status: res.StatusCode, header: res.Header, body: body, latency: time.Since(start)}
}

// errorText is what the delivery log says of an attempt that failed
// without a 2xx, or "" when the status says it all. A transport error is
// given without the URL, which may carry a receiver's token.
func (s sent) errorText() string {
	var urlErr *url.Error
	switch {
	case s.err != nil && errors.As(s.err, &urlErr):
		return urlErr.Op + ": " + urlErr.Err.Error()
	case s.err != nil:
		return s.err.Error()
	case s.status >= 300 && s.status < 400:
		return "redirects are not followed"
	}
	return ""
}

// record writes the attempt and the message's new state, and the
// endpoint's health, in tx; it returns the outcome.
func (w *deliverWorker) record(ctx context.Context, tx *sql.Tx, e endpoint, m message, s sent, now time.Time) (string, error) {
	if !s.nothing {
		var status *int
		if s.status != 0 {
			status = &s.status
		}
		var errText *string
		if text := s.errorText(); text != "" {
			errText = &text
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO webhook_attempts (project_id, message_id, endpoint_id, at, status_code, latency_ms, response_body, error)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			e.projectID, m.id, e.id, now, status, s.latency.Milliseconds(), s.body, errText); err != nil {
			return "", fmt.Errorf("record attempt of message %d: %w", m.id, err)
		}
	}
	switch {
	case s.delivered():
		return OutcomeDelivered, delivered(ctx, tx, e.id, m.id, s.nothing, now)
	case s.status == http.StatusGone:
		return OutcomeDisabled, disable(ctx, tx, e.id, m.id, now, "the receiver answered 410 Gone")
	}
	since := now
	if e.failingSince != nil {
		since = *e.failingSince
	}
	if now.Sub(since) >= DisableAfter {
		reason := fmt.Sprintf("failing since %s (%s without a success); the last attempt: %s", since.UTC().Format(time.RFC3339),
			DisableAfter, s.summary())
		return OutcomeDisabled, disable(ctx, tx, e.id, m.id, now, reason)
	}
	delay, retry := w.nextDelay(m.attempts + 1)
	if after, ok := retryAfter(s.header, now); ok && retry && honoursRetryAfter(s.status) {
		delay = after
	}
	var next *time.Time
	state, outcome := "PENDING", OutcomeFailed
	if retry {
		at := now.Add(delay)
		next = &at
	} else {
		state, outcome = "FAILED", OutcomeGaveUp
	}
	if _, err := tx.ExecContext(ctx, `
		WITH message AS (
			UPDATE webhook_messages SET attempts = attempts + 1, state = $2, next_attempt_at = $3 WHERE id = $1
		) UPDATE webhook_endpoints SET failing_since = $5 WHERE id = $4 AND failing_since IS NULL`,
		m.id, state, next, e.id, now); err != nil {
		return "", fmt.Errorf("record failure of message %d: %w", m.id, err)
	}
	return outcome, nil
}

// nextDelay is the schedule's delay after a message's attempts-th attempt.
func (w *deliverWorker) nextDelay(attempts int) (time.Duration, bool) {
	if w.opts.RetrySchedule != nil {
		if attempts >= len(w.opts.RetrySchedule) {
			return 0, false
		}
		return w.opts.RetrySchedule[attempts], true
	}
	return nextDelay(attempts, defaultJitter)
}

// summary is an attempt's answer in a few words, for a disabled reason.
func (s sent) summary() string {
	if s.status != 0 {
		return fmt.Sprintf("HTTP %d", s.status)
	}
	return s.errorText()
}

// delivered marks a message delivered and its endpoint healthy; a message
// with nothing to send was not attempted.
func delivered(ctx context.Context, tx *sql.Tx, endpointID, messageID int, nothingSent bool, now time.Time) error {
	attempted := 1
	if nothingSent {
		attempted = 0
	}
	if _, err := tx.ExecContext(ctx, `
		WITH message AS (
			UPDATE webhook_messages SET attempts = attempts + $4, state = 'DELIVERED', delivered_at = $2, next_attempt_at = NULL WHERE id = $1
		) UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $3 AND failing_since IS NOT NULL`,
		messageID, now, endpointID, attempted); err != nil {
		return fmt.Errorf("record delivery of message %d: %w", messageID, err)
	}
	return nil
}

// disable disables an endpoint with its reason and gives up its pending
// messages, the attempted one (messageID) counted.
func disable(ctx context.Context, tx *sql.Tx, endpointID, messageID int, now time.Time, reason string) error {
	if _, err := tx.ExecContext(ctx, `
		WITH endpoint AS (
			UPDATE webhook_endpoints SET disabled_at = $2, disabled_reason = $3, updated_at = $2 WHERE id = $1
		), attempted AS (
			UPDATE webhook_messages SET attempts = attempts + 1, state = 'FAILED', next_attempt_at = NULL WHERE id = $4
		) UPDATE webhook_messages SET state = 'FAILED', next_attempt_at = NULL
		WHERE endpoint_id = $1 AND state = 'PENDING' AND id <> $4`,
		endpointID, now, reason, messageID); err != nil {
		return fmt.Errorf("disable endpoint %d: %w", endpointID, err)
	}
	return nil
}

package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers of Standard Webhooks 1.0 (https://www.standardwebhooks.com).
const (
	// HeaderID is the message's id: the same on every attempt, so a
	// receiver can drop what it already processed.
	HeaderID = "webhook-id"
	// HeaderTimestamp is the attempt's time, in Unix seconds.
	HeaderTimestamp = "webhook-timestamp"
	// HeaderSignature is one "v1,<base64 signature>" per secret,
	// space-separated.
	HeaderSignature = "webhook-signature"
)

// ErrSignature is returned by Verify when no signature of the message is
// the one its secret makes.
var ErrSignature = errors.New("no matching webhook signature")

// signature is "v1," and the base64 HMAC-SHA256 of "{id}.{timestamp}.{body}".
func signature(key []byte, id string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(nil, timestamp, 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Sign sets the three Standard Webhooks headers of one attempt to send body
// as message id at time at: one signature per secret, in the order given
// (during a rotation, the new secret and the previous one), so a receiver
// holding either verifies it.
func Sign(h http.Header, id string, at time.Time, body []byte, secrets ...string) error {
	if len(secrets) == 0 {
		return errors.New("sign webhook: no secret")
	}
	timestamp := at.Unix()
	signatures := make([]string, len(secrets))
	for i, secret := range secrets {
		key, err := ParseSecret(secret)
		if err != nil {
			return fmt.Errorf("sign webhook: %w", err)
		}
		signatures[i] = signature(key, id, timestamp, body)
	}
	// Header names are case-insensitive (HTTP/2 sends them lowercase);
	// net/http writes them canonicalised, Webhook-Id.
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(timestamp, 10))
	h.Set(HeaderSignature, strings.Join(signatures, " "))
	return nil
}

// DefaultTolerance is how far a message's timestamp may be from the
// receiver's clock, as the reference libraries allow: older messages are
// refused as possible replays.
const DefaultTolerance = 5 * time.Minute

// Verify checks a received message as a Standard Webhooks receiver does:
// its timestamp within tolerance of now, and one of its signatures made by
// secret over its id, timestamp and the exact bytes of body.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	// Receivers' libraries take the secret with or without its prefix.
	if !strings.HasPrefix(secret, SecretPrefix) {
		secret = SecretPrefix + secret
	}
	key, err := ParseSecret(secret)
	if err != nil {
		return fmt.Errorf("verify webhook: %w", err)
	}
	id, rawTimestamp, signatures := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || rawTimestamp == "" || signatures == "" {
		return errors.New("verify webhook: missing webhook-id, webhook-timestamp or webhook-signature")
	}
	timestamp, err := strconv.ParseInt(rawTimestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("verify webhook: timestamp %q: %w", rawTimestamp, err)
	}
	if skew := now.Sub(time.Unix(timestamp, 0)).Abs(); skew > tolerance {
		return fmt.Errorf("verify webhook: timestamp %s from now, more than %s", skew, tolerance)
	}
	want := []byte(signature(key, id, timestamp, body))
	for _, got := range strings.Fields(signatures) {
		if hmac.Equal([]byte(got), want) {
			return nil
		}
	}
	return ErrSignature
}

package webhook_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/webhook"
)

// Secrets as endpoints hold them: whsec_ and the base64 of 32 bytes.
const (
	secretNew   = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	secretOld   = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
	secretOther = "whsec_dGhpcyBpcyBub3QgdGhlIHNlY3JldCBrZXk="
)

// TestSignMatchesTheSpecVector: the signature of the Standard Webhooks
// reference libraries' own test.
func TestSignMatchesTheSpecVector(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	require.NoError(t, webhook.Sign(h, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`), secretNew))
	require.Equal(t, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", h.Get(webhook.HeaderSignature))
	require.Equal(t, "1614265330", h.Get(webhook.HeaderTimestamp))
	require.Equal(t, "msg_p5jXN8AQM9LWM0D4loKWxJek", h.Get(webhook.HeaderID))
}

// TestSignIsVerifiedByTheLibrary: what Sign writes, the official library
// accepts with the endpoint's secret; during a rotation, with either secret;
// and it refuses what a receiver must refuse (another secret, a changed
// byte, a replay from 10 minutes ago). Pulse's own Verify agrees on each.
func TestSignIsVerifiedByTheLibrary(t *testing.T) {
	t.Parallel()
	now := time.Now()
	body := []byte(`{"type":"segment.entered","data":{"users":[{"externalId":"ann \u00e9\n"}]}}`)
	signed := func(at time.Time, secrets ...string) http.Header {
		h := http.Header{}
		require.NoError(t, webhook.Sign(h, "msg_2mK8", at, body, secrets...))
		return h
	}
	rotating := signed(now, secretNew, secretOld)
	require.Len(t, strings.Fields(rotating.Get(webhook.HeaderSignature)), 2, "one signature per secret, space-separated")
	tampered := append([]byte{}, body...)
	tampered[len(tampered)-3] = 'X'
	cases := []struct {
		name string
		msg  received
		ok   bool
	}{
		{"one secret", received{secretNew, signed(now, secretNew), body}, true},
		{"rotation, the new secret", received{secretNew, rotating, body}, true},
		{"rotation, the previous secret", received{secretOld, rotating, body}, true},
		{"another secret", received{secretOther, rotating, body}, false},
		{"a changed byte", received{secretNew, signed(now, secretNew), tampered}, false},
		{"ten minutes old", received{secretNew, signed(now.Add(-10*time.Minute), secretNew), body}, false},
		{"without the prefix", received{strings.TrimPrefix(secretNew, "whsec_"), signed(now, secretNew), body}, true},
	}
	messages := make([]received, len(cases))
	for i, c := range cases {
		messages[i] = c.msg
	}
	verdicts := verifyWithLibrary(t, messages)
	for i, c := range cases {
		goErr := webhook.Verify(c.msg.Secret, c.msg.Headers, c.msg.Body, now, webhook.DefaultTolerance)
		if c.ok {
			require.Equal(t, "ok", verdicts[i], c.name)
			require.NoError(t, goErr, c.name)
		} else {
			require.Contains(t, verdicts[i], "WebhookVerificationError", c.name)
			require.Error(t, goErr, c.name)
		}
	}
}

func TestSignRefusesABadSecret(t *testing.T) {
	t.Parallel()
	for _, secret := range []string{"whsec_not base64!", "whsec_", ""} {
		require.Error(t, webhook.Sign(http.Header{}, "msg_1", time.Now(), nil, secret), secret)
	}
	require.Error(t, webhook.Sign(http.Header{}, "msg_1", time.Now(), nil), "no secret")
}

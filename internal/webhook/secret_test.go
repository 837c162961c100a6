package webhook_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/webhook"
)

func TestNewSecret(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		secret, err := webhook.NewSecret()
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(secret, "whsec_"), secret)
		require.Len(t, secret, len("whsec_")+44, "32 bytes, standard base64 with padding")
		key, err := webhook.ParseSecret(secret)
		require.NoError(t, err)
		require.Len(t, key, 32)
		require.Equal(t, secret[len("whsec_"):], base64.StdEncoding.EncodeToString(key))
		require.False(t, seen[secret], "secrets repeat")
		seen[secret] = true
	}
}

func TestParseSecret(t *testing.T) {
	t.Parallel()
	bytesOf := func(n int) string { return "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, n)) }
	for _, tc := range []struct {
		name, secret, err string
		size              int
	}{
		// The example secret of the Standard Webhooks specification.
		{name: "specification", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", size: 24},
		{name: "24 bytes", secret: bytesOf(24), size: 24},
		{name: "64 bytes", secret: bytesOf(64), size: 64},
		{name: "no prefix", secret: base64.StdEncoding.EncodeToString(make([]byte, 32)), err: "does not start with whsec_"},
		{name: "empty", secret: "", err: "does not start with whsec_"},
		{name: "url base64", secret: "whsec_" + base64.URLEncoding.EncodeToString([]byte{0xfb, 0xff, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21}), err: "not standard base64"},
		{name: "unpadded", secret: strings.TrimRight(bytesOf(32), "="), err: "not standard base64"},
		{name: "too short", secret: bytesOf(23), err: "23 bytes, not 24 to 64"},
		{name: "too long", secret: bytesOf(65), err: "65 bytes, not 24 to 64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			key, err := webhook.ParseSecret(tc.secret)
			if tc.err != "" {
				require.ErrorIs(t, err, webhook.ErrSecret)
				require.ErrorContains(t, err, tc.err)
				if len(tc.secret) > len("whsec_") {
					require.NotContains(t, err.Error(), tc.secret[len("whsec_"):], "errors never quote the secret")
				}
				return
			}
			require.NoError(t, err)
			require.Len(t, key, tc.size)
		})
	}
}

// A secret is shown to the administrator once; the delivery worker signs
// with the key it stands for.
func ExampleParseSecret() {
	key, err := webhook.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	fmt.Println(len(key), err)
	// Output: 24 <nil>
}

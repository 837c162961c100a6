package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// SecretPrefix starts every signing secret, as Standard Webhooks spells it.
const SecretPrefix = "whsec_"

// secretBytes is how much randomness a new secret carries: 256 bits, the
// size of an HMAC-SHA256 block's worth of key that adds no weakness.
const secretBytes = 32

// Standard Webhooks asks for keys of 24 to 64 bytes.
const (
	minSecretBytes = 24
	maxSecretBytes = 64
)

// ErrSecret is wrapped by the errors of ParseSecret.
var ErrSecret = errors.New("not a webhook secret")

// NewSecret returns a new signing secret: SecretPrefix and the standard
// base64 of 32 random bytes, the form receivers' Standard Webhooks
// libraries take as is.
func NewSecret() (string, error) {
	key := make([]byte, secretBytes)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("read random secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// ParseSecret returns the HMAC key of a secret made by NewSecret (or any
// Standard Webhooks secret: the prefix and the standard base64 of 24 to 64
// bytes). Errors wrap ErrSecret and never quote the secret.
func ParseSecret(secret string) ([]byte, error) {
	encoded, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: does not start with %s", ErrSecret, SecretPrefix)
	}
	key, err := base64.StdEncoding.Strict().DecodeString(encoded)
	if err != nil {
		return nil, fmt.Errorf("%w: not standard base64 after %s", ErrSecret, SecretPrefix)
	}
	if len(key) < minSecretBytes || len(key) > maxSecretBytes {
		return nil, fmt.Errorf("%w: %d bytes, not %d to %d", ErrSecret, len(key), minSecretBytes, maxSecretBytes)
	}
	return key, nil
}

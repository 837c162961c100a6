package privacy

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
)

// SaltBytes is the length of a project's privacy salt.
const SaltBytes = 32

// Hash is the salted hash Pulse stores of an external or anonymous id:
// SHA-256 of the project's salt followed by the id's bytes. PostgreSQL
// computes the same with sha256(salt || convert_to(id, 'UTF8')).
func Hash(salt []byte, id string) [sha256.Size]byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(id))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// newSalt returns a fresh random salt.
func newSalt() ([]byte, error) {
	salt := make([]byte, SaltBytes)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("make a privacy salt: %w", err)
	}
	return salt, nil
}

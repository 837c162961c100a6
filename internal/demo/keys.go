package demo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/apikey"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// Keys are the demo project's three API keys, in clear.
type Keys struct {
	Ingest string `json:"ingest"`
	Read   string `json:"read"`
	Admin  string `json:"admin"`
}

func (k Keys) byRole() map[tenant.Role]string {
	return map[tenant.Role]string{tenant.RoleIngest: k.Ingest, tenant.RoleRead: k.Read, tenant.RoleAdmin: k.Admin}
}

// keyFile is what the keys file holds: the keys and the project they open.
type keyFile struct {
	ProjectID int  `json:"projectId"`
	Keys      Keys `json:"keys"`
}

// DefaultKeysFile is where the demo keeps its keys for the database dsn:
// a file of the user's configuration directory, named after a hash of the
// database URL, so demos over different databases do not share keys.
func DefaultKeysFile(dsn string) string {
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = os.TempDir()
	}
	sum := sha256.Sum256([]byte(dsn))
	return filepath.Join(dir, "pulse", "demo-keys-"+hex.EncodeToString(sum[:6])+".json")
}

// loadKeys returns the keys of path when they still open projectID with
// their roles; ok is false when the file is missing or stale.
func loadKeys(ctx context.Context, keys *auth.Keys, path string, projectID int) (Keys, bool, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Keys{}, false, nil
	}
	if err != nil {
		return Keys{}, false, fmt.Errorf("read demo keys: %w", err)
	}
	var f keyFile
	if err := json.Unmarshal(raw, &f); err != nil || f.ProjectID != projectID {
		return Keys{}, false, nil //nolint:nilerr // a file that does not parse is stale: new keys replace it
	}
	for role, secret := range f.Keys.byRole() {
		scope, err := keys.Authenticate(ctx, secret)
		if errors.Is(err, auth.ErrUnauthenticated) || err == nil && (scope.ProjectID != projectID || scope.Role != role) {
			return Keys{}, false, nil
		}
		if err != nil {
			return Keys{}, false, err
		}
	}
	return f.Keys, true, nil
}

// saveKeys writes the keys readable by the current user only.
func saveKeys(path string, projectID int, k Keys) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create the demo keys directory: %w", err)
	}
	raw, err := json.MarshalIndent(keyFile{ProjectID: projectID, Keys: k}, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return fmt.Errorf("write demo keys: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write demo keys: %w", err)
	}
	return nil
}

// demoKeyPrefix names the keys the demo issues, so a rotation revokes only
// those (and the project's initial keys), never keys an admin made.
const demoKeyPrefix = "demo "

// rotateKeys revokes the demo's own keys of projectID and issues three new
// ones: used when the keys file was lost, since only hashes are stored.
func rotateKeys(ctx context.Context, client *ent.Client, projectID int) (Keys, error) {
	scoped := tenant.NewContext(ctx, tenant.Scope{ProjectID: projectID, Role: tenant.RoleAdmin})
	keys := auth.NewKeys(client)
	existing, err := keys.List(scoped, false)
	if err != nil {
		return Keys{}, err
	}
	for _, k := range existing {
		if strings.HasPrefix(k.Name, demoKeyPrefix) || strings.HasPrefix(k.Name, "initial ") {
			if _, err := keys.Revoke(scoped, k.ID); err != nil {
				return Keys{}, err
			}
		}
	}
	var out Keys
	for _, k := range []struct {
		role tenant.Role
		dst  *string
	}{{tenant.RoleIngest, &out.Ingest}, {tenant.RoleRead, &out.Read}, {tenant.RoleAdmin, &out.Admin}} {
		issued, err := keys.Create(scoped, k.role, demoKeyPrefix+strings.ToLower(string(apikey.Role(k.role)))+" key")
		if err != nil {
			return Keys{}, err
		}
		*k.dst = issued.Secret
	}
	return out, nil
}

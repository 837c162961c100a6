package migrate

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"

	atlasmigrate "ariga.io/atlas/sql/migrate"

	"github.com/pulse-analytics/pulse/migrations"
)

// Fingerprint identifies the schema Up builds: a short hex hash of the
// embedded atlas.sum (which covers every Pulse migration) and of River's
// migrations. Two binaries with the same fingerprint build the same schema;
// pgtest names its template database with it.
func Fingerprint() (string, error) {
	sum, err := fs.ReadFile(migrations.FS, atlasmigrate.HashFileName)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", atlasmigrate.HashFileName, err)
	}
	river, err := riverMigrator(nil, slog.New(slog.DiscardHandler))
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write(sum)
	for _, v := range river.AllVersions() {
		fmt.Fprintf(h, "river %d %s\n%s\n", v.Version, v.Name, v.SQLUp)
	}
	return hex.EncodeToString(h.Sum(nil)[:6]), nil
}

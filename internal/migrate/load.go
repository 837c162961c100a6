package migrate

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"

	atlasmigrate "ariga.io/atlas/sql/migrate"
)

// file is one Pulse migration.
type file struct {
	name    string // the file name, e.g. 20261129005716_init.sql
	version string // the name up to the first "_", e.g. 20261129005716
	sql     string
	hash    string // hex SHA-256 of the content, recorded when applied
	// stmts is set for files with the Atlas directive "-- atlas:txmode none":
	// statements such as CREATE INDEX CONCURRENTLY cannot run in a
	// transaction, so they run one by one.
	stmts []string
}

// load reads the migrations of dir in version order and checks them against
// its atlas.sum, so that a file changed or added without regenerating the
// sum is refused before anything runs.
func load(dir fs.FS) ([]file, error) {
	mem := &atlasmigrate.MemDir{}
	entries, err := fs.ReadDir(dir, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || (path.Ext(e.Name()) != ".sql" && e.Name() != atlasmigrate.HashFileName) {
			continue
		}
		body, err := fs.ReadFile(dir, e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		if err := mem.WriteFile(e.Name(), body); err != nil {
			return nil, fmt.Errorf("stage migration %s: %w", e.Name(), err)
		}
	}
	if err := atlasmigrate.Validate(mem); err != nil {
		return nil, sumError(err)
	}
	atlasFiles, err := mem.Files() // sorted by name, which is version order
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	files := make([]file, 0, len(atlasFiles))
	for _, af := range atlasFiles {
		f, err := newFile(af)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

func newFile(af atlasmigrate.File) (file, error) {
	sum := sha256.Sum256(af.Bytes())
	f := file{name: af.Name(), version: af.Version(), sql: string(af.Bytes()), hash: hex.EncodeToString(sum[:])}
	local, ok := af.(*atlasmigrate.LocalFile)
	if !ok {
		return f, nil
	}
	switch mode := local.Directive("txmode"); {
	case len(mode) == 0 || slices.Equal(mode, []string{"file"}):
	case slices.Equal(mode, []string{"none"}):
		stmts, err := local.Stmts()
		if err != nil {
			return file{}, fmt.Errorf("split migration %s into statements: %w", f.name, err)
		}
		f.stmts = stmts
	default:
		return file{}, fmt.Errorf("migration %s: unsupported atlas:txmode %q (use file or none)", f.name, mode)
	}
	return f, nil
}

// sumError explains a mismatch between the migrations and atlas.sum.
func sumError(err error) error {
	var mismatch *atlasmigrate.ChecksumError
	switch {
	case errors.As(err, &mismatch):
		return fmt.Errorf("migration %s was %s without updating %s (migrations are generated: run go generate ./migrations): %w",
			mismatch.File, mismatch.Reason, atlasmigrate.HashFileName, err)
	case errors.Is(err, atlasmigrate.ErrChecksumMismatch):
		return fmt.Errorf("%s does not match the migrations (was it edited by hand? run go generate ./migrations): %w",
			atlasmigrate.HashFileName, err)
	case errors.Is(err, atlasmigrate.ErrChecksumNotFound):
		return fmt.Errorf("migrations have no %s (run go generate ./migrations): %w", atlasmigrate.HashFileName, err)
	default:
		return fmt.Errorf("validate migrations against %s: %w", atlasmigrate.HashFileName, err)
	}
}

package main

import (
	"fmt"
	"path/filepath"

	atlasmigrate "ariga.io/atlas/sql/migrate"
)

// orderedDir is the migration directory as Atlas's planner writes to it. It
// refuses a new migration whose version (a UTC timestamp from the clock)
// does not sort after every existing one: migrate.Up applies files in
// version order, so a migration dated in the past would be skipped on
// databases that are already past it.
type orderedDir struct {
	*atlasmigrate.LocalDir
	latest  string   // the highest existing version
	written []string // the files written, for the report
}

func newOrderedDir(local *atlasmigrate.LocalDir) (*orderedDir, error) {
	files, err := local.Files()
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	d := &orderedDir{LocalDir: local}
	for _, f := range files {
		d.latest = max(d.latest, f.Version())
	}
	return d, nil
}

// WriteFile implements atlasmigrate.Dir.
func (d *orderedDir) WriteFile(name string, b []byte) error {
	if filepath.Ext(name) == ".sql" {
		version := atlasmigrate.NewLocalFile(name, b).Version()
		if version <= d.latest {
			return fmt.Errorf("new migration %s does not sort after the latest, %s: is the clock behind?", name, d.latest)
		}
	}
	if err := d.LocalDir.WriteFile(name, b); err != nil {
		return err
	}
	d.written = append(d.written, filepath.Join(d.Path(), name))
	return nil
}

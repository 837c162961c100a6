// Package migrations holds Pulse's versioned SQL migrations in the Atlas
// format (with atlas.sum), generated from ent/schema and embedded in the
// binary. internal/migrate applies them.
//
// Migrations are only ever added, never edited: `go generate ./migrations`
// (see generate.go) writes a new file when ent/schema changes and nothing
// otherwise.
package migrations

import "embed"

// FS holds the migration files and their atlas.sum.
//
//go:embed *.sql atlas.sum
var FS embed.FS

// Package migrations holds Pulse's versioned SQL migrations (Atlas format,
// with atlas.sum), generated from ent/schema and embedded in the binary.
package migrations

import "embed"

// FS holds the migration files and their atlas.sum.
//
//go:embed *.sql atlas.sum
var FS embed.FS

//go:generate go run ../internal/migrate/gen

package main

import (
	"slices"

	atlas "ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect/sql/schema"
)

// unreferencedTables get no foreign keys. They take a row per event (or per
// user and day) on the ingest path, where each foreign-key check is an index
// probe plus a KEY SHARE lock on the user row that concurrent batches then
// contend on. The ingest transaction resolves every user before writing
// these rows and merges move them explicitly, so the keys would only cost.
// Segment memberships take a row per entering user and a recompute writes
// them in bulk: five checks per user cost about three times the write
// itself. The recompute locks the entering users set-wise (KEY SHARE)
// instead, and merges delete the memberships of the user they delete.
var unreferencedTables = []string{"events", "user_daily_activities", "segment_members", "segment_memberships"}

// withoutForeignKeys removes the foreign keys of tables from the desired
// schema before Atlas diffs it.
func withoutForeignKeys(tables ...string) schema.DiffHook {
	return func(next schema.Differ) schema.Differ {
		return schema.DiffFunc(func(current, desired *atlas.Schema) ([]atlas.Change, error) {
			for _, t := range desired.Tables {
				if slices.Contains(tables, t.Name) {
					t.ForeignKeys = nil
				}
			}
			return next.Diff(current, desired)
		})
	}
}

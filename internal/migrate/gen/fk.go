package main

import (
	"slices"

	atlas "ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect/sql/schema"
)

// tablesWithoutForeignKeys get no foreign keys of their own. They take a
// row per event (or per user and day) on the ingest path, where each
// foreign-key check is an index probe plus a KEY SHARE lock on the user row
// that concurrent batches then contend on. The ingest transaction resolves
// every user before writing these rows and merges move them explicitly, so
// the keys would only cost. Segment memberships take a row per entering
// user and a recompute writes them in bulk: five checks per user cost about
// three times the write itself. The recompute locks the entering users
// set-wise (KEY SHARE) instead; the memberships of a user a merge deletes
// are closed by the next run of each segment. Dirty marks are written on
// the ingest path too, a row per segment and changed user.
//
// Users lose only their key to projects (tables that point at users keep
// theirs): ingest creates users by the thousand, and every check locked the
// one row of their project, KEY SHARE, from every concurrent batch at once,
// which PostgreSQL records as a new multixact each time. That cost about 3%
// of the ingest benchmark's CPU. A user's project_id always comes from the
// authenticated key's project, and projects are never deleted.
var tablesWithoutForeignKeys = []string{"events", "user_daily_activities", "segment_members", "segment_memberships", "users", "segment_dirty_users"}

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

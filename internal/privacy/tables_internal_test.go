package privacy

// ErasedTables are the tables an erasure deletes rows of or rewrites, for
// the test that holds them to the catalog.
func ErasedTables() []string {
	tables := []string{"segment_dirty_users", "discovery_runs", "webhook_messages", "events", "event_messages"}
	for _, t := range userRows {
		tables = append(tables, t.table)
	}
	return tables
}

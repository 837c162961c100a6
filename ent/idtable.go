package ent

// This file is written by hand: the generated code keeps the map from a
// global id's range to its table unexported.

// TableOfID returns the table whose range of global ids holds id: with
// universal ids every table owns its own range of 1<<32 ids, so the type of
// a well-formed id is known before any query. It returns false for an id in
// no table's range.
func TableOfID(id int) (string, bool) {
	if id < 0 {
		return "", false
	}
	table, ok := nodeTypes[id&^(1<<32-1)]
	return table, ok
}

package ent

// This file is written by hand: the generated code keeps the map from a
// global id's range to its table unexported.

import (
	"context"
	"fmt"
)

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

// NodeType resolves the table of a global id for Noder and Noders
// (WithNodeType(NodeType)) by TableOfID, as @idOf checks ids: no
// statement is spent on it. An id in no table's range is not found.
func NodeType(_ context.Context, id int) (string, error) {
	table, ok := TableOfID(id)
	if !ok {
		return "", fmt.Errorf("id %d is in no table's range: %w", id, errNodeInvalidID)
	}
	return table, nil
}

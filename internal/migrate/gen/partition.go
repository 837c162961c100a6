package main

import (
	"fmt"
	"slices"

	"ariga.io/atlas/sql/postgres"
	atlas "ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect/sql/schema"
)

// partitionedTables are the tables range-partitioned on a column, as a
// hand-written migration made them; ent does not model partitioning. Their
// primary key holds the partition column after ent's id, as PostgreSQL
// requires of a unique index on a partitioned table. Atlas's inspection
// leaves the partitions themselves out of the current schema.
var partitionedTables = map[string]string{"events": "timestamp"}

// handManagedTables are tables Pulse creates and drops by hand, outside ent:
// message-id dedup (event_messages) and, while events is being partitioned
// online, the partitioned copy and the copy's progress (internal/partition).
var handManagedTables = []string{"event_messages", "events_partitioned", "events_partition_copy"}

// withPartitions gives the desired schema's partitioned tables their
// partition key and primary key, and takes the hand-managed tables out of
// the current schema, before Atlas diffs them: otherwise every generation
// would plan to drop and recreate what the hand-written migrations made.
func withPartitions(partitioned map[string]string, handManaged []string) schema.DiffHook {
	return func(next schema.Differ) schema.Differ {
		return schema.DiffFunc(func(current, desired *atlas.Schema) ([]atlas.Change, error) {
			current.Tables = slices.DeleteFunc(current.Tables, func(t *atlas.Table) bool {
				return slices.Contains(handManaged, t.Name)
			})
			for name, key := range partitioned {
				t, ok := desired.Table(name)
				if !ok {
					return nil, fmt.Errorf("partitioned table %s is not in the ent schema", name)
				}
				column, ok := t.Column(key)
				if !ok {
					return nil, fmt.Errorf("partition column %s.%s is not in the ent schema", name, key)
				}
				if t.PrimaryKey == nil || slices.ContainsFunc(t.PrimaryKey.Parts, func(p *atlas.IndexPart) bool { return p.C == column }) {
					return nil, fmt.Errorf("table %s: want ent's primary key without %s", name, key)
				}
				t.PrimaryKey.AddColumns(column)
				t.AddAttrs(&postgres.Partition{T: postgres.PartitionTypeRange, Parts: []*postgres.PartitionPart{{C: column}}})
			}
			return next.Diff(current, desired)
		})
	}
}

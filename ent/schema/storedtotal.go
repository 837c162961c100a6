package schema

import "entgo.io/ent/schema"

// StoredTotal annotates a relay-connection edge whose unfiltered
// totalCount the parent stores in Field (e.g. a segment's size for its
// members): the connection reads that field instead of counting the rows,
// which for a large edge is most of the request. The field must be kept
// exactly equal to the edge's row count, in the transactions that change
// the edge. A totalCount with a where filter is still counted.
type StoredTotal struct {
	// Field is the name of the parent's field holding the count.
	Field string
}

var _ schema.Annotation = StoredTotal{}

// Name implements schema.Annotation; the collection template
// (ent/template/gql_collection.tmpl) reads the annotation by it.
func (StoredTotal) Name() string { return "PulseStoredTotal" }

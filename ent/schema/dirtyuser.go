package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// SegmentDirtyUser says that something a segment's rule reads changed for
// one user since the segment last evaluated them: the incremental pass of
// the segment re-evaluates the user and deletes the mark, in one
// transaction. Marks are written in the transaction of the change that
// causes them (ingest, feedback, surveys, merges, membership changes of
// segments referenced by inSegment), or by the sweep of windows that
// passing time moves, and are only ever inserted: a user changed several
// times has a mark of each change until a pass consumes them, which
// deletes exactly those it read. The oldest mark of a segment is its lag.
type SegmentDirtyUser struct {
	ent.Schema
}

// Mixin of the SegmentDirtyUser.
func (SegmentDirtyUser) Mixin() []ent.Mixin {
	return []ent.Mixin{TenantMixin{}}
}

// Fields of the SegmentDirtyUser.
func (SegmentDirtyUser) Fields() []ent.Field {
	return []ent.Field{
		field.Int("segment_id").Immutable(),
		field.Int("user_id").Immutable(),
		field.Time("marked_at").Default(time.Now).Immutable(),
	}
}

// Indexes of the SegmentDirtyUser.
func (SegmentDirtyUser) Indexes() []ent.Index {
	return []ent.Index{
		// A pass's range of one segment's marks, in user order.
		index.Fields("segment_id", "user_id"),
	}
}

// Annotations of the SegmentDirtyUser.
func (SegmentDirtyUser) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entsql.Annotation{Table: "segment_dirty_users"},
		entgql.Skip(),
	}
}

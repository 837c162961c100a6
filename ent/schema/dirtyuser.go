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
// passing time moves. A mark that exists keeps its first time: the oldest
// change not yet reflected, which is the segment's lag.
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
		field.Bool("taken").Default(false).
			Comment("a pass took the mark and is evaluating the user; a change meanwhile clears it, so the pass leaves the mark for the next"),
	}
}

// Indexes of the SegmentDirtyUser.
func (SegmentDirtyUser) Indexes() []ent.Index {
	return []ent.Index{
		// The marking upsert's conflict target, and a pass's range of one
		// segment's marks.
		index.Fields("segment_id", "user_id").Unique(),
	}
}

// Annotations of the SegmentDirtyUser.
func (SegmentDirtyUser) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entsql.Annotation{Table: "segment_dirty_users"},
		entgql.Skip(),
	}
}

package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// SegmentMember is the current membership of a user in a segment: one row
// while the user is in, none otherwise. It mirrors the open intervals of
// SegmentMembership, written in the same transaction, so that "members now"
// (segment.members, user.segments, inSegment rules) is a primary-key lookup
// instead of a scan of the whole history.
type SegmentMember struct {
	ent.Schema
}

// Fields of the SegmentMember.
func (SegmentMember) Fields() []ent.Field {
	return []ent.Field{
		field.Int("segment_id"),
		field.Int("user_id"),
		field.Time("entered_at").Default(time.Now),
	}
}

// Edges of the SegmentMember.
func (SegmentMember) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("segment", Segment.Type).Field("segment_id").Unique().Required().
			Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("user", User.Type).Field("user_id").Unique().Required().
			Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the SegmentMember.
func (SegmentMember) Indexes() []ent.Index {
	// user.segments: the segments one user is in.
	return []ent.Index{index.Fields("user_id")}
}

// Annotations of the SegmentMember.
func (SegmentMember) Annotations() []schema.Annotation {
	return []schema.Annotation{
		field.ID("segment_id", "user_id"),
		entgql.Skip(),
	}
}

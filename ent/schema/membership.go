package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// SegmentMembership is one interval a user spent in a segment: exited_at is
// NULL while the user is still in. The intervals are the membership history
// ("who was in the segment on March 3rd").
type SegmentMembership struct {
	ent.Schema
}

// Mixin of the SegmentMembership.
func (SegmentMembership) Mixin() []ent.Mixin {
	return []ent.Mixin{TenantMixin{}}
}

// Fields of the SegmentMembership.
func (SegmentMembership) Fields() []ent.Field {
	return []ent.Field{
		field.Int("segment_id").Immutable().Annotations(entgql.Skip(entgql.SkipType)),
		field.Int("user_id").Immutable().Annotations(entgql.Skip(entgql.SkipType)),
		field.Time("entered_at").Immutable().
			Annotations(entgql.OrderField("ENTERED_AT")),
		field.Time("exited_at").Optional().Nillable().
			Annotations(entgql.OrderField("EXITED_AT")),
		field.Int("entered_run_id").Optional().Nillable().Immutable().
			Annotations(entgql.MapsTo("enteredRunId")),
		field.Int("exited_run_id").Optional().Nillable().
			Annotations(entgql.MapsTo("exitedRunId")),
	}
}

// Edges of the SegmentMembership.
func (SegmentMembership) Edges() []ent.Edge {
	return []ent.Edge{
		projectEdge("segment_memberships"),
		edge.From("segment", Segment.Type).Ref("memberships").Field("segment_id").
			Unique().Required().Immutable(),
		edge.From("user", User.Type).Ref("memberships").Field("user_id").
			Unique().Required().Immutable(),
	}
}

// Indexes of the SegmentMembership.
func (SegmentMembership) Indexes() []ent.Index {
	return []ent.Index{
		// The recompute diff closes the open interval of each user who left;
		// at most one interval per (segment, user) is open.
		index.Fields("segment_id", "user_id").Unique().
			Annotations(entsql.IndexWhere("exited_at IS NULL")),
		// Point-in-time membership and size history: intervals overlapping an instant.
		index.Fields("segment_id", "entered_at"),
		// user.memberships.
		index.Fields("user_id", "entered_at"),
		// A run's delta for live subscribers (run.entered / run.exited, by
		// user id): without them a run's users are a scan of the segment's
		// whole history.
		index.Fields("entered_run_id", "user_id").
			Annotations(entsql.IndexWhere("entered_run_id IS NOT NULL")),
		index.Fields("exited_run_id", "user_id").
			Annotations(entsql.IndexWhere("exited_run_id IS NOT NULL")),
	}
}

// Annotations of the SegmentMembership.
func (SegmentMembership) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
	}
}

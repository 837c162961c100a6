package schema

import (
	"encoding/json"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Segment is a named group of users: DYNAMIC segments are defined by a rule
// and recomputed by jobs, STATIC ones are edited by hand.
type Segment struct {
	ent.Schema
}

// Mixin of the Segment.
func (Segment) Mixin() []ent.Mixin {
	return []ent.Mixin{TenantMixin{}, TimeMixin{}}
}

// Fields of the Segment.
func (Segment) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(200).
			Annotations(entgql.OrderField("NAME")),
		field.Text("description").Default(""),
		field.Enum("kind").Values("DYNAMIC", "STATIC").Default("DYNAMIC").Immutable(),
		field.JSON("rule", json.RawMessage{}).Optional().
			Annotations(entgql.Type("JSON")).
			Comment("the validated rule tree as JSON; empty for STATIC segments"),
		field.Int("refresh_interval_seconds").Default(900).Positive(),
		field.Enum("status").Values("PENDING", "COMPUTING", "READY", "FAILED").Default("PENDING").
			Annotations(entgql.OrderField("STATUS")),
		field.Int("size").Default(0).NonNegative().
			Annotations(entgql.OrderField("SIZE")),
		field.Time("last_computed_at").Optional().Nillable().
			Annotations(entgql.OrderField("LAST_COMPUTED_AT")),
		field.Text("last_error").Optional().Nillable(),
		field.Int("definition_version").Default(1).Positive(),
		field.Time("archived_at").Optional().Nillable(),
		field.Bool("realtime").Default(true).
			Comment("the segment moves as its data changes; off: only by scheduled full recomputes"),
		field.Strings("realtime_sources").Optional().
			Annotations(entgql.Skip()).
			Comment("the changes that mark a user dirty for the segment (kind:name, see segment.Sources); empty unless realtime is in effect"),
		field.Time("swept_at").Optional().Nillable().
			Annotations(entgql.Skip()).
			Comment("the instant up to which windows passing time have been swept into dirty marks"),
	}
}

// Edges of the Segment.
func (Segment) Edges() []ent.Edge {
	return []ent.Edge{
		projectEdge("segments"),
		edge.To("members", User.Type).
			Through("current_memberships", SegmentMember.Type).
			// The recompute that writes segment_members sets size in the
			// same transaction.
			Annotations(entgql.RelayConnection(), StoredTotal{Field: "size"}).
			Comment("the users in the segment now"),
		edge.To("memberships", SegmentMembership.Type).
			Annotations(entgql.RelayConnection(), entsql.OnDelete(entsql.Cascade)).
			Comment("every interval a user spent in the segment, current ones included"),
		edge.To("runs", SegmentRun.Type).
			Annotations(entgql.RelayConnection(), entsql.OnDelete(entsql.Cascade)),
		edge.To("targeted_surveys", Survey.Type).Annotations(entgql.Skip()),
		// Segment.versions and versionAt are resolvers: they backfill a
		// segment written without versions (see internal/segment).
		edge.To("versions", SegmentVersion.Type).
			Annotations(entgql.Skip(), entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the Segment.
func (Segment) Indexes() []ent.Index {
	return []ent.Index{index.Fields("project_id", "name")}
}

// Annotations of the Segment.
func (Segment) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.MultiOrder(),
		entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
	}
}

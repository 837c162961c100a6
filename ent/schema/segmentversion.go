package schema

import (
	"encoding/json"
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// SegmentVersion is one definition of a segment: the rule it had from
// createdAt until the next version. It is written in the transaction that
// creates the segment or changes its rule, and never changed afterwards.
type SegmentVersion struct {
	ent.Schema
}

// Mixin of the SegmentVersion.
func (SegmentVersion) Mixin() []ent.Mixin {
	return []ent.Mixin{TenantMixin{}}
}

// Fields of the SegmentVersion.
func (SegmentVersion) Fields() []ent.Field {
	return []ent.Field{
		field.Int("segment_id").Immutable().Annotations(entgql.Skip(entgql.SkipType)),
		field.Int("version").Positive().Immutable().
			Annotations(entgql.OrderField("VERSION")).
			Comment("the segment's definitionVersion while this definition was in force"),
		field.JSON("rule", json.RawMessage{}).Optional().Immutable().
			Annotations(entgql.Type("JSON")).
			Comment("the rule of this version; null for a STATIC segment"),
		field.Int("key_id").Optional().Nillable().Immutable().
			Annotations(entgql.Type("ID"), entgql.MapsTo("keyId")).
			Comment("the API key that made this version; null when Pulse did (a migration, the CLI)"),
		field.String("key_prefix").Optional().Nillable().Immutable().
			Annotations(entgql.MapsTo("keyPrefix")).
			Comment("the prefix of that key, kept so the history still reads after the key is revoked"),
		field.Time("created_at").Default(time.Now).Immutable().
			Comment("when this version came into force"),
	}
}

// Edges of the SegmentVersion.
func (SegmentVersion) Edges() []ent.Edge {
	return []ent.Edge{
		projectEdge("segment_versions"),
		edge.From("segment", Segment.Type).Ref("versions").Field("segment_id").
			Unique().Required().Immutable().Annotations(entgql.Skip()),
	}
}

// Indexes of the SegmentVersion.
func (SegmentVersion) Indexes() []ent.Index {
	return []ent.Index{
		// One row per version; Segment.versions and versionAt read it.
		index.Fields("segment_id", "version").Unique(),
	}
}

// Annotations of the SegmentVersion.
func (SegmentVersion) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.Skip(entgql.SkipWhereInput, entgql.SkipOrderField, entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
	}
}

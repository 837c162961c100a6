package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Identity maps an anonymous id (an SDK's anonymousId, or an alias's
// previousId) to the user it belongs to. One row per id and project: the
// unique index is what makes concurrent first sightings of an anonymous
// visitor resolve to one user.
type Identity struct {
	ent.Schema
}

// Mixin of the Identity.
func (Identity) Mixin() []ent.Mixin {
	return []ent.Mixin{TenantMixin{}}
}

// Fields of the Identity.
func (Identity) Fields() []ent.Field {
	return []ent.Field{
		field.String("anonymous_id").NotEmpty().MaxLen(512).Immutable(),
		field.Int("user_id").Annotations(entgql.Skip(entgql.SkipType)),
		field.Time("created_at").Default(time.Now).Immutable(),
	}
}

// Edges of the Identity.
func (Identity) Edges() []ent.Edge {
	return []ent.Edge{
		projectEdge("identities"),
		edge.From("user", User.Type).Ref("identities").Field("user_id").Unique().Required(),
	}
}

// Indexes of the Identity.
func (Identity) Indexes() []ent.Index {
	return []ent.Index{
		// Identity resolution at ingest, and its race-free upsert.
		index.Fields("project_id", "anonymous_id").Unique(),
		// Moving a merged user's identities.
		index.Fields("user_id"),
	}
}

// Annotations of the Identity.
func (Identity) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

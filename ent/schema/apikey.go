package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// APIKey authenticates callers of one project with one role. Only a hash of
// the secret is stored; the prefix identifies a key to humans.
type APIKey struct {
	ent.Schema
}

// Mixin of the APIKey.
func (APIKey) Mixin() []ent.Mixin {
	return []ent.Mixin{TenantMixin{}, TimeMixin{}}
}

// Fields of the APIKey.
func (APIKey) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").Default("").MaxLen(200),
		field.Enum("role").Values("INGEST", "READ", "ADMIN").
			Annotations(entgql.OrderField("ROLE")),
		field.String("prefix").Immutable().
			Comment("the first characters of the key, shown so people can tell keys apart"),
		field.String("hash").Immutable().Sensitive().Unique().
			Annotations(entgql.Skip()).
			Comment("hex SHA-256 of the full key; keys are random 256-bit secrets, so a slow hash adds nothing"),
		field.Time("revoked_at").Optional().Nillable(),
	}
}

// Edges of the APIKey.
func (APIKey) Edges() []ent.Edge {
	return []ent.Edge{projectEdge("api_keys")}
}

// Indexes of the APIKey.
func (APIKey) Indexes() []ent.Index {
	return []ent.Index{index.Fields("project_id", "created_at")}
}

// Annotations of the APIKey.
func (APIKey) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)}
}

// projectEdge is the owning project of a tenant-owned entity, bound to its
// project_id column and hidden from GraphQL: the API is always one project.
func projectEdge(ref string) ent.Edge {
	return edge.From("project", Project.Type).
		Ref(ref).
		Field("project_id").
		Unique().
		Required().
		Immutable().
		Annotations(entgql.Skip())
}

package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// UserErasure records that a user was erased (deleteUser): when, by which
// API key and which external id, as a salted hash only, so the record
// proves the erasure without naming whom it erased. It holds no user id:
// nothing about the user survives it. Suppressed says whether the user's
// ids are still kept out at ingest (see SuppressedID).
type UserErasure struct {
	ent.Schema
}

// Mixin of the UserErasure.
func (UserErasure) Mixin() []ent.Mixin {
	return []ent.Mixin{TenantMixin{}}
}

// Fields of the UserErasure.
func (UserErasure) Fields() []ent.Field {
	return []ent.Field{
		field.Bytes("external_id_hash").Optional().Nillable().Immutable().
			Comment("SHA-256 of the project's privacy salt and the external id; null for a user that had none"),
		field.Int("key_id").Optional().Nillable().Immutable().
			Comment("the API key that asked for the erasure; null for internal callers"),
		field.String("key_prefix").Optional().Nillable().Immutable().
			Comment("the prefix of that key, kept so the record still reads after the key is revoked"),
		field.Time("erased_at").Default(time.Now).Immutable(),
		field.Bool("suppressed").Default(false).
			Comment("the user's ids are dropped at ingest until unsuppressUser"),
		field.JSON("removed", map[string]int{}).Optional().Immutable().
			Comment("rows removed, by table"),
	}
}

// Edges of the UserErasure.
func (UserErasure) Edges() []ent.Edge {
	return []ent.Edge{projectEdge("user_erasures")}
}

// Indexes of the UserErasure.
func (UserErasure) Indexes() []ent.Index {
	return []ent.Index{
		// unsuppressUser finds the erasures of an external id by its hash.
		index.Fields("project_id", "external_id_hash"),
	}
}

// Annotations of the UserErasure.
func (UserErasure) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

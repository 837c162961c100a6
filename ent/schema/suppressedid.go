package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// SuppressedID is an id (an external id, an anonymous id or an alias) that
// ingest drops messages for, from an erasure with suppress: true until
// unsuppressUser. Like the erasure, it holds only a salted hash of the id:
// the ingest path hashes what it receives and looks the hash up.
type SuppressedID struct {
	ent.Schema
}

// Mixin of the SuppressedID.
func (SuppressedID) Mixin() []ent.Mixin {
	return []ent.Mixin{TenantMixin{}}
}

// Fields of the SuppressedID.
func (SuppressedID) Fields() []ent.Field {
	return []ent.Field{
		field.Bytes("id_hash").Immutable().
			Comment("SHA-256 of the project's privacy salt and the id"),
		field.Int("erasure_id").Immutable().
			Comment("the erasure that suppressed it; unsuppressUser lifts all of an erasure's ids"),
		field.Time("created_at").Default(time.Now).Immutable(),
	}
}

// Edges of the SuppressedID.
func (SuppressedID) Edges() []ent.Edge {
	return []ent.Edge{projectEdge("suppressed_ids")}
}

// Indexes of the SuppressedID.
func (SuppressedID) Indexes() []ent.Index {
	return []ent.Index{
		// One row per id: a second erasure of the same id keeps the first.
		index.Fields("project_id", "id_hash").Unique(),
		// unsuppressUser, by erasure.
		index.Fields("erasure_id"),
	}
}

// Annotations of the SuppressedID.
func (SuppressedID) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

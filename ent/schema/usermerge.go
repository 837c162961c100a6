package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// UserMerge records that ingest merged one user into another (an
// anonymous visitor identified, an alias): the merged-away user's row is
// deleted, but its segment membership intervals, dirty marks and the
// webhook messages of the runs that moved it keep its id, as history must
// (re-keying them to the surviving user would make its intervals overlap).
// An erasure of the surviving user reaches those rows through this table,
// then deletes it. Rows always point at the user that survives today: a
// merge of a user into another moves the merges into it along.
type UserMerge struct {
	ent.Schema
}

// Mixin of the UserMerge.
func (UserMerge) Mixin() []ent.Mixin {
	return []ent.Mixin{TenantMixin{}}
}

// Fields of the UserMerge. Neither id is a foreign key: merged_user_id
// names a deleted user, and like segment memberships the rows are cleared
// by the erasure rather than by a cascade.
func (UserMerge) Fields() []ent.Field {
	return []ent.Field{
		field.Int("user_id").
			Comment("the user that survives, into whom merged_user_id was merged (directly or through a chain)"),
		field.Int("merged_user_id").Immutable().
			Comment("the id of the user merged away, deleted since"),
		field.Time("merged_at").Default(time.Now).Immutable(),
	}
}

// Edges of the UserMerge.
func (UserMerge) Edges() []ent.Edge {
	return []ent.Edge{projectEdge("user_merges")}
}

// Indexes of the UserMerge.
func (UserMerge) Indexes() []ent.Index {
	return []ent.Index{
		// The erasure's expansion of its users, and a merge moving the
		// merges of the user it deletes.
		index.Fields("user_id"),
	}
}

// Annotations of the UserMerge.
func (UserMerge) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

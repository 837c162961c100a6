package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// UserDailyActivity is the per-user, per-day rollup of usage events, kept at
// ingest in the same transaction as the events, so activity rules and
// engagement analytics never scan raw events.
type UserDailyActivity struct {
	ent.Schema
}

// Mixin of the UserDailyActivity.
func (UserDailyActivity) Mixin() []ent.Mixin {
	return []ent.Mixin{TenantMixin{}}
}

// Fields of the UserDailyActivity.
func (UserDailyActivity) Fields() []ent.Field {
	return []ent.Field{
		field.Int("user_id").Immutable().Annotations(entgql.Skip(entgql.SkipType)),
		field.Time("day").Immutable().
			SchemaType(map[string]string{dialect.Postgres: "date"}).
			Annotations(entgql.OrderField("DAY")).
			Comment("calendar day in the project's time zone"),
		field.Int("events").Default(0).NonNegative(),
		field.Int("mobile_events").Default(0).NonNegative(),
		field.Int("tablet_events").Default(0).NonNegative(),
		field.Int("desktop_events").Default(0).NonNegative(),
	}
}

// Edges of the UserDailyActivity.
func (UserDailyActivity) Edges() []ent.Edge {
	return []ent.Edge{
		projectEdge("daily_activities"),
		edge.From("user", User.Type).Ref("daily_activities").Field("user_id").
			Unique().Required().Immutable(),
	}
}

// Indexes of the UserDailyActivity.
func (UserDailyActivity) Indexes() []ent.Index {
	return []ent.Index{
		// The ingest upsert key, and per-user activity lookups. Activity
		// rules read a project's recent days in one sequential pass.
		index.Fields("user_id", "day").Unique(),
		// The retention's deletion of a project's oldest days, in batches
		// (internal/retention). The only other index: the upsert's
		// updates change neither column, so they stay HOT; only a user's
		// first event of a day inserts into it.
		index.Fields("project_id", "day"),
	}
}

// Annotations of the UserDailyActivity.
func (UserDailyActivity) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput, entgql.SkipWhereInput),
	}
}

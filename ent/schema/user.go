package schema

import (
	"encoding/json"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/vektah/gqlparser/v2/ast"
)

// User is an end user of the customer's product, known by the SDK's userId
// (external id) or, until identified, only by anonymous ids (see Identity).
type User struct {
	ent.Schema
}

// Mixin of the User.
func (User) Mixin() []ent.Mixin {
	return []ent.Mixin{TenantMixin{}, TimeMixin{}}
}

// Fields of the User.
func (User) Fields() []ent.Field {
	return []ent.Field{
		field.String("external_id").Optional().Nillable().MaxLen(512).
			Annotations(entgql.OrderField("EXTERNAL_ID"), entgql.MapsTo("externalId")),
		// As stored: read into the API as they are, never decoded or even
		// validated again (a JSON field would be), which for a page of
		// users is much of the request. The column is jsonb.
		field.Bytes("traits").GoType(json.RawMessage{}).Optional().
			SchemaType(map[string]string{dialect.Postgres: "jsonb"}).
			Annotations(entgql.Type("JSON")),
		field.Time("first_seen_at").Optional().Nillable().
			Annotations(entgql.OrderField("FIRST_SEEN_AT")),
		field.Time("last_seen_at").Optional().Nillable().
			Annotations(entgql.OrderField("LAST_SEEN_AT")),
		field.Int64("event_count").Default(0).NonNegative().
			Annotations(entgql.OrderField("EVENT_COUNT")),
	}
}

// Edges of the User.
func (User) Edges() []ent.Edge {
	return []ent.Edge{
		projectEdge("users"),
		edge.To("events", Event.Type).
			Annotations(entgql.RelayConnection(), entsql.OnDelete(entsql.Cascade)),
		edge.To("identities", Identity.Type).
			Annotations(entgql.Skip(), entsql.OnDelete(entsql.Cascade)),
		edge.To("daily_activities", UserDailyActivity.Type).
			Annotations(entgql.Skip(), entsql.OnDelete(entsql.Cascade)),
		edge.To("feedback", Feedback.Type).
			Annotations(entgql.RelayConnection(), entsql.OnDelete(entsql.Cascade)),
		edge.To("survey_responses", SurveyResponse.Type).
			Annotations(entgql.RelayConnection(), entsql.OnDelete(entsql.Cascade)),
		edge.To("memberships", SegmentMembership.Type).
			Annotations(entgql.RelayConnection(), entsql.OnDelete(entsql.Cascade)),
		edge.From("segments", Segment.Type).
			Ref("members").
			Through("current_memberships", SegmentMember.Type).
			Annotations(entgql.RelayConnection()).
			Comment("the segments the user is in now"),
	}
}

// Indexes of the User.
func (User) Indexes() []ent.Index {
	return []ent.Index{
		// Identity resolution at ingest: one row per SDK userId in a project.
		// Deliberately the only secondary index: ingest updates counts and
		// first/last seen on every batch, and with no index on those columns
		// the updates stay HOT (no index writes). Recency rules scan users.
		index.Fields("project_id", "external_id").Unique(),
	}
}

// Annotations of the User.
func (User) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField().Directives(hasRole("READ")),
		entgql.RelayConnection(),
		entgql.MultiOrder(),
	}
}

// hasRole is the @hasRole directive that guards a generated query field.
func hasRole(role string) entgql.Directive {
	return entgql.NewDirective("hasRole", &ast.Argument{
		Name:  "role",
		Value: &ast.Value{Raw: role, Kind: ast.EnumValue},
	})
}

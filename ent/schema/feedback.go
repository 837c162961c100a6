package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Feedback is something a user told the product team: a bug, a wish, praise,
// a rating or an NPS score, triaged through a status workflow.
type Feedback struct {
	ent.Schema
}

// Mixin of the Feedback.
func (Feedback) Mixin() []ent.Mixin {
	return []ent.Mixin{TenantMixin{}, TimeMixin{}}
}

// Fields of the Feedback.
func (Feedback) Fields() []ent.Field {
	return []ent.Field{
		field.Int("user_id").Immutable().Annotations(entgql.Skip(entgql.SkipType)),
		field.Enum("kind").
			Values("BUG", "FEATURE_REQUEST", "PRAISE", "COMPLAINT", "QUESTION", "OTHER").
			Default("OTHER").
			Annotations(entgql.OrderField("KIND")),
		field.Int("rating").Optional().Nillable().Range(1, 5),
		field.Int("nps_score").Optional().Nillable().Range(0, 10),
		field.Text("text").Default(""),
		field.String("channel").Default("").MaxLen(200),
		field.Strings("tags").Optional(),
		field.Enum("sentiment").Values("POSITIVE", "NEUTRAL", "NEGATIVE").Optional().Nillable(),
		field.Enum("status").
			Values("NEW", "TRIAGED", "IN_PROGRESS", "RESOLVED", "CLOSED").
			Default("NEW").
			Annotations(entgql.OrderField("STATUS")),
		field.String("assignee").Optional().Nillable().MaxLen(200).
			Annotations(entgql.OrderField("ASSIGNEE")).
			Comment("who on the team handles the feedback: a name or an email"),
		field.Time("timestamp").Default(time.Now).Immutable().
			Annotations(entgql.OrderField("TIMESTAMP")).
			Comment("when the user gave the feedback"),
	}
}

// Edges of the Feedback.
func (Feedback) Edges() []ent.Edge {
	return []ent.Edge{
		projectEdge("feedbacks"),
		edge.From("user", User.Type).Ref("feedback").Field("user_id").
			Unique().Required().Immutable(),
		edge.To("history", FeedbackChange.Type).
			Annotations(entgql.RelayConnection(), entsql.OnDelete(entsql.Cascade)).
			Comment("every workflow change and internal note, oldest first by default"),
	}
}

// Indexes of the Feedback.
func (Feedback) Indexes() []ent.Index {
	return []ent.Index{
		// Feedback rules and summaries over a time window.
		index.Fields("project_id", "timestamp"),
		// user.feedback and "latest NPS score of a user".
		index.Fields("user_id", "timestamp"),
		// user.feedback in its default order (id).
		nestedOrderIndex("user_id"),
	}
}

// Annotations of the Feedback.
func (Feedback) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField("feedbacks").Directives(hasRole("READ")),
		entgql.RelayConnection(),
		entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
	}
}

package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Survey is a set of questions, optionally shown only to one segment.
type Survey struct {
	ent.Schema
}

// Mixin of the Survey.
func (Survey) Mixin() []ent.Mixin {
	return []ent.Mixin{TenantMixin{}, TimeMixin{}}
}

// Fields of the Survey.
func (Survey) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(200).
			Annotations(entgql.OrderField("NAME")),
		field.Enum("status").Values("DRAFT", "ACTIVE", "CLOSED").Default("DRAFT").
			Annotations(entgql.OrderField("STATUS")),
		field.Int("target_segment_id").Optional().Nillable().Annotations(entgql.Skip(entgql.SkipType)),
	}
}

// Edges of the Survey.
func (Survey) Edges() []ent.Edge {
	return []ent.Edge{
		projectEdge("surveys"),
		edge.From("target_segment", Segment.Type).Ref("targeted_surveys").
			Field("target_segment_id").Unique(),
		edge.To("questions", SurveyQuestion.Type).
			Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("responses", SurveyResponse.Type).
			Annotations(entgql.RelayConnection(), entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the Survey.
func (Survey) Indexes() []ent.Index {
	return []ent.Index{index.Fields("project_id", "status")}
}

// Annotations of the Survey.
func (Survey) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField().Directives(hasRole("READ")),
		entgql.RelayConnection(),
		entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
	}
}

// SurveyQuestion is one question of a survey.
type SurveyQuestion struct {
	ent.Schema
}

// Mixin of the SurveyQuestion.
func (SurveyQuestion) Mixin() []ent.Mixin {
	return []ent.Mixin{TenantMixin{}}
}

// Fields of the SurveyQuestion.
func (SurveyQuestion) Fields() []ent.Field {
	return []ent.Field{
		field.Int("survey_id").Immutable().Annotations(entgql.Skip(entgql.SkipType)),
		field.Int("position").NonNegative(),
		field.Enum("kind").Values("NPS", "CSAT", "RATING", "SINGLE_CHOICE", "MULTI_CHOICE", "TEXT"),
		field.Text("prompt").NotEmpty(),
		field.Strings("choices").Optional(),
		field.Bool("required").Default(false),
	}
}

// Edges of the SurveyQuestion.
func (SurveyQuestion) Edges() []ent.Edge {
	return []ent.Edge{
		projectEdge("survey_questions"),
		edge.From("survey", Survey.Type).Ref("questions").Field("survey_id").
			Unique().Required().Immutable(),
	}
}

// Indexes of the SurveyQuestion.
func (SurveyQuestion) Indexes() []ent.Index {
	return []ent.Index{index.Fields("survey_id", "position")}
}

// Annotations of the SurveyQuestion.
func (SurveyQuestion) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput, entgql.SkipWhereInput),
	}
}

package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/pulse-analytics/pulse/ent/schema/schematype"
)

// SurveyResponse is one user's answers to one survey.
type SurveyResponse struct {
	ent.Schema
}

// Mixin of the SurveyResponse.
func (SurveyResponse) Mixin() []ent.Mixin {
	return []ent.Mixin{TenantMixin{}}
}

// Fields of the SurveyResponse.
func (SurveyResponse) Fields() []ent.Field {
	return []ent.Field{
		field.Int("survey_id").Immutable().Annotations(entgql.Skip(entgql.SkipType)),
		field.Int("user_id").Immutable().Annotations(entgql.Skip(entgql.SkipType)),
		field.JSON("answers", []schematype.SurveyAnswer{}).
			Annotations(entgql.Type("[SurveyAnswer!]")),
		field.Time("submitted_at").Default(time.Now).Immutable().
			Annotations(entgql.OrderField("SUBMITTED_AT")),
	}
}

// Edges of the SurveyResponse.
func (SurveyResponse) Edges() []ent.Edge {
	return []ent.Edge{
		projectEdge("survey_responses"),
		edge.From("survey", Survey.Type).Ref("responses").Field("survey_id").
			Unique().Required().Immutable(),
		edge.From("user", User.Type).Ref("survey_responses").Field("user_id").
			Unique().Required().Immutable(),
	}
}

// Indexes of the SurveyResponse.
func (SurveyResponse) Indexes() []ent.Index {
	return []ent.Index{
		// Survey rules over a window, and survey results.
		index.Fields("survey_id", "submitted_at"),
		// user.surveyResponses and "has the user answered this survey".
		index.Fields("user_id", "survey_id"),
		// survey.responses and user.surveyResponses in their default
		// order (id).
		nestedOrderIndex("survey_id"),
		nestedOrderIndex("user_id"),
	}
}

// Annotations of the SurveyResponse.
func (SurveyResponse) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
	}
}

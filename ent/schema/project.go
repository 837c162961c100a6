package schema

import (
	"context"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"

	"github.com/pulse-analytics/pulse/ent/intercept"
)

// Project is a tenant: every other row belongs to exactly one project.
type Project struct {
	ent.Schema
}

// Mixin of the Project.
func (Project) Mixin() []ent.Mixin {
	return []ent.Mixin{TimeMixin{}}
}

// Fields of the Project.
func (Project) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(200),
		field.String("timezone").
			Default("UTC").
			Comment("IANA time zone in which calendar days (activity rules, rollups) are counted"),
		field.Strings("active_events").
			Optional().
			Comment("event names that count as activity; empty means every usage event"),
		field.Bool("realtime").Default(true).
			Comment("segments move as their data changes (incremental passes); off: only by scheduled full recomputes"),
		field.Int("retention_days").Optional().Nillable().Positive().
			Annotations(entgql.MapsTo("retentionDays")).
			Comment("days that events, daily activity, feedback and survey responses are kept; null keeps them for ever"),
		field.Bytes("privacy_salt").Optional().Sensitive().
			Annotations(entgql.Skip()).
			Comment("salts the hashes of erased and suppressed ids; set by the project's first erasure"),
		field.Int64("suppression_version").Default(0).
			Annotations(entgql.Skip()).
			Comment("moves with every change of the suppressed ids, so ingest knows its copy of them is current"),
	}
}

// Annotations of the Project.
func (Project) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)}
}

// Interceptors of the Project: a scoped caller sees only its own project.
func (Project) Interceptors() []ent.Interceptor {
	return []ent.Interceptor{
		intercept.TraverseFunc(func(ctx context.Context, q intercept.Query) error {
			return scopeQuery(ctx, q, "id")
		}),
	}
}

// Hooks of the Project: a scoped caller may only change its own project and
// may never create one.
func (Project) Hooks() []ent.Hook {
	return []ent.Hook{scopeProjectMutation()}
}

// Edges of the Project. They exist for the foreign keys and cascades; the API
// never traverses them because a caller only ever sees one project.
func (Project) Edges() []ent.Edge {
	owned := []struct {
		name string
		typ  any
	}{
		{"api_keys", APIKey.Type},
		{"users", User.Type},
		{"identities", Identity.Type},
		{"events", Event.Type},
		{"daily_activities", UserDailyActivity.Type},
		{"feedbacks", Feedback.Type},
		{"surveys", Survey.Type},
		{"survey_questions", SurveyQuestion.Type},
		{"survey_responses", SurveyResponse.Type},
		{"segments", Segment.Type},
		{"segment_memberships", SegmentMembership.Type},
		{"segment_runs", SegmentRun.Type},
		{"feedback_changes", FeedbackChange.Type},
		{"discovery_runs", DiscoveryRun.Type},
		{"audit_entries", AuditEntry.Type},
		{"segment_versions", SegmentVersion.Type},
		{"webhook_endpoints", WebhookEndpoint.Type},
		{"webhook_messages", WebhookMessage.Type},
		{"webhook_attempts", WebhookAttempt.Type},
		{"user_erasures", UserErasure.Type},
		{"suppressed_ids", SuppressedID.Type},
		{"user_merges", UserMerge.Type},
	}
	edges := make([]ent.Edge, 0, len(owned))
	for _, o := range owned {
		edges = append(edges, edge.To(o.name, o.typ).
			Annotations(entgql.Skip(), entsql.OnDelete(entsql.Cascade)))
	}
	return edges
}

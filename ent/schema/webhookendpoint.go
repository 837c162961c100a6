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

// WebhookEndpoint is a destination that committed runs are delivered to:
// a Standard Webhooks receiver (WEBHOOK) or a Segment HTTP Tracking API
// (SEGMENT_TRACK). Its secrets are never exposed after creation.
type WebhookEndpoint struct {
	ent.Schema
}

// Mixin of the WebhookEndpoint.
func (WebhookEndpoint) Mixin() []ent.Mixin {
	return []ent.Mixin{TenantMixin{}, TimeMixin{}}
}

// Fields of the WebhookEndpoint.
func (WebhookEndpoint) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("kind").Values("WEBHOOK", "SEGMENT_TRACK").Default("WEBHOOK").Immutable(),
		field.String("url").NotEmpty().MaxLen(2048).
			Comment("where messages are posted; for SEGMENT_TRACK the base URL of the Tracking API"),
		field.Text("description").Default(""),
		field.JSON("segment_ids", []int{}).Default([]int{}).
			Annotations(entgql.Type("[ID!]"), entgql.MapsTo("segmentIds")).
			Comment("the segments delivered; empty means every segment of the project"),
		field.Strings("events").
			Annotations(entgql.Skip()).
			Comment("the event types delivered: ENTERED, EXITED, RUN_FAILED"),
		field.Int("batch_size").Default(100).Range(1, 1000).
			Comment("at most this many users per message"),
		field.String("secret").Sensitive().
			Annotations(entgql.Skip()).
			Comment("the signing secret, whsec_ + base64 of 32 random bytes"),
		field.String("previous_secret").Optional().Nillable().Sensitive().
			Annotations(entgql.Skip()).
			Comment("the secret before the last rotation, still signing until previous_secret_until"),
		field.Time("previous_secret_until").Optional().Nillable().
			Annotations(entgql.MapsTo("previousSecretExpiresAt")).
			Comment("until when messages carry a signature by the previous secret too"),
		field.String("write_key").Optional().Nillable().Sensitive().
			Annotations(entgql.Skip()).
			Comment("SEGMENT_TRACK: the write key, sent as the Basic auth user"),
		field.Time("disabled_at").Optional().Nillable(),
		field.String("disabled_reason").Optional().Nillable(),
		field.Time("failing_since").Optional().Nillable().
			Comment("the first failure of the current run of failures; cleared by a success"),
	}
}

// Edges of the WebhookEndpoint.
func (WebhookEndpoint) Edges() []ent.Edge {
	return []ent.Edge{
		projectEdge("webhook_endpoints"),
		// GraphQL reads deliveries through internal/webhook, which pages
		// them by state (schema/webhook.graphql).
		edge.To("deliveries", WebhookMessage.Type).
			Annotations(entgql.Skip(), entsql.OnDelete(entsql.Cascade)).
			Comment("the messages made for the endpoint, each with its attempts"),
	}
}

// Indexes of the WebhookEndpoint.
func (WebhookEndpoint) Indexes() []ent.Index {
	return []ent.Index{index.Fields("project_id", "created_at")}
}

// Annotations of the WebhookEndpoint.
func (WebhookEndpoint) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField("webhookEndpoints").Directives(hasRole("READ")),
		entgql.RelayConnection(),
		entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
	}
}

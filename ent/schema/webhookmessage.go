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

// WebhookMessage is one message of the outbox: the exact bytes to send to
// one endpoint, written in the transaction of the run that caused it and
// delivered in (seq, part) order per endpoint and segment.
type WebhookMessage struct {
	ent.Schema
}

// Mixin of the WebhookMessage.
func (WebhookMessage) Mixin() []ent.Mixin {
	return []ent.Mixin{TenantMixin{}}
}

// Fields of the WebhookMessage.
func (WebhookMessage) Fields() []ent.Field {
	return []ent.Field{
		field.Int("endpoint_id").Immutable(),
		field.Int("segment_id").Immutable(),
		field.Int("run_id").Optional().Nillable().Immutable().
			Comment("the run that caused the message"),
		field.Int("seq").Immutable().
			Comment("the run's seq"),
		field.Int("part").Default(0).NonNegative().Immutable().
			Comment("0-based index among the messages one run made for one endpoint and type"),
		field.String("type").Immutable().
			Comment("segment.entered, segment.exited or segment.run_failed"),
		field.String("webhook_id").Unique().Immutable().
			Comment("msg_ + random: the receiver's idempotency key, the same on every attempt"),
		field.Text("body").Immutable().
			Comment("the exact JSON bytes sent and signed, so a retry sends the same bytes"),
		field.Enum("state").Values("PENDING", "DELIVERED", "FAILED").Default("PENDING").
			Comment("FAILED: delivery gave up or the endpoint was disabled"),
		field.Int("attempts").Default(0).NonNegative().
			Comment("how many attempts were made"),
		field.Time("next_attempt_at").Optional().Nillable(),
		field.Time("delivered_at").Optional().Nillable(),
		field.Time("created_at").Default(time.Now).Immutable(),
	}
}

// Edges of the WebhookMessage.
func (WebhookMessage) Edges() []ent.Edge {
	return []ent.Edge{
		projectEdge("webhook_messages"),
		edge.From("endpoint", WebhookEndpoint.Type).Ref("deliveries").Field("endpoint_id").
			Unique().Required().Immutable(),
		edge.To("attempt_log", WebhookAttempt.Type).
			Annotations(entsql.OnDelete(entsql.Cascade)).
			Comment("the attempts made to deliver it"),
	}
}

// Indexes of the WebhookMessage.
func (WebhookMessage) Indexes() []ent.Index {
	return []ent.Index{
		// Ordered delivery of one stream: its pending messages by (seq, part).
		index.Fields("endpoint_id", "segment_id", "seq", "part"),
		// Due retries.
		index.Fields("state", "next_attempt_at"),
		// endpoint.deliveries, newest first, with or without a state.
		index.Fields("endpoint_id", "created_at"),
		index.Fields("endpoint_id", "state", "created_at"),
		// A stream's next message to deliver: its pending ones only, in
		// order, so finding it never walks what the stream delivered before.
		index.Fields("endpoint_id", "segment_id", "seq").
			Annotations(entsql.IndexWhere("state = 'PENDING'")).
			StorageKey("webhookmessage_pending_stream"),
	}
}

// Annotations of the WebhookMessage: its GraphQL type is written by hand
// (schema/webhook.graphql), a delivery log entry without the body.
func (WebhookMessage) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

package schema

import (
	"context"
	"fmt"
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	gen "github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/hook"
)

// WebhookAttempt is one try at delivering a message: when, how the
// receiver answered and how long it took.
type WebhookAttempt struct {
	ent.Schema
}

// Mixin of the WebhookAttempt.
func (WebhookAttempt) Mixin() []ent.Mixin {
	return []ent.Mixin{TenantMixin{}}
}

// Fields of the WebhookAttempt.
func (WebhookAttempt) Fields() []ent.Field {
	return []ent.Field{
		field.Int("message_id").Immutable(),
		field.Int("endpoint_id").Optional().Immutable().
			Comment("the message's endpoint, set from the message on create: an endpoint's last attempt is one index probe"),
		field.Time("at").Default(time.Now).Immutable(),
		field.Int("status_code").Optional().Nillable().Immutable().
			Comment("the HTTP status of the response; null when there was none"),
		field.Int("latency_ms").Default(0).NonNegative().Immutable(),
		field.Text("response_body").Default("").Immutable().
			Comment("the first 1 KiB of the response body"),
		field.Text("error").Optional().Nillable().Immutable().
			Comment("why the attempt failed when the receiver's status does not say: a timeout, a refused address, ..."),
	}
}

// Edges of the WebhookAttempt.
func (WebhookAttempt) Edges() []ent.Edge {
	return []ent.Edge{
		projectEdge("webhook_attempts"),
		edge.From("message", WebhookMessage.Type).Ref("attempt_log").Field("message_id").
			Unique().Required().Immutable(),
	}
}

// Indexes of the WebhookAttempt.
func (WebhookAttempt) Indexes() []ent.Index {
	return []ent.Index{
		// message.attempts, in order.
		index.Fields("message_id", "at"),
		// An endpoint's health: its last attempt.
		index.Fields("endpoint_id", "at"),
	}
}

// Hooks of the WebhookAttempt.
func (WebhookAttempt) Hooks() []ent.Hook {
	return []ent.Hook{hook.On(attemptEndpoint, ent.OpCreate)}
}

// Annotations of the WebhookAttempt: its GraphQL type is written by hand
// (schema/webhook.graphql).
func (WebhookAttempt) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// attemptEndpoint copies the endpoint of an attempt's message onto the
// attempt, so that whoever records attempts need not know it. Written with
// the generic mutation API: this package is compiled before the generated
// code has the attempt's types.
func attemptEndpoint(next ent.Mutator) ent.Mutator {
	return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
		if _, set := m.Field("endpoint_id"); set {
			return next.Mutate(ctx, m)
		}
		messageID, ok := m.Field("message_id")
		if !ok {
			return next.Mutate(ctx, m) // ent reports the missing message
		}
		client, ok := m.(interface{ Client() *gen.Client })
		if !ok {
			return nil, fmt.Errorf("create %s: no client to read the message's endpoint", m.Type())
		}
		endpointID, err := messageEndpoint(ctx, client.Client(), messageID)
		if err != nil {
			return nil, err
		}
		if err := m.SetField("endpoint_id", endpointID); err != nil {
			return nil, fmt.Errorf("set endpoint of attempt: %w", err)
		}
		return next.Mutate(ctx, m)
	})
}

// messageEndpoint reads the endpoint of message id, in the mutation's
// transaction when it has one.
func messageEndpoint(ctx context.Context, client *gen.Client, id ent.Value) (int, error) {
	rows, err := client.QueryContext(ctx, "SELECT endpoint_id FROM webhook_messages WHERE id = $1", id)
	if err != nil {
		return 0, fmt.Errorf("read endpoint of message %v: %w", id, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return 0, fmt.Errorf("read endpoint of message %v: %w", id, err)
		}
		return 0, fmt.Errorf("read endpoint of message %v: no such message", id)
	}
	var endpointID int
	if err := rows.Scan(&endpointID); err != nil {
		return 0, fmt.Errorf("read endpoint of message %v: %w", id, err)
	}
	return endpointID, rows.Err()
}

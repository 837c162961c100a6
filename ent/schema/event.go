package schema

import (
	"entgo.io/ent/dialect/entsql"
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Event is one usage event (track, page or screen call). The table is the
// largest in Pulse: every index on it is paid for at ingest, so each one below
// names the query that needs it.
//
// The table is range-partitioned by month on timestamp, with the primary key
// (id, timestamp), which ent does not model: the migration generator adds both
// to what Atlas diffs (internal/migrate/gen), and internal/partition creates
// and drops the partitions. A unique index of a partitioned table must hold
// the partition key, so message ids are deduplicated in event_messages, a
// table of Pulse's own (see internal/ingest).
type Event struct {
	ent.Schema
}

// Mixin of the Event.
func (Event) Mixin() []ent.Mixin {
	return []ent.Mixin{TenantMixin{}}
}

// Fields of the Event.
func (Event) Fields() []ent.Field {
	return []ent.Field{
		field.Int("user_id").Immutable().Annotations(entgql.Skip(entgql.SkipType)),
		field.String("name").NotEmpty().MaxLen(512).Immutable().
			Annotations(entgql.OrderField("NAME")),
		field.Time("timestamp").Immutable().
			Annotations(entgql.OrderField("TIMESTAMP")),
		field.Time("received_at").Default(time.Now).Immutable(),
		field.JSON("properties", map[string]any{}).Optional().Immutable().
			Annotations(entgql.Type("JSON")),
		field.Enum("platform").Values("MOBILE", "TABLET", "DESKTOP", "OTHER").
			Default("OTHER").Immutable(),
		field.String("message_id").NotEmpty().MaxLen(512).Immutable().
			Annotations(entgql.MapsTo("messageId")).
			Comment("the sender's id of the message; a retry with the same id within the dedup window is stored once"),
	}
}

// Edges of the Event.
func (Event) Edges() []ent.Edge {
	return []ent.Edge{
		projectEdge("events"),
		edge.From("user", User.Type).Ref("events").Field("user_id").
			Unique().Required().Immutable(),
	}
}

// Indexes of the Event.
func (Event) Indexes() []ent.Index {
	return []ent.Index{
		// user.events, explainMembership and the incremental passes of
		// segments, which evaluate a few users' events: name and platform
		// are included so a pass reads only this index (an index-only scan
		// of each user's range) rather than a heap page per event.
		index.Fields("project_id", "user_id", "timestamp").
			Annotations(entsql.IncludeColumns("name", "platform")),
		// Event rules by name over a window ("export >= 3 times in 30 days").
		index.Fields("project_id", "name", "timestamp"),
	}
}

// Annotations of the Event.
func (Event) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField().Directives(hasRole("READ")),
		entgql.RelayConnection(),
		entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
	}
}

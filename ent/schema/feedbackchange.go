package schema

import (
	"encoding/json"
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// FeedbackChange is one entry of a feedback's history: who (the API key)
// changed what (status, tags, assignee) from which value to which, or added
// an internal note. Entries are only ever appended.
type FeedbackChange struct {
	ent.Schema
}

// Mixin of the FeedbackChange.
func (FeedbackChange) Mixin() []ent.Mixin {
	return []ent.Mixin{TenantMixin{}}
}

// Fields of the FeedbackChange.
func (FeedbackChange) Fields() []ent.Field {
	return []ent.Field{
		field.Int("feedback_id").Immutable().Annotations(entgql.Skip(entgql.SkipType)),
		field.Enum("kind").Values("STATUS", "TAGS", "ASSIGNEE", "NOTE").Immutable().
			Comment("what changed; a NOTE adds an internal note"),
		field.JSON("old_value", json.RawMessage{}).Optional().Immutable().
			Annotations(entgql.Type("JSON")).
			Comment("the value before: a status name, a list of tags, an assignee; null for notes and unset values"),
		field.JSON("new_value", json.RawMessage{}).Optional().Immutable().
			Annotations(entgql.Type("JSON")).
			Comment("the value after; the text of a note"),
		field.Int("actor_key_id").Optional().Nillable().Immutable().
			Annotations(entgql.Type("ID"), entgql.MapsTo("actorKeyId")).
			Comment("the API key that made the change; null for internal callers"),
		field.String("actor_key_prefix").Optional().Nillable().Immutable().
			Comment("the prefix of that key, kept so the history still reads after the key is revoked"),
		field.Time("created_at").Default(time.Now).Immutable().
			Annotations(entgql.OrderField("CREATED_AT")),
	}
}

// Edges of the FeedbackChange.
func (FeedbackChange) Edges() []ent.Edge {
	return []ent.Edge{
		projectEdge("feedback_changes"),
		edge.From("feedback", Feedback.Type).Ref("history").Field("feedback_id").
			Unique().Required().Immutable(),
	}
}

// Indexes of the FeedbackChange.
func (FeedbackChange) Indexes() []ent.Index {
	return []ent.Index{
		// feedback.history, in order.
		index.Fields("feedback_id", "created_at"),
		// feedback.history in its default order (id).
		nestedOrderIndex("feedback_id"),
	}
}

// Annotations of the FeedbackChange.
func (FeedbackChange) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
	}
}

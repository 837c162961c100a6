package schema

import (
	"encoding/json"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// AuditEntry is one change made through an admin mutation: which mutation,
// to which object, by which API key, when, from which request and address,
// and the object before and after. Entries are only ever appended (see
// internal/audit); nothing updates or deletes one but the project's deletion.
type AuditEntry struct {
	ent.Schema
}

// Mixin of the AuditEntry.
func (AuditEntry) Mixin() []ent.Mixin {
	return []ent.Mixin{TenantMixin{}}
}

// Fields of the AuditEntry.
func (AuditEntry) Fields() []ent.Field {
	return []ent.Field{
		field.String("action").NotEmpty().Immutable().
			Comment("the name of the mutation field that made the change: createSegment, revokeAPIKey, ..."),
		field.Int("object_id").Optional().Nillable().Immutable().
			Annotations(entgql.Type("ID"), entgql.MapsTo("objectId")).
			Comment("the id of the object changed; null for a change of several (recomputeAllSegments)"),
		field.Int("key_id").Optional().Nillable().Immutable().
			Annotations(entgql.Type("ID"), entgql.MapsTo("keyId")).
			Comment("the API key that made the change"),
		field.String("key_prefix").Optional().Nillable().Immutable().
			Annotations(entgql.MapsTo("keyPrefix")).
			Comment("the prefix of that key, kept so the entry still reads after the key is revoked"),
		field.Time("at").Immutable().
			Annotations(entgql.OrderField("AT")).
			Comment("when the change was recorded"),
		field.String("request_id").Optional().Nillable().Immutable().
			Annotations(entgql.MapsTo("requestId")).
			Comment("the X-Request-Id of the request, as in the server's request log"),
		field.String("source_ip").Optional().Nillable().Immutable().
			Annotations(entgql.MapsTo("sourceIp")).
			Comment("the address the request came from"),
		field.JSON("before", json.RawMessage{}).Optional().Immutable().
			Annotations(entgql.Type("JSON")).
			Comment("the object before the change; null for a creation or a request"),
		field.JSON("after", json.RawMessage{}).Optional().Immutable().
			Annotations(entgql.Type("JSON")).
			Comment("the object after the change, or what was requested"),
	}
}

// Edges of the AuditEntry.
func (AuditEntry) Edges() []ent.Edge {
	return []ent.Edge{projectEdge("audit_entries")}
}

// Indexes of the AuditEntry.
func (AuditEntry) Indexes() []ent.Index {
	return []ent.Index{
		// auditLog, newest first, and its from/to filters.
		index.Fields("project_id", "at"),
		// auditLog(where: {objectId}) and (where: {action}).
		index.Fields("project_id", "object_id", "at"),
		index.Fields("project_id", "action", "at"),
	}
}

// Annotations of the AuditEntry.
func (AuditEntry) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.Skip(entgql.SkipWhereInput, entgql.SkipOrderField, entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
	}
}

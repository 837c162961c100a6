package graph

import (
	"context"
	"encoding/json"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/auditentry"
	"github.com/pulse-analytics/pulse/graph/model"
	"github.com/pulse-analytics/pulse/internal/audit"
	"github.com/pulse-analytics/pulse/internal/segment"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// auditMutations puts every audited mutation field in the audit log,
// whatever its resolver does: it begins the field's entry (action, key,
// request, source address, the id argument as the object) and writes it
// once the field succeeded, unless the code that made the change already
// recorded it in its transaction (see internal/audit).
type auditMutations struct {
	db audit.Execer
}

var (
	_ graphql.HandlerExtension = auditMutations{}
	_ graphql.FieldInterceptor = auditMutations{}
)

// ExtensionName implements graphql.HandlerExtension.
func (auditMutations) ExtensionName() string { return "AuditLog" }

// Validate implements graphql.HandlerExtension.
func (auditMutations) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptField implements graphql.FieldInterceptor. The directives (and
// so @hasRole) run inside it: a refused call is a failed one, not recorded.
func (a auditMutations) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Object != "Mutation" || !audited(fc.Field.Definition) {
		return next(ctx)
	}
	objectID, _ := fc.Args["id"].(int)
	ctx = audit.Begin(ctx, fc.Field.Name, objectID)
	res, err := next(ctx)
	if err != nil {
		return res, err
	}
	if err := audit.Finish(ctx, a.db); err != nil {
		return nil, err
	}
	return res, nil
}

// audited reports whether calls of a mutation field are recorded: all but
// ingestion (the fields an INGEST key may call, which its counters and the
// data itself account for). A field without @hasRole is recorded too, so
// forgetting the directive never hides a mutation from the log.
func audited(def *ast.FieldDefinition) bool {
	if def == nil {
		return true
	}
	d := def.Directives.ForName("hasRole")
	if d == nil {
		return true
	}
	role := d.Arguments.ForName("role")
	return role == nil || role.Value == nil || role.Value.Raw != string(tenant.RoleIngest)
}

// auditLogOrder is the audit log's order, newest first; entgql breaks
// ties of one instant by id.
var auditLogOrder = &ent.AuditEntryOrder{Direction: entgql.OrderDirectionDesc, Field: ent.AuditEntryOrderFieldAt}

// auditLogFilter applies auditLog's where argument.
func auditLogFilter(where *model.AuditLogWhereInput) ent.AuditEntryPaginateOption {
	return ent.WithAuditEntryFilter(func(q *ent.AuditEntryQuery) (*ent.AuditEntryQuery, error) {
		if where == nil {
			return q, nil
		}
		if where.Action != nil {
			q.Where(auditentry.Action(*where.Action))
		}
		if where.ObjectID != nil {
			q.Where(auditentry.ObjectID(*where.ObjectID))
		}
		if where.From != nil {
			q.Where(auditentry.AtGTE(*where.From))
		}
		if where.To != nil {
			q.Where(auditentry.AtLT(*where.To))
		}
		return q, nil
	})
}

// versionOrder is Segment.versions' order, newest first.
var versionOrder = &ent.SegmentVersionOrder{Direction: entgql.OrderDirectionDesc, Field: ent.SegmentVersionOrderFieldVersion}

// ruleText is a stored rule in words, nil for none.
func ruleText(raw json.RawMessage) (*string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	rule, err := segment.Decode(raw)
	if err != nil {
		return nil, err
	}
	text := segment.Text(rule)
	return &text, nil
}

package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/user"
)

// Entry is one change of several that RecordAll writes: its object and the
// object before and after (nil for none).
type Entry struct {
	ObjectID      int
	Before, After any
}

// RecordAll is Record for a change of many objects (an erasure of a
// thousand users): one entry each, in one statement, in tx.
func RecordAll(ctx context.Context, tx Execer, entries []Entry) error {
	m := from(ctx)
	if m == nil || len(entries) == 0 {
		return nil
	}
	if m.scope.ProjectID == 0 {
		return fmt.Errorf("record %s: %w", m.action, ErrNoProject)
	}
	objects := make([]int64, len(entries))
	befores, afters := make([]any, len(entries)), make([]any, len(entries))
	for i, e := range entries {
		objectID := e.ObjectID
		if table, ok := ent.TableOfID(objectID); ok && table == user.Table {
			objectID = 0 // as in insert: an end user's id never enters the log
		}
		objects[i] = int64(objectID)
		var err error
		if befores[i], err = encodeText(e.Before); err != nil {
			return fmt.Errorf("record %s: encode before: %w", m.action, err)
		}
		if afters[i], err = encodeText(e.After); err != nil {
			return fmt.Errorf("record %s: encode after: %w", m.action, err)
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_entries
		(project_id, action, object_id, key_id, key_prefix, at, request_id, source_ip, before, after)
		SELECT $1, $2, NULLIF(o, 0), $3, $4, $5, $6, $7, b::jsonb, a::jsonb
		FROM unnest($8::bigint[], $9::text[], $10::text[]) AS x(o, b, a)`,
		m.scope.ProjectID, m.action, nullInt(m.scope.KeyID), nullString(m.scope.KeyPrefix), time.Now(),
		nullString(m.origin.RequestID), nullString(m.origin.SourceIP), pq.Array(objects), pq.Array(befores), pq.Array(afters))
	if err != nil {
		return fmt.Errorf("record %s in the audit log: %w", m.action, err)
	}
	m.mu.Lock()
	m.recorded = true
	m.mu.Unlock()
	return nil
}

// encodeText is encode's JSON as text for a text[] parameter, nil for
// SQL NULL.
func encodeText(v any) (any, error) {
	raw, err := encode(v)
	if raw == nil || err != nil {
		return nil, err
	}
	return string(raw.([]byte)), nil
}

// Package audit keeps the audit log: an entry for every change made through
// an admin mutation, saying which mutation made it (its action), to which
// object, with which API key, when, in which request and from which
// address, and the object before and after.
//
// Recording is generic: the GraphQL layer calls Begin around every admin
// mutation and Finish once it succeeded, so a mutation is recorded without
// code of its own. The code that makes a change adds what only it knows:
//
//   - Record, called in the transaction that makes the change, writes the
//     entry in that transaction: it commits, or not, with the change, and
//     Finish then writes nothing more.
//   - Change attaches the object and its before/after to the entry Finish
//     writes right after the mutation, for a change that is not one
//     transaction the code can reach (or that turned out to change nothing).
//
// Outside a mutation (jobs, the CLI, the demo) both do nothing. A failed
// mutation writes no entry unless a transaction of it that called Record
// committed. Entries never hold a secret nor an end user's identifiers
// (external ids, anonymous ids, user ids): erasure must leave none behind,
// and the log must outlive it. A User's id given as the object is stored as
// none; before and after are the caller's to keep clean.
package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/user"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// Execer runs a statement: a *sql.DB, a *sql.Tx, an ent client or an ent
// transaction all are one.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// ErrNoProject is returned when a mutation to record has no tenant scope:
// an entry always belongs to a project.
var ErrNoProject = errors.New("audit: the mutation has no project")

// mutation is the entry under way for one mutation field.
type mutation struct {
	action string
	scope  tenant.Scope
	origin Origin

	mu            sync.Mutex
	objectID      int
	before, after any
	recorded      bool // an entry was written in a transaction of the change
}

type mutationKey struct{}

// Begin returns ctx carrying the entry of mutation action, made with the
// key of ctx's scope from ctx's Origin. objectID (0 for none) is the
// object the entry names unless Change or Record names another; the
// GraphQL layer passes the mutation's id argument.
func Begin(ctx context.Context, action string, objectID int) context.Context {
	scope, _ := tenant.FromContext(ctx)
	m := &mutation{action: action, scope: scope, origin: OriginOf(ctx), objectID: objectID}
	return context.WithValue(ctx, mutationKey{}, m)
}

func from(ctx context.Context) *mutation {
	m, _ := ctx.Value(mutationKey{}).(*mutation)
	return m
}

// Change attaches objectID (0 keeps the one Begin was given) and the
// object before and after the change (nil for none; anything encoding/json
// takes) to the entry Finish writes. A later call replaces an earlier one.
func Change(ctx context.Context, objectID int, before, after any) {
	m := from(ctx)
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if objectID != 0 {
		m.objectID = objectID
	}
	m.before, m.after = before, after
}

// Record writes an entry for the change of objectID (0 for none) from
// before to after in tx, the transaction that makes the change, so that
// the entry exists exactly when the change committed. The caller's
// contract: if tx does not commit, the mutation fails. A mutation may
// Record several changes (one entry each); Finish then adds none.
func Record(ctx context.Context, tx Execer, objectID int, before, after any) error {
	m := from(ctx)
	if m == nil {
		return nil
	}
	if err := m.insert(ctx, tx, objectID, before, after); err != nil {
		return err
	}
	m.mu.Lock()
	m.recorded = true
	m.mu.Unlock()
	return nil
}

// Finish writes the entry of a mutation that succeeded, through db, unless
// Record already wrote one in a transaction of the change. It is called
// right after the mutation: a crash between the mutation's commit and this
// write loses the entry, which is why changes Record where they can.
func Finish(ctx context.Context, db Execer) error {
	m := from(ctx)
	if m == nil {
		return nil
	}
	m.mu.Lock()
	recorded, objectID, before, after := m.recorded, m.objectID, m.before, m.after
	m.mu.Unlock()
	if recorded {
		return nil
	}
	return m.insert(ctx, db, objectID, before, after)
}

// insertEntry appends one entry. The key's prefix is copied from the
// scope so the entry still says who it was once the key is revoked.
const insertEntry = `INSERT INTO audit_entries
	(project_id, action, object_id, key_id, key_prefix, at, request_id, source_ip, before, after)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

func (m *mutation) insert(ctx context.Context, exec Execer, objectID int, before, after any) error {
	if m.scope.ProjectID == 0 {
		return fmt.Errorf("record %s: %w", m.action, ErrNoProject)
	}
	if objectID == 0 {
		objectID = m.objectID
	}
	if table, ok := ent.TableOfID(objectID); ok && table == user.Table {
		// An end user's id never enters the log, which outlives erasure:
		// an erasure's entry names the erasure (or nothing), not the user.
		objectID = 0
	}
	beforeJSON, err := encode(before)
	if err != nil {
		return fmt.Errorf("record %s: encode before: %w", m.action, err)
	}
	afterJSON, err := encode(after)
	if err != nil {
		return fmt.Errorf("record %s: encode after: %w", m.action, err)
	}
	_, err = exec.ExecContext(ctx, insertEntry, m.scope.ProjectID, m.action, nullInt(objectID),
		nullInt(m.scope.KeyID), nullString(m.scope.KeyPrefix), time.Now(),
		nullString(m.origin.RequestID), nullString(m.origin.SourceIP), beforeJSON, afterJSON)
	if err != nil {
		return fmt.Errorf("record %s in the audit log: %w", m.action, err)
	}
	return nil
}

// encode is v as JSON, or SQL NULL for nil and for what encodes as null.
func encode(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	raw, err := json.Marshal(v)
	if err != nil || string(raw) == "null" {
		return nil, err
	}
	return raw, nil
}

func nullInt(v int) sql.NullInt64 { return sql.NullInt64{Int64: int64(v), Valid: v != 0} }

func nullString(v string) sql.NullString { return sql.NullString{String: v, Valid: v != ""} }

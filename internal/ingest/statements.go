package ingest

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/pulse-analytics/pulse/internal/dirty"
)

// statements holds the writer's frequent queries prepared: every batch runs
// the same few statements, and having PostgreSQL parse, analyse and plan
// each of them for every batch cost about as much as running them. An
// unprepared statement with arguments also costs lib/pq two round trips
// (parse and describe, then bind and execute) where a prepared one costs
// one. database/sql prepares each statement again on every connection
// that runs it, once.
type statements struct {
	db *sql.DB

	mu       sync.Mutex
	prepared map[string]*sql.Stmt
}

// preparedQueries are the queries statements prepares; any other query runs
// unprepared.
var preparedQueries = []string{
	selectSettings, selectUsersByExternalID, findOrCreateUsersByExternalID, selectAliasedMeanwhile, selectAnonymous, insertIdentity,
	insertAnonymousUser, insertMessageKeysSkippingKnown, insertEventsSkippingKnown, rollUpUsersAndDays, selectSettingsCurrent,
	dirty.MarkStatement,
}

func newStatements(db *sql.DB) *statements { return &statements{db: db} }

// prepare prepares the queries once. It runs before a batch opens its
// transaction, so it never waits for a connection while holding one.
func (s *statements) prepare(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.prepared != nil {
		return nil
	}
	prepared := make(map[string]*sql.Stmt, len(preparedQueries))
	for _, query := range preparedQueries {
		stmt, err := s.db.PrepareContext(ctx, query)
		if err != nil {
			for _, p := range prepared {
				_ = p.Close()
			}
			return fmt.Errorf("prepare ingest statements: %w", err)
		}
		prepared[query] = stmt
	}
	s.prepared = prepared
	return nil
}

// in returns query for use in tx: prepared when it is one of
// preparedQueries (and prepare ran), else nil.
func (s *statements) in(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	s.mu.Lock()
	stmt := s.prepared[query]
	s.mu.Unlock()
	if stmt == nil {
		return nil
	}
	return tx.StmtContext(ctx, stmt)
}

// dbtx runs queries in one transaction, prepared when they can be.
type dbtx struct {
	*sql.Tx
	// conn is the transaction's connection, for what only the driver
	// offers (COPY).
	conn  *sql.Conn
	stmts *statements
}

func (t dbtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if stmt := t.stmts.in(ctx, t.Tx, query); stmt != nil {
		return stmt.QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

func (t dbtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if stmt := t.stmts.in(ctx, t.Tx, query); stmt != nil {
		return stmt.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}

func (t dbtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if stmt := t.stmts.in(ctx, t.Tx, query); stmt != nil {
		return stmt.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

package database

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"

	"github.com/lib/pq"
)

// stmtCacheSize is how many statements a connection keeps prepared.
const stmtCacheSize = 200

// cachingConnector gives every connection of a pool a cache of prepared
// statements by their text. lib/pq runs a query with parameters in two
// round trips, Parse and Describe, then Bind and Execute, and PostgreSQL
// parses (and mostly plans) it each time; a cached statement runs in one
// round trip, parsed once, planned once its generic plan is as good.
// ent writes the same text for the same shape of query, so a pool serving
// an API runs a few hundred texts over and over.
type cachingConnector struct {
	driver.Connector
}

// Connect implements driver.Connector.
func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &cachingConn{conn: conn, byText: map[string]*list.Element{}, lru: list.New()}, nil
}

// cachingConn is a lib/pq connection with its cache. database/sql uses a
// connection from one goroutine at a time, so the cache has no lock.
type cachingConn struct {
	conn   driver.Conn
	byText map[string]*list.Element
	lru    *list.List // of *cachedStmt, most recently used first
}

type cachedStmt struct {
	text string
	stmt driver.Stmt
}

var (
	_ driver.Conn               = (*cachingConn)(nil)
	_ driver.ConnBeginTx        = (*cachingConn)(nil)
	_ driver.ConnPrepareContext = (*cachingConn)(nil)
	_ driver.QueryerContext     = (*cachingConn)(nil)
	_ driver.ExecerContext      = (*cachingConn)(nil)
	_ driver.Pinger             = (*cachingConn)(nil)
	_ driver.SessionResetter    = (*cachingConn)(nil)
	_ driver.Validator          = (*cachingConn)(nil)
	_ driver.NamedValueChecker  = (*cachingConn)(nil)
)

// QueryContext runs a query with parameters through its cached statement;
// one without any stays a simple query, which is one round trip already.
func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if len(args) == 0 {
		return c.conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	}
	stmt, err := c.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if stale(err) {
		// A statement prepared before a migration changed its tables
		// fails; prepared again, it sees them as they are.
		c.evict(query)
		if stmt, err = c.prepared(ctx, query); err != nil {
			return nil, err
		}
		rows, err = stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	}
	return rows, err
}

// ExecContext leaves statements run for their effect uncached: their
// texts vary with the rows they write, and they are few.
func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.conn.(driver.ExecerContext).ExecContext(ctx, query, args)
}

// prepared returns the cached statement of query, preparing it (and
// closing the least recently used past stmtCacheSize) if needed.
func (c *cachingConn) prepared(ctx context.Context, query string) (driver.Stmt, error) {
	if e, ok := c.byText[query]; ok {
		c.lru.MoveToFront(e)
		return e.Value.(*cachedStmt).stmt, nil
	}
	stmt, err := c.conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.byText[query] = c.lru.PushFront(&cachedStmt{text: query, stmt: stmt})
	if c.lru.Len() > stmtCacheSize {
		oldest := c.lru.Back().Value.(*cachedStmt)
		c.evict(oldest.text)
	}
	return stmt, nil
}

func (c *cachingConn) evict(query string) {
	e, ok := c.byText[query]
	if !ok {
		return
	}
	delete(c.byText, query)
	c.lru.Remove(e)
	_ = e.Value.(*cachedStmt).stmt.Close()
}

// stale reports a statement invalidated by a change of its tables.
func stale(err error) bool {
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) {
		return false
	}
	// feature_not_supported: "cached plan must not change result type";
	// invalid_sql_statement_name: the statement is gone.
	return pqErr.Code == "0A000" || pqErr.Code == "26000"
}

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) { return c.conn.Prepare(query) }

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

// Begin is driver.Conn's; database/sql calls BeginTx.
func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.conn.Begin() //nolint:staticcheck // forwarded as lib/pq implements it
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

// Close closes the connection; its statements go with it on the server.
func (c *cachingConn) Close() error { return c.conn.Close() }

func (c *cachingConn) Ping(ctx context.Context) error { return c.conn.(driver.Pinger).Ping(ctx) }

func (c *cachingConn) ResetSession(ctx context.Context) error {
	return c.conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *cachingConn) IsValid() bool { return c.conn.(driver.Validator).IsValid() }

func (c *cachingConn) CheckNamedValue(nv *driver.NamedValue) error {
	return c.conn.(driver.NamedValueChecker).CheckNamedValue(nv)
}

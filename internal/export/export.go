// Package export streams a segment's members (now, or at an instant of its
// membership history) and a run's entered and exited users as CSV or NDJSON,
// in constant memory: rows go from one PostgreSQL statement to the writer as
// they arrive, never held.
//
// An export is opened first (the segment or run looked up, the trait columns
// decided), so everything that can be refused is refused before a byte of
// the file is written; then it is written; then closed. Everything it reads
// runs in one read-only REPEATABLE READ transaction, so the trait columns
// found in a first pass and the rows of the second, or a run's entered and
// exited users, are one snapshot.
package export

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pulse-analytics/pulse/ent/segmentrun"
	"github.com/pulse-analytics/pulse/internal/invalid"
)

// Format is the file format of an export.
type Format string

// The formats.
const (
	CSV    Format = "csv"
	NDJSON Format = "ndjson"
)

// MaxTraitColumns bounds the traits of an export: the names a request gives
// and, when it names none, the distinct trait keys among the exported users.
const MaxTraitColumns = 1000

// MaxTraitNameBytes bounds the length of one trait name in an export.
const MaxTraitNameBytes = 1024

// ErrRunNotCompleted is wrapped by the error of opening the changes of a run
// that is still pending or running: its changes are not known yet.
var ErrRunNotCompleted = errors.New("run not completed")

// Request says what to export.
type Request struct {
	// ProjectID is the caller's project; ids of other projects are not found.
	ProjectID int
	// SegmentID exports the segment's members; RunID, the run's changes.
	// Exactly one is set.
	SegmentID int
	RunID     int
	// At, for members, exports the members at that instant instead of now.
	At *time.Time
	// Traits are the traits to export, in order. Nil exports all of them:
	// the whole traits object in NDJSON; in CSV, one column per distinct
	// trait key among the exported users, in byte order.
	Traits []string
	Format Format
}

// Exporter opens exports over a database.
type Exporter struct {
	db *sql.DB
}

// New returns an Exporter over db. Each open export holds one of its
// connections until closed.
func New(db *sql.DB) *Exporter { return &Exporter{db: db} }

// Export is an open export: its transaction and what it will write.
type Export struct {
	tx      *sql.Tx
	format  Format
	changes bool // a run's changes rather than members
	// traits are the trait columns (CSV) or the traits picked from each
	// user's object (NDJSON); nil with all in NDJSON: the whole object.
	traits []string
	all    bool
	// statements select the rows, written one after the other.
	statements []statement
	name       string
}

// Open looks up what req names and decides the columns. Errors are
// *invalid.Error (wrapping invalid.ErrNotFound for ids that are not the
// project's), ErrRunNotCompleted, or internal. The caller must Close the
// export.
func (e *Exporter) Open(ctx context.Context, req Request) (*Export, error) {
	if (req.SegmentID == 0) == (req.RunID == 0) {
		return nil, errors.New("open export: give a segment or a run")
	}
	if len(req.Traits) > MaxTraitColumns {
		return nil, invalid.Field("traits", "names %d traits; an export has at most %d", len(req.Traits), MaxTraitColumns)
	}
	tx, err := e.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("open export: begin: %w", err)
	}
	x := &Export{tx: tx, format: req.Format, changes: req.RunID != 0, traits: req.Traits, all: req.Traits == nil}
	if err := x.plan(ctx, req); err != nil {
		_ = tx.Rollback()
		return nil, err
	}
	return x, nil
}

// plan finds the segment or run and prepares the statements.
func (x *Export) plan(ctx context.Context, req Request) error {
	var src source
	if req.RunID != 0 {
		name, err := x.run(ctx, req.ProjectID, req.RunID)
		if err != nil {
			return err
		}
		x.name = name
		src = runChanges(req.ProjectID, req.RunID)
	} else {
		name, err := x.segment(ctx, req.ProjectID, req.SegmentID)
		if err != nil {
			return err
		}
		x.name = name + "-members"
		src = segmentMembers(req.ProjectID, req.SegmentID, req.At)
	}
	if x.all && x.format == CSV {
		keys, err := traitKeys(ctx, x.tx, src)
		if err != nil {
			return err
		}
		x.traits = keys
	}
	for _, f := range src.froms {
		x.statements = append(x.statements, selectRows(f, src.args, x.format, x.traits, x.all && x.format == NDJSON))
	}
	return nil
}

// segment returns the name of a segment of the project.
func (x *Export) segment(ctx context.Context, projectID, segmentID int) (string, error) {
	var name string
	err := x.tx.QueryRowContext(ctx, `SELECT name FROM segments WHERE id = $1 AND project_id = $2`, segmentID, projectID).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", &invalid.Error{Field: "id", Message: fmt.Sprintf("segment %d not found", segmentID), Err: invalid.ErrNotFound}
	}
	if err != nil {
		return "", fmt.Errorf("load segment %d: %w", segmentID, err)
	}
	return name, nil
}

// run returns the file name of a run of the project: its segment's name and
// its sequence number.
func (x *Export) run(ctx context.Context, projectID, runID int) (string, error) {
	var (
		name   string
		status string
		seq    sql.NullInt64
	)
	err := x.tx.QueryRowContext(ctx, `SELECT s.name, r.status, r.seq FROM segment_runs r JOIN segments s ON s.id = r.segment_id
		WHERE r.id = $1 AND r.project_id = $2`, runID, projectID).Scan(&name, &status, &seq)
	if errors.Is(err, sql.ErrNoRows) {
		return "", &invalid.Error{Field: "id", Message: fmt.Sprintf("run %d not found", runID), Err: invalid.ErrNotFound}
	}
	if err != nil {
		return "", fmt.Errorf("load run %d: %w", runID, err)
	}
	switch segmentrun.Status(status) {
	case segmentrun.StatusPENDING, segmentrun.StatusRUNNING:
		return "", fmt.Errorf("run %d is %s: its changes are known once it completes: %w", runID, status, ErrRunNotCompleted)
	}
	if seq.Valid {
		return fmt.Sprintf("%s-run-%d-changes", name, seq.Int64), nil
	}
	return fmt.Sprintf("%s-run-%d-changes", name, runID), nil
}

// Name is the export's file name without extension: the segment's name and
// "-members", or "-run-<seq>-changes". It is the name as the user wrote it;
// see ContentDisposition for a header.
func (x *Export) Name() string { return x.name }

// Columns are the export's CSV header: the user's columns, then one
// "traits.<name>" column per trait.
func (x *Export) Columns() []string {
	cols := []string{"id", "externalId", "enteredAt"}
	if x.changes {
		cols = []string{"change", "id", "externalId", "enteredAt", "exitedAt"}
	}
	for _, t := range x.traits {
		cols = append(cols, "traits."+t)
	}
	return cols
}

// Write writes the export to w, row by row as PostgreSQL sends them, and
// returns the bytes written. An error after the first bytes leaves w with
// a truncated file: the caller must make that visible (an HTTP handler
// aborts the response).
func (x *Export) Write(ctx context.Context, w io.Writer) (int64, error) {
	counted := &countingWriter{w: w}
	enc := newEncoder(counted, x.format, x.changes)
	if err := enc.begin(x.Columns()); err != nil {
		return counted.n, err
	}
	for _, st := range x.statements {
		if err := x.stream(ctx, st, enc); err != nil {
			return counted.n, err
		}
	}
	return counted.n, enc.flush()
}

// stream writes the rows of one statement. When ctx ends (the client went
// away) lib/pq cancels the statement rather than reading the rows left.
func (x *Export) stream(ctx context.Context, st statement, enc encoder) error {
	ctx, cancel := context.WithCancel(ctx)
	rows, err := x.tx.QueryContext(ctx, st.text, st.args...)
	if err != nil {
		cancel()
		return fmt.Errorf("export rows: %w", err)
	}
	defer func() { _ = rows.Close() }()
	// Runs before Close: rows left unread when the writer failed (a client
	// that went away) are cancelled, where Close alone would read them all.
	defer cancel()
	r := newRow(len(x.traits), x.changes, x.format == NDJSON)
	for rows.Next() {
		if err := rows.Scan(r.dest...); err != nil {
			return fmt.Errorf("export rows: scan: %w", err)
		}
		r.change = st.change
		if err := enc.row(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export rows: %w", err)
	}
	return nil
}

// Close ends the export's transaction, releasing its connection.
func (x *Export) Close() error {
	if err := x.tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("close export: %w", err)
	}
	return nil
}

// countingWriter counts what passes through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

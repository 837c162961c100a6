package export

import (
	"bufio"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// bufferSize is what an export buffers before writing to its writer: big
// enough that a response is written in few large chunks, small enough to
// be nothing next to a connection's memory.
const bufferSize = 64 << 10

// row is one exported row, scanned in place: the trait values alias the
// driver's buffers and are valid until the next row.
type row struct {
	change     string
	userID     int64
	externalID sql.NullString
	enteredAt  time.Time
	exitedAt   sql.NullTime
	// traits are the values of the trait columns (CSV) or the one traits
	// object (NDJSON), as PostgreSQL's text.
	traits []sql.RawBytes
	dest   []any
}

// newRow returns a row that scans the columns of selectRows: traitColumns
// trait columns in CSV, one traits object in NDJSON.
func newRow(traitColumns int, changes, ndjson bool) *row {
	if ndjson {
		traitColumns = 1
	}
	r := &row{traits: make([]sql.RawBytes, traitColumns)}
	r.dest = []any{&r.userID, &r.externalID, &r.enteredAt}
	if changes {
		r.dest = append(r.dest, &r.exitedAt)
	}
	for i := range r.traits {
		r.dest = append(r.dest, &r.traits[i])
	}
	return r
}

// encoder writes rows in one format.
type encoder interface {
	// begin starts the file: CSV's header.
	begin(columns []string) error
	row(r *row) error
	// flush writes what is buffered.
	flush() error
}

func newEncoder(w io.Writer, format Format, changes bool) encoder {
	buf := bufio.NewWriterSize(w, bufferSize)
	if format == NDJSON {
		enc := json.NewEncoder(buf)
		enc.SetEscapeHTML(false)
		return &ndjsonEncoder{buf: buf, enc: enc, changes: changes}
	}
	// csv.NewWriter writes into buf itself (a *bufio.Writer big enough).
	// Records end with \n, not RFC 4180's \r\n: encoding/csv's CRLF mode
	// drops a \r inside a quoted field, and an export must give back every
	// trait as it is. Every CSV reader accepts both.
	return &csvEncoder{w: csv.NewWriter(buf), changes: changes}
}

// csvEncoder writes RFC 4180 CSV: fields that hold a comma, a quote, a
// line break or leading space are quoted, quotes doubled.
type csvEncoder struct {
	w       *csv.Writer
	changes bool
	record  []string
	stamp   []byte
}

func (e *csvEncoder) begin(columns []string) error {
	if err := e.w.Write(columns); err != nil {
		return fmt.Errorf("write export: %w", err)
	}
	return nil
}

func (e *csvEncoder) row(r *row) error {
	rec := e.record[:0]
	if e.changes {
		rec = append(rec, r.change)
	}
	rec = append(rec, strconv.FormatInt(r.userID, 10), r.externalID.String, e.time(r.enteredAt))
	if e.changes {
		exited := ""
		if r.exitedAt.Valid {
			exited = e.time(r.exitedAt.Time)
		}
		rec = append(rec, exited)
	}
	for _, v := range r.traits {
		rec = append(rec, string(v))
	}
	e.record = rec
	if err := e.w.Write(rec); err != nil {
		return fmt.Errorf("write export: %w", err)
	}
	return nil
}

// time formats an instant as the GraphQL API does: RFC 3339 in UTC with
// the fraction of a second it has.
func (e *csvEncoder) time(t time.Time) string {
	e.stamp = t.UTC().AppendFormat(e.stamp[:0], time.RFC3339Nano)
	return string(e.stamp)
}

func (e *csvEncoder) flush() error {
	e.w.Flush()
	if err := e.w.Error(); err != nil {
		return fmt.Errorf("write export: %w", err)
	}
	return nil
}

// ndjsonEncoder writes one JSON object per line: member rows as
// memberLine, a run's as changeLine.
type ndjsonEncoder struct {
	buf     *bufio.Writer
	enc     *json.Encoder
	changes bool
}

// memberLine is a member in NDJSON: ids as the GraphQL API writes them
// (decimal strings), externalId null for an anonymous user.
type memberLine struct {
	ID         string          `json:"id"`
	ExternalID *string         `json:"externalId"`
	EnteredAt  time.Time       `json:"enteredAt"`
	Traits     json.RawMessage `json:"traits"`
}

// changeLine is a user a run entered or exited; exitedAt is null for
// ENTERED.
type changeLine struct {
	Change     string          `json:"change"`
	ID         string          `json:"id"`
	ExternalID *string         `json:"externalId"`
	EnteredAt  time.Time       `json:"enteredAt"`
	ExitedAt   *time.Time      `json:"exitedAt"`
	Traits     json.RawMessage `json:"traits"`
}

func (e *ndjsonEncoder) begin([]string) error { return nil }

func (e *ndjsonEncoder) row(r *row) error {
	var ext *string
	if r.externalID.Valid {
		ext = &r.externalID.String
	}
	// json.RawMessage is compacted as it is encoded: jsonb's text has a
	// space after every colon and comma.
	traits := json.RawMessage(r.traits[0])
	var line any = memberLine{ID: strconv.FormatInt(r.userID, 10), ExternalID: ext, EnteredAt: r.enteredAt.UTC(), Traits: traits}
	if e.changes {
		c := changeLine{Change: r.change, ID: strconv.FormatInt(r.userID, 10), ExternalID: ext, EnteredAt: r.enteredAt.UTC(), Traits: traits}
		if r.exitedAt.Valid {
			exited := r.exitedAt.Time.UTC()
			c.ExitedAt = &exited
		}
		line = c
	}
	if err := e.enc.Encode(line); err != nil {
		return fmt.Errorf("write export: %w", err)
	}
	return nil
}

func (e *ndjsonEncoder) flush() error {
	if err := e.buf.Flush(); err != nil {
		return fmt.Errorf("write export: %w", err)
	}
	return nil
}

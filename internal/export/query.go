package export

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/internal/invalid"
)

// from is one kind of exported rows: the users of a membership table and
// where, with the interval's times. The texts are constants of this file;
// user input only ever reaches the statement as bind parameters.
type from struct {
	change    string // "ENTERED" or "EXITED" for a run's changes, else ""
	enteredAt string
	exitedAt  string // "" for members
	// body is the FROM and WHERE, over $1 and $2 (and $3): the source's args.
	body string
	// distinct keeps one row per user (the earliest interval), for history
	// where a user could have two intervals at an instant (a merge).
	distinct bool
}

// source is what an export reads: its kinds of rows, written in order, and
// the arguments every one of them takes.
type source struct {
	froms []from
	args  []any
}

// segmentMembers reads the members of a segment now (segment_members, by
// its primary key in user order) or, with at, the intervals that contain
// at (segmentmembership_segment_id_entered_at, then sorted by user).
func segmentMembers(projectID, segmentID int, at *time.Time) source {
	if at == nil {
		return source{froms: []from{{
			enteredAt: "m.entered_at",
			body:      `FROM segment_members m JOIN users u ON u.id = m.user_id WHERE m.segment_id = $1 AND u.project_id = $2`,
		}}, args: []any{segmentID, projectID}}
	}
	return source{froms: []from{{
		enteredAt: "m.entered_at",
		body: `FROM segment_memberships m JOIN users u ON u.id = m.user_id
			WHERE m.segment_id = $1 AND m.project_id = $2 AND m.entered_at <= $3 AND (m.exited_at IS NULL OR m.exited_at > $3)`,
		distinct: true,
	}}, args: []any{segmentID, projectID, at.UTC()}}
}

// runChanges reads the users a run entered, then those it exited, each by
// user id on the partial indexes segmentmembership_entered_run_id_user_id
// and segmentmembership_exited_run_id_user_id.
func runChanges(projectID, runID int) source {
	return source{froms: []from{{
		change:    "ENTERED",
		enteredAt: "m.entered_at",
		exitedAt:  "NULL::timestamptz",
		body:      `FROM segment_memberships m JOIN users u ON u.id = m.user_id WHERE m.entered_run_id = $1 AND m.project_id = $2`,
	}, {
		change:    "EXITED",
		enteredAt: "m.entered_at",
		exitedAt:  "m.exited_at",
		body:      `FROM segment_memberships m JOIN users u ON u.id = m.user_id WHERE m.exited_run_id = $1 AND m.project_id = $2`,
	}}, args: []any{runID, projectID}}
}

// statement is one SELECT of export rows.
type statement struct {
	change string
	text   string
	args   []any
}

// selectRows is the statement of one kind of rows: the user's columns, the
// interval's, then the traits. In CSV each trait is a column of its own,
// its text as ->> gives it (a string without quotes, other values as JSON
// text, null and missing as NULL). In NDJSON the traits are one object:
// the user's whole object with all, else the named keys the user has.
func selectRows(f from, srcArgs []any, format Format, traits []string, all bool) statement {
	args := append([]any(nil), srcArgs...)
	var b strings.Builder
	b.WriteString("SELECT ")
	if f.distinct {
		b.WriteString("DISTINCT ON (m.user_id) ")
	}
	b.WriteString("u.id, u.external_id, " + f.enteredAt)
	if f.exitedAt != "" {
		b.WriteString(", " + f.exitedAt)
	}
	switch {
	case format == CSV:
		for _, t := range traits {
			args = append(args, t)
			fmt.Fprintf(&b, ", u.traits ->> $%d", len(args))
		}
	case all:
		b.WriteString(", COALESCE(u.traits, '{}'::jsonb)")
	default:
		args = append(args, pq.Array(traits))
		fmt.Fprintf(&b, ", COALESCE((SELECT jsonb_object_agg(k, u.traits -> k) FROM unnest($%d::text[]) AS k WHERE u.traits ? k), '{}'::jsonb)", len(args))
	}
	b.WriteString("\n" + f.body + "\nORDER BY m.user_id")
	if f.distinct {
		b.WriteString(", m.entered_at")
	}
	return statement{change: f.change, text: b.String(), args: args}
}

// traitKeys returns the distinct trait keys of the users src reads, in byte
// order: the trait columns of a CSV that names none. More than
// MaxTraitColumns keys, or a key longer than MaxTraitNameBytes, is refused:
// such a file would be a header no tool can use, and the request should
// name the traits it wants.
func traitKeys(ctx context.Context, tx *sql.Tx, src source) ([]string, error) {
	parts := make([]string, len(src.froms))
	for i, f := range src.froms {
		parts[i] = "SELECT jsonb_object_keys(u.traits) AS k " + f.body + " AND jsonb_typeof(u.traits) = 'object'"
	}
	// left() bounds what a hostile key costs here; one longer than the
	// bound is refused below whatever its tail.
	text := fmt.Sprintf(`SELECT left(k, %d) FROM (SELECT DISTINCT k FROM (%s) keys) d ORDER BY k COLLATE "C" LIMIT %d`,
		MaxTraitNameBytes+1, strings.Join(parts, "\nUNION ALL\n"), MaxTraitColumns+1)
	rows, err := tx.QueryContext(ctx, text, src.args...)
	if err != nil {
		return nil, fmt.Errorf("find trait keys: %w", err)
	}
	defer func() { _ = rows.Close() }()
	keys := []string{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("find trait keys: %w", err)
		}
		if len(k) > MaxTraitNameBytes {
			return nil, invalid.Field("traits", "a trait key of these users is longer than %d bytes; name the traits to export, e.g. traits=plan,country", MaxTraitNameBytes)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find trait keys: %w", err)
	}
	if len(keys) > MaxTraitColumns {
		return nil, invalid.Field("traits", "these users have more than %d distinct trait keys; name the traits to export, e.g. traits=plan,country", MaxTraitColumns)
	}
	return keys, nil
}

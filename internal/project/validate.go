package project

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/retention"
	"github.com/pulse-analytics/pulse/internal/segment"
)

// MaxNameLength bounds a project's name, in characters.
const MaxNameLength = 200

// maxListedSegments bounds the segments a refused retention names.
const maxListedSegments = 10

func trimmed(name string) string { return strings.TrimSpace(name) }

// checkChange checks the fields of ch that need nothing but themselves.
func checkChange(ch Change) error {
	if ch.Name != nil {
		switch name := trimmed(*ch.Name); {
		case name == "":
			return invalid.Field("input.name", "must not be empty")
		case utf8.RuneCountInString(name) > MaxNameLength:
			return invalid.Field("input.name", "must be at most %d characters, got %d", MaxNameLength, utf8.RuneCountInString(name))
		}
	}
	if ch.Timezone != nil {
		if err := checkTimezone(*ch.Timezone); err != nil {
			return err
		}
	}
	if ch.Retention != nil && ch.Retention.Days != nil {
		if days := *ch.Retention.Days; days < 1 || days > retention.MaxDays {
			return invalid.Field("input.retentionDays", "must be between 1 and %d days (or null to keep data for ever), got %d", retention.MaxDays, days)
		}
	}
	return nil
}

// checkTimezone accepts the names of the IANA time zone database that Go
// knows, as "Europe/Paris"; "Local" (whatever the server's zone is) and
// the empty name (UTC to Go) are refused.
func checkTimezone(name string) error {
	if name == "" || name == "Local" {
		return invalid.Field("input.timezone", "must be an IANA time zone name such as \"Europe/Paris\" or \"UTC\", got %q", name)
	}
	if _, err := time.LoadLocation(name); err != nil {
		return invalid.Field("input.timezone", "unknown time zone %q: use an IANA name such as \"Europe/Paris\" or \"UTC\"", name)
	}
	return nil
}

// checkServerTimezone checks that PostgreSQL knows the zone too: analytics
// count days in it with AT TIME ZONE. pg_timezone_names reads the zone
// files (tens of milliseconds), which only a change of zone pays.
func checkServerTimezone(ctx context.Context, tx *sql.Tx, name string) error {
	var known bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1)`, name).Scan(&known); err != nil {
		return fmt.Errorf("check time zone %q: %w", name, err)
	}
	if !known {
		return invalid.Field("input.timezone", "time zone %q is unknown to the database server", name)
	}
	return nil
}

// tooLong is a segment that reads further back than a retention keeps.
type tooLong struct {
	id        int
	name      string
	days      int
	unbounded bool
}

func (s tooLong) String() string {
	reach := days(s.days)
	if s.unbounded {
		reach = "all history"
	}
	return fmt.Sprintf("%d %q (%s)", s.id, s.name, reach)
}

func days(n int) string {
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// checkSegments refuses a retention of retentionDays shorter than what a
// segment of the project reads: every active segment with a rule
// (archived ones are no longer computed), in id order.
func checkSegments(ctx context.Context, tx *sql.Tx, projectID, retentionDays int) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, name, rule FROM segments WHERE project_id = $1 AND archived_at IS NULL AND rule IS NOT NULL ORDER BY id`, projectID)
	if err != nil {
		return fmt.Errorf("read the segments of project %d: %w", projectID, err)
	}
	defer func() { _ = rows.Close() }()
	var found []tooLong
	for rows.Next() {
		var (
			s   tooLong
			raw []byte
		)
		if err := rows.Scan(&s.id, &s.name, &raw); err != nil {
			return fmt.Errorf("read the segments of project %d: %w", projectID, err)
		}
		r, err := segment.Decode(raw)
		if err != nil {
			return fmt.Errorf("segment %d: %w", s.id, err)
		}
		reaches := segment.Reaches(r)
		if segment.Exceeds(reaches, retentionDays) {
			s.days, s.unbounded = segment.Longest(reaches)
			found = append(found, s)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the segments of project %d: %w", projectID, err)
	}
	if len(found) == 0 {
		return nil
	}
	verb, them := "reads", "it"
	if len(found) > 1 {
		verb, them = "read", "them"
	}
	return invalid.Field("input.retentionDays", "%s %s further back than %s and would lose members as that data is deleted: shorten the windows (withinDays) of %s or archive %s first",
		listSegments(found), verb, days(retentionDays), them, them)
}

func listSegments(found []tooLong) string {
	names := make([]string, 0, maxListedSegments+1)
	for i, s := range found {
		if i == maxListedSegments {
			names = append(names, fmt.Sprintf("and %d more", len(found)-i))
			break
		}
		names = append(names, s.String())
	}
	what := "segment"
	if len(found) > 1 {
		what = "segments"
	}
	return what + " " + strings.Join(names, ", ")
}

// Package dirty marks users dirty for the real-time segments whose rule
// reads what changed about them, in the transaction of the change: the
// segment's incremental pass then re-evaluates exactly those users. A mark
// is a row of segment_dirty_users: a segment, a user and the time of the
// change it stands for, until a pass consumes it.
//
// A change is named by a key of the same form as a segment's sources
// (segment.Source: its kind, a colon, its name): "event:signup", "trait:plan", "feedback:",
// "survey:12", "segment:7". A segment whose sources hold the key, or an
// event segment whose sources hold "event:" (any event), is marked; the key
// All marks every real-time segment of the project (a new or merged user,
// whose whole state is new).
package dirty

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/internal/segment"
)

// All is the key of a change that can move a user in any segment.
const All = "*"

// Keys of changes, in the form of a segment.Source.
func Event(name string) string { return string(segment.SourceEvent) + ":" + name }

// AnyEvent is the key every usage event also carries: rules that read
// events of any name (activity, platform, first and last seen) source it.
func AnyEvent() string { return string(segment.SourceEvent) + ":" }

// Trait is the key of a change of one trait.
func Trait(key string) string { return string(segment.SourceTrait) + ":" + key }

// Feedback is the key of new or changed feedback.
func Feedback() string { return string(segment.SourceFeedback) + ":" }

// Survey is the key of a response to one survey.
func Survey(surveyID int) string { return string(segment.SourceSurvey) + ":" + strconv.Itoa(surveyID) }

// Segment is the key of a membership change in one segment, which moves
// the segments that reference it with inSegment.
func Segment(segmentID int) string {
	return string(segment.SourceSegment) + ":" + strconv.Itoa(segmentID)
}

// Changes collects what a transaction changed, user by user.
type Changes struct {
	users []int64
	keys  []string
}

// Add records that key changed for user.
func (c *Changes) Add(userID int64, key string) {
	c.users = append(c.users, userID)
	c.keys = append(c.keys, key)
}

// AddUsers records that key changed for every user of ids.
func (c *Changes) AddUsers(ids []int64, key string) {
	for _, id := range ids {
		c.Add(id, key)
	}
}

// Len is the number of changes recorded.
func (c *Changes) Len() int { return len(c.users) }

// Execer is a transaction: *sql.Tx and *ent.Tx both are.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Mark marks the users of changes dirty for the project's real-time
// segments that read them, in tx. It must run in the transaction of the
// change, so a mark exists exactly when the change committed.
func Mark(ctx context.Context, tx Execer, projectID int, changes *Changes) error {
	if changes == nil || changes.Len() == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, MarkStatement, projectID, pq.Array(changes.users), pq.Array(changes.keys)); err != nil {
		return fmt.Errorf("mark users dirty: %w", err)
	}
	return nil
}

// Querier is a transaction that returns rows.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// MarkReturning is Mark, returning the segments it marked users dirty for.
func MarkReturning(ctx context.Context, tx Querier, projectID int, changes *Changes) ([]int, error) {
	if changes == nil || changes.Len() == 0 {
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, `WITH marked AS (`+MarkStatement+` RETURNING segment_id) SELECT DISTINCT segment_id FROM marked ORDER BY 1`,
		projectID, pq.Array(changes.users), pq.Array(changes.keys))
	if err != nil {
		return nil, fmt.Errorf("mark users dirty: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var segments []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("mark users dirty: %w", err)
		}
		segments = append(segments, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mark users dirty: %w", err)
	}
	return segments, nil
}

// MarkStatement, the statement of Mark, inserts a mark per real-time
// segment and user for which a change's key is among the segment's
// sources. It is exported for callers that keep it prepared (ingestion
// runs it for every batch).
//
// Marks are only ever inserted, never updated: a user changed by several
// transactions has a mark of each until a pass consumes them. A pass
// deletes exactly the marks it read, which committed before its
// evaluation read the data (see recompute's readMarks), so a change it may
// have missed keeps its own mark for the next pass; and as no two
// transactions ever write the same mark, a change never waits for a pass,
// nor a pass for a change.
//
// The project's segments are few: they are scanned (segment_project_id_name)
// and the changes joined to them in memory. A mark is stamped with the
// clock, not the transaction's start: marking is the change's last step
// before its commit, and freshness counts lag from the commit.
const MarkStatement = `
	INSERT INTO segment_dirty_users (project_id, segment_id, user_id, marked_at)
	SELECT $1, s.id, c.user_id, clock_timestamp()
	FROM segments s
	JOIN projects p ON p.id = s.project_id AND p.realtime
	JOIN unnest($2::bigint[], $3::text[]) AS c(user_id, key) ON c.key = '` + All + `' OR s.realtime_sources ? c.key
	WHERE s.project_id = $1 AND s.realtime_sources IS NOT NULL AND s.archived_at IS NULL
	GROUP BY s.id, c.user_id`

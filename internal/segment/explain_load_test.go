package segment_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/segment"
)

// TestLoadUserSurfacesUndecodableRows: a stored value Explain cannot read
// is an error naming it, not silently an empty value that explains wrong.
func TestLoadUserSurfacesUndecodableRows(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	created, err := auth.CreateProject(context.Background(), database.NewClient(db), t.Name())
	require.NoError(t, err)
	pid := created.Project.ID
	var userID int
	require.NoError(t, db.QueryRow(`INSERT INTO users (project_id, external_id, traits, first_seen_at, last_seen_at, event_count, created_at, updated_at)
		VALUES ($1, 'ann', '{}', now(), now(), 1, now(), now()) RETURNING id`, pid).Scan(&userID))
	rule := &segment.Rule{Event: &segment.EventCondition{Name: "export"}}

	_, err = segment.LoadUser(context.Background(), db, pid, userID, rule, nil)
	require.NoError(t, err, "a user with nothing stored loads")

	// Properties are a JSON object wherever Pulse writes them; an array
	// written by hand cannot be explained.
	_, err = db.Exec(`INSERT INTO events (project_id, user_id, name, timestamp, received_at, properties, platform, message_id)
		VALUES ($1, $2, 'export', now(), now(), '[1, 2]', 'DESKTOP', 'm-1')`, pid, userID)
	require.NoError(t, err)
	_, err = segment.LoadUser(context.Background(), db, pid, userID, rule, nil)
	require.ErrorContains(t, err, `properties of a "export" event`)
	_, err = db.Exec(`UPDATE events SET properties = '{}' WHERE project_id = $1`, pid)
	require.NoError(t, err)

	// Answers are a list; an object is reported with the response's id.
	var responseID int
	require.NoError(t, db.QueryRow(`WITH s AS (INSERT INTO surveys (project_id, name, status, created_at, updated_at)
		VALUES ($1, 'dev', 'ACTIVE', now(), now()) RETURNING id)
		INSERT INTO survey_responses (project_id, survey_id, user_id, answers, submitted_at)
		SELECT $1, id, $2, '{"q": 1}', now() FROM s RETURNING id`, pid, userID).Scan(&responseID))
	_, err = segment.LoadUser(context.Background(), db, pid, userID, rule, nil)
	require.ErrorContains(t, err, fmt.Sprintf("answers of survey response %d", responseID))
}

// TestExplainReadsSeenFromTheUser: first and last seen are explained from
// the user's columns, as compiled rules read them, so a user whose old
// events a retention deleted is still explained as last seen then.
func TestExplainReadsSeenFromTheUser(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	created, err := auth.CreateProject(context.Background(), database.NewClient(db), t.Name())
	require.NoError(t, err)
	pid := created.Project.ID
	now := time.Now().UTC()
	first, last := now.Add(-90*24*time.Hour).Truncate(time.Second), now.Add(-40*24*time.Hour).Truncate(time.Second)
	var userID int
	require.NoError(t, db.QueryRow(`INSERT INTO users (project_id, external_id, traits, first_seen_at, last_seen_at, event_count, created_at, updated_at)
		VALUES ($1, 'ann', '{}', $2, $3, 12, now(), now()) RETURNING id`, pid, first, last).Scan(&userID))
	thirty := 30
	rule := &segment.Rule{LastSeen: &segment.LastSeenCondition{MoreThanDaysAgo: &thirty}}

	d, err := segment.LoadUser(context.Background(), db, pid, userID, rule, nil)
	require.NoError(t, err)
	x := segment.Explain(rule, d, segment.Env{ProjectID: pid, Now: now, Location: time.UTC})
	require.True(t, x.Holds)
	require.Equal(t, "last seen "+last.Format(time.RFC3339), x.Observed)
	require.Equal(t, []int{userID}, segment.Evaluate(rule, d, segment.Env{ProjectID: pid, Now: now, Location: time.UTC}))
}

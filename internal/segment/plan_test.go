package segment_test

import (
	"context"
	"database/sql"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/segment"
)

// bigProject is a project with enough rows that PostgreSQL would rather
// scan a table than use a poor index: 2,000 users, 100,000 events of 30
// names, 20,000 feedback, 20,000 survey responses and 60 days of daily
// activity per user, over the last 60 days, written by SQL in bulk and
// analysed.
type bigProject struct {
	db       *sql.DB
	env      segment.Env
	surveyID int
	users    []int64
}

func newBigProject(t *testing.T) *bigProject {
	t.Helper()
	db := pgtest.DB(t)
	created, err := auth.CreateProject(context.Background(), database.NewClient(db), t.Name())
	require.NoError(t, err)
	p := &bigProject{db: db, env: segment.Env{ProjectID: created.Project.ID, Now: time.Now().UTC(), Location: time.UTC}}
	for _, stmt := range []string{
		`INSERT INTO users (project_id, external_id, traits, first_seen_at, last_seen_at, event_count, created_at, updated_at)
		 SELECT $1, 'u' || i, '{}', now() - interval '60 days', now(), 50, now(), now() FROM generate_series(1, 2000) i`,
		`INSERT INTO events (project_id, user_id, name, timestamp, received_at, properties, platform, message_id)
		 SELECT $1, u.ids[1 + i % 2000], 'event_' || (i % 30), now() - (i % 5184000) * interval '1 second', now(), '{}',
		        (ARRAY['MOBILE', 'DESKTOP'])[1 + i % 2], 'm' || i
		 FROM generate_series(1, 100000) i, (SELECT array_agg(id ORDER BY id) ids FROM users WHERE project_id = $1) u`,
		`INSERT INTO feedbacks (project_id, user_id, kind, nps_score, timestamp, created_at, updated_at)
		 SELECT $1, u.ids[1 + i % 2000], 'PRAISE', i % 11, now() - (i % 5184000) * interval '1 second', now(), now()
		 FROM generate_series(1, 20000) i, (SELECT array_agg(id ORDER BY id) ids FROM users WHERE project_id = $1) u`,
		`INSERT INTO user_daily_activities (project_id, user_id, day, events)
		 SELECT $1, id, current_date - d, 1 FROM users, generate_series(0, 59) d WHERE project_id = $1`,
	} {
		_, err := db.Exec(stmt, p.env.ProjectID)
		require.NoError(t, err)
	}
	require.NoError(t, db.QueryRow(`INSERT INTO surveys (project_id, name, status, created_at, updated_at)
		VALUES ($1, 'big', 'ACTIVE', now(), now()) RETURNING id`, p.env.ProjectID).Scan(&p.surveyID))
	_, err = db.Exec(`INSERT INTO survey_responses (project_id, survey_id, user_id, answers, submitted_at)
		SELECT $1, $2, u.ids[1 + i % 2000], '[]', now() - (i % 5184000) * interval '1 second'
		FROM generate_series(1, 20000) i, (SELECT array_agg(id ORDER BY id) ids FROM users WHERE project_id = $1) u`, p.env.ProjectID, p.surveyID)
	require.NoError(t, err)
	_, err = db.Exec(`ANALYZE users, events, feedbacks, survey_responses, user_daily_activities`)
	require.NoError(t, err)
	rows, err := db.Query(`SELECT id FROM users WHERE project_id = $1 ORDER BY id LIMIT 5`, p.env.ProjectID)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		p.users = append(p.users, id)
	}
	require.NoError(t, rows.Err())
	return p
}

// plan is PostgreSQL's plan of q with its values. events is partitioned by
// month: the plan scans its partitions through their own indexes, which
// it names here as events and the partitioned indexes they belong to. A
// partition with no rows at all (events_history, say, when every
// event is of today) is read by a sequential scan that costs nothing: it is
// named an empty partition.
func (p *bigProject) plan(t *testing.T, q segment.Query) string {
	t.Helper()
	rows, err := p.db.Query("EXPLAIN (VERBOSE) "+q.SQL, q.Args...)
	require.NoError(t, err)
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var line string
		require.NoError(t, rows.Scan(&line))
		lines = append(lines, line)
	}
	require.NoError(t, rows.Err())
	plan := emptyPartitionScan.ReplaceAllString(strings.Join(lines, "\n"), "Empty partition $1 (cost=0.00..0.00 ")
	var pairs []string
	require.NoError(t, p.db.QueryRow(`SELECT COALESCE(array_agg(x), '{}') FROM (
		SELECT unnest(ARRAY[c.relname::text, parent.relname::text]) x
		FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class parent ON parent.oid = i.inhparent
		WHERE c.relkind = 'i' AND parent.relname LIKE 'event_%') p`).Scan(pq.Array(&pairs)))
	plan = strings.NewReplacer(pairs...).Replace(plan)
	return eventsPartition.ReplaceAllString(plan, "public.events ")
}

var (
	// eventsPartition matches a partition of events in a plan.
	eventsPartition = regexp.MustCompile(`public\.events_(history|y\d{4}m\d{2}) `)
	// emptyPartitionScan matches the scan of a partition of events that
	// ANALYZE found empty.
	emptyPartitionScan = regexp.MustCompile(`Seq Scan on (public\.events_(?:history|y\d{4}m\d{2}) \S+)\s+\(cost=0\.00\.\.0\.00 `)
)

// TestPlansUseIndexes: on a project big enough for PostgreSQL to prefer
// scanning a table to a poor index, every piece of Crossers and every scan
// of a restricted statement reads the index it was written for.
func TestPlansUseIndexes(t *testing.T) {
	t.Parallel()
	p := newBigProject(t)
	r := decode(t, `{"and":[{"event":{"name":"event_3","withinDays":3}},{"platform":{"platform":"MOBILE","minShare":0.5,"withinDays":28}},
		{"activity":{"activeDays":{"op":"GTE","value":1},"withinDays":7}},{"lastSeen":{"moreThanDaysAgo":30}},
		{"feedback":{"npsCategory":"PROMOTER","withinDays":30}},{"feedback":{"kind":"PRAISE","count":{"op":"GTE","value":2}}},
		{"survey":{"surveyId":`+strconv.Itoa(p.surveyID)+`,"withinDays":30}}]}`)

	// Over midnight, so that activity has a piece too.
	midnight := time.Now().UTC().Truncate(24 * time.Hour)
	q, err := segment.Crossers(r, p.env, midnight.Add(-time.Second/2), midnight.Add(time.Second/2))
	require.NoError(t, err)
	plan := p.plan(t, q)
	require.NotContains(t, plan, "Seq Scan", plan)
	for _, index := range []string{
		"Index Only Scan using event_project_id_name_timestamp on public.events", // the event names
		"Index Scan using event_project_id_name_timestamp on public.events",
		"Index Scan using feedback_project_id_timestamp on public.feedbacks",
		"Index Scan using surveyresponse_survey_id_submitted_at on public.survey_responses",
	} {
		require.Contains(t, plan, index, plan)
	}
	requireEveryScanOf(t, plan, "public.events", "event_project_id_name_timestamp")

	env := p.env
	env.Users = p.users
	q, err = segment.Compile(r, env)
	require.NoError(t, err)
	plan = p.plan(t, q)
	require.NotContains(t, plan, "Seq Scan", plan)
	for _, index := range []string{
		"using event_project_id_user_id_timestamp on public.events",
		"on userdailyactivity_user_id_day",
		"using feedback_user_id_timestamp on public.feedbacks",
		"using users_pkey on public.users",
	} {
		require.Contains(t, plan, index, plan)
	}
	requireEveryScanOf(t, plan, "public.events", "event_project_id_user_id_timestamp")
}

// requireEveryScanOf checks that every scan of table in plan uses index.
func requireEveryScanOf(t *testing.T, plan, table, index string) {
	t.Helper()
	for _, line := range strings.Split(plan, "\n") {
		if strings.Contains(line, " on "+table+" ") {
			require.Contains(t, line, "using "+index+" on", plan)
		}
	}
}

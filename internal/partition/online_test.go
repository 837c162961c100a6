package partition_test

import (
	"context"
	"database/sql"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/migrate"
	"github.com/pulse-analytics/pulse/internal/partition"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/tenant"
	"github.com/pulse-analytics/pulse/migrations"
)

// partitioning is the migration that partitions events.
const partitioning = "20261207014000_events_partitioned.sql"

// installation is a database as Pulse left it before events was
// partitioned, with a project and a dataset: users u1..uN, an anonymous
// visitor (anonymous id "anon-merge") and events spread over them and the
// last 90 days, received when they happened.
type installation struct {
	*bundle
	admin   context.Context
	users   []int64
	visitor int64
}

// olderInstallation migrates an empty database of the test's own up to
// the migration before partitioning, and loads n events over users users.
func olderInstallation(t *testing.T, users, n int) *installation {
	t.Helper()
	db, dsn := pgtest.Empty(t)
	require.NoError(t, migrate.UpFS(context.Background(), db, migrationsBefore(t, partitioning), nil))
	created, err := auth.CreateProject(context.Background(), database.NewClient(db), t.Name())
	require.NoError(t, err)
	in := &installation{bundle: &bundle{db: db, dsn: dsn, projectID: created.Project.ID, writer: ingest.NewWriter(db),
		ingest: tenant.NewContext(context.Background(), tenant.Scope{ProjectID: created.Project.ID, Role: tenant.RoleIngest})},
		admin: tenant.NewContext(context.Background(), tenant.Scope{ProjectID: created.Project.ID, Role: tenant.RoleAdmin,
			KeyID: created.Admin.Key.ID, KeyPrefix: created.Admin.Key.Prefix})}
	run(t, db, `INSERT INTO users (project_id, external_id, created_at, updated_at, event_count)
		SELECT $1, 'u' || g, now(), now(), 0 FROM generate_series(1, $2) g`, in.projectID, users)
	require.NoError(t, db.QueryRow(`SELECT array_agg(id ORDER BY id) FROM users WHERE project_id = $1`, in.projectID).Scan(pq.Array(&in.users)))
	require.NoError(t, db.QueryRow(`INSERT INTO users (project_id, created_at, updated_at, event_count) VALUES ($1, now(), now(), 0) RETURNING id`,
		in.projectID).Scan(&in.visitor))
	run(t, db, `INSERT INTO identities (project_id, anonymous_id, user_id, created_at) VALUES ($1, 'anon-merge', $2, now())`, in.projectID, in.visitor)
	in.loadEvents(t, n)
	return in
}

// loadEvents inserts n events with the table's indexes dropped and then
// rebuilt as they were: a bulk load, not n index insertions.
func (in *installation) loadEvents(t *testing.T, n int) {
	t.Helper()
	var names, defs []string
	require.NoError(t, in.db.QueryRow(`SELECT array_agg(indexname), array_agg(indexdef) FROM pg_indexes
		WHERE tablename = 'events' AND indexname <> 'events_pkey'`).Scan(pq.Array(&names), pq.Array(&defs)))
	require.Len(t, defs, 3)
	for _, name := range names {
		run(t, in.db, `DROP INDEX `+pq.QuoteIdentifier(name))
	}
	run(t, in.db, `ALTER TABLE events DROP CONSTRAINT events_pkey`)
	// Every 1001st event is the visitor's; the rest go round the users.
	run(t, in.db, `INSERT INTO events (project_id, user_id, name, timestamp, received_at, properties, platform, message_id)
		SELECT $1, CASE WHEN g % 1001 = 0 THEN $3 ELSE ($2::bigint[])[1 + g % cardinality($2::bigint[])] END,
			'event_' || g % 20, ts, ts + make_interval(secs => g % 60),
			CASE WHEN g % 7 <> 0 THEN jsonb_build_object('n', g % 100, 'plan', 'pro') END,
			(ARRAY['MOBILE', 'TABLET', 'DESKTOP', 'OTHER'])[1 + g % 4], 'm' || g
		FROM generate_series(1, $4) g, LATERAL (SELECT now() - make_interval(secs => (g::bigint * 3889) % (90 * 86400))) t(ts)`,
		in.projectID, pq.Array(in.users), in.visitor, n)
	run(t, in.db, `ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (id)`)
	for _, def := range defs {
		run(t, in.db, def)
	}
	run(t, in.db, `ANALYZE events`)
}

// migrationsBefore are Pulse's migrations that sort before name, with
// their atlas.sum.
func migrationsBefore(t *testing.T, name string) fstest.MapFS {
	t.Helper()
	entries, err := fs.ReadDir(migrations.FS, ".")
	require.NoError(t, err)
	dir := &atlasmigrate.MemDir{}
	out := fstest.MapFS{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sql") || e.Name() >= name {
			continue
		}
		data, err := fs.ReadFile(migrations.FS, e.Name())
		require.NoError(t, err)
		require.NoError(t, dir.WriteFile(e.Name(), data))
		out[e.Name()] = &fstest.MapFile{Data: data}
	}
	sum, err := dir.Checksum()
	require.NoError(t, err)
	text, err := sum.MarshalText()
	require.NoError(t, err)
	out[atlasmigrate.HashFileName] = &fstest.MapFile{Data: text}
	return out
}

// digest is the count and an order-free checksum of every column of every
// row of table.
func digest(t *testing.T, db *sql.DB, table string) string {
	t.Helper()
	var n, sum string
	require.NoError(t, db.QueryRow(`SELECT count(*), COALESCE(sum(('x' || substr(md5(row(id, name, "timestamp", received_at, properties, platform,
		message_id, project_id, user_id)::text), 1, 15))::bit(60)::bigint), 0) FROM `+pq.QuoteIdentifier(table)).Scan(&n, &sum))
	return n + " rows, sum " + sum
}

// schemaOf describes what the migration and the swap must make alike: the
// indexes of events and of one partition (by their definitions, the
// partition's name taken out), its constraints and its id's sequence.
func schemaOf(t *testing.T, db *sql.DB) []string {
	t.Helper()
	month := partition.MonthName(partition.MonthStart(time.Now()))
	rows, err := db.Query(`
		SELECT 'index ' || replace(indexdef, $1, 'MONTH') FROM pg_indexes WHERE tablename IN ('events', $1)
		UNION ALL SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'events'::regclass
		UNION ALL SELECT 'sequence ' || pg_get_serial_sequence('events', 'id') || ' ' || seqstart FROM pg_sequence
			WHERE seqrelid = pg_get_serial_sequence('events', 'id')::regclass
		UNION ALL SELECT 'kind ' || relkind::text FROM pg_class WHERE oid = 'events'::regclass
		UNION ALL SELECT 'column ' || attname || ' ' || format_type(atttypid, atttypmod) || ' ' || attnotnull || ' ' || attidentity::text || ' ' ||
			COALESCE(pg_get_expr(d.adbin, d.adrelid), '')
			FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
			WHERE a.attrelid = 'events'::regclass AND a.attnum > 0 AND NOT a.attisdropped
		UNION ALL SELECT 'leftover ' || relname FROM pg_class WHERE relname IN ('events_partitioned', 'events_partition_copy')
		UNION ALL SELECT 'leftover ' || proname FROM pg_proc WHERE proname LIKE 'events_partition_%'
		ORDER BY 1`, month)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var line string
		require.NoError(t, rows.Scan(&line))
		out = append(out, line)
	}
	require.NoError(t, rows.Err())
	return out
}

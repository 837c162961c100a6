package privacy_test

import (
	"context"
	"crypto/sha256"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/privacy"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// TestEraseLeavesNothing erases one of three users and then looks for the
// user's external id, anonymous id, alias and user id in every column of
// every table of the schema: none is left anywhere, while every row of the
// other users is exactly as it was.
func TestEraseLeavesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ann, bea, cid := b.seedProject(t)
	ids := []string{ann.externalID, ann.anonymousID, ann.alias}
	require.NotEmpty(t, findIDs(t, b.db, ids, []int64{ann.id}), "the scan finds what is there")
	others := []int64{bea.id, cid.id}
	before := fingerprint(t, b.db, b.projectID, others)
	messagesBefore := webhookUsers(t, b)
	var days int
	require.NoError(t, b.db.QueryRow(`SELECT count(*) FROM user_daily_activities WHERE user_id = $1`, ann.id).Scan(&days))
	annKeys, otherKeys := messageKeys(t, b, ann.id)
	require.Len(t, annKeys, 4, "ann's events' message keys are in event_messages")

	erasures, err := b.eraser.Erase(b.admin, privacy.Request{ExternalIDs: []string{ann.externalID}})
	require.NoError(t, err)
	require.Len(t, erasures, 1)
	require.Equal(t, int(ann.id), *erasures[0].UserID)
	require.False(t, erasures[0].Suppressed)
	require.Equal(t, map[string]int{
		"users": 1, "identities": 2, "events": 4, "user_daily_activities": days, "feedbacks": 1, "feedback_changes": 2,
		"survey_responses": 1, "segment_memberships": 3, "segment_dirty_users": erasures[0].Removed["segment_dirty_users"],
		"discovery_runs": 1, "webhook_messages": 3, "event_messages": 4, "user_merges": 1, // the alias's user
	}, erasures[0].Removed)
	require.Positive(t, erasures[0].Removed["segment_dirty_users"])

	require.Empty(t, findIDs(t, b.db, ids, []int64{ann.id}), "nothing names ann")
	require.Equal(t, before, fingerprint(t, b.db, b.projectID, others), "the other users' rows are unchanged")
	var left []string
	require.NoError(t, b.db.QueryRow(`SELECT COALESCE(array_agg(encode(message_key, 'hex') ORDER BY 1), '{}') FROM event_messages WHERE project_id = $1`,
		b.projectID).Scan(pq.Array(&left)))
	require.Equal(t, otherKeys, left, "ann's message keys are gone, the others' stay")
	var members string
	require.NoError(t, b.db.QueryRow(`SELECT members::text FROM discovery_runs WHERE project_id = $1`, b.projectID).Scan(&members))
	require.JSONEq(t, `[[`+itoa(bea.id)+`], [`+itoa(cid.id)+`]]`, members, "the clusters keep their other members, in order")
	messagesAfter := webhookUsers(t, b)
	for id, users := range messagesBefore {
		users = slices.DeleteFunc(users, func(u string) bool { return u == itoa(ann.id) })
		if len(users) == 0 {
			require.NotContains(t, messagesAfter, id, "a message of ann only is gone")
			continue
		}
		require.Equal(t, users, messagesAfter[id], "message %d keeps its other users, in order", id)
	}
}

// messageKeys are the hex message keys of the user's events, and those of
// the project's other keys, sorted.
func messageKeys(t *testing.T, b *bundle, userID int64) (users, others []string) {
	t.Helper()
	require.NoError(t, b.db.QueryRow(`SELECT
			COALESCE(array_agg(encode(m.message_key, 'hex') ORDER BY 1) FILTER (WHERE e.id IS NOT NULL), '{}'),
			COALESCE(array_agg(encode(m.message_key, 'hex') ORDER BY 1) FILTER (WHERE e.id IS NULL), '{}')
		FROM event_messages m LEFT JOIN events e ON e.project_id = m.project_id AND e.user_id = $2
			AND m.message_key = substring(sha256(convert_to(e.message_id, 'UTF8')) for 16)
		WHERE m.project_id = $1`, b.projectID, userID).Scan(pq.Array(&users), pq.Array(&others)))
	require.NotEmpty(t, others, "the other users' events have keys")
	return users, others
}

// webhookUsers lists, per webhook message of the project, the users its
// body names, in order.
func webhookUsers(t *testing.T, b *bundle) map[int][]string {
	t.Helper()
	rows, err := b.db.Query(`SELECT m.id, u->>'id' FROM webhook_messages m, jsonb_array_elements(m.body::jsonb->'data'->'users') WITH ORDINALITY x(u, n)
		WHERE m.project_id = $1 ORDER BY m.id, n`, b.projectID)
	require.NoError(t, err)
	defer rows.Close()
	out := map[int][]string{}
	for rows.Next() {
		var id int
		var user string
		require.NoError(t, rows.Scan(&id, &user))
		out[id] = append(out[id], user)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, out, "the runs wrote webhook messages")
	return out
}

// TestEraseRunsExitTheSegments: each segment the user was in records a
// committed run of trigger ERASURE, numbered after the segment's last one,
// in which the user exits; the segment's size follows; earlier runs keep
// their counts but no longer name the user.
func TestEraseRunsExitTheSegments(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ann, bea, cid := b.seedProject(t)
	type run struct {
		Segment, Entered, Exited, Size, Seq int
		Trigger, Status                     string
	}
	runs := func() []run {
		rows, err := b.db.Query(`SELECT segment_id, entered_count, exited_count, COALESCE(size_after, -1), COALESCE(seq, 0), trigger, status
			FROM segment_runs WHERE project_id = $1 ORDER BY segment_id, seq`, b.projectID)
		require.NoError(t, err)
		defer rows.Close()
		var out []run
		for rows.Next() {
			var r run
			require.NoError(t, rows.Scan(&r.Segment, &r.Entered, &r.Exited, &r.Size, &r.Seq, &r.Trigger, &r.Status))
			out = append(out, r)
		}
		require.NoError(t, rows.Err())
		return out
	}
	before := runs()
	require.Len(t, webhookUsers(t, b), 4, "entered exporters, pro and vip; exited pro")
	_, err := b.eraser.Erase(b.admin, privacy.Request{ExternalIDs: []string{ann.externalID, bea.externalID}})
	require.NoError(t, err)
	after := runs()
	messages := webhookUsers(t, b)
	require.ElementsMatch(t, [][]string{{itoa(cid.id)}, {itoa(cid.id)}}, slices.Collect(maps.Values(messages)),
		"messages of the erased users only are gone; the ERASURE runs wrote none")

	// ann was in all three segments, bea in exporters only (she left pro).
	erasure := []run{
		{Segment: b.exporters, Exited: 2, Size: 1, Seq: 2, Trigger: "ERASURE", Status: "COMPLETED"},
		{Segment: b.pro, Exited: 1, Size: 0, Seq: 3, Trigger: "ERASURE", Status: "COMPLETED"},
		{Segment: b.vip, Exited: 1, Size: 1, Seq: 2, Trigger: "ERASURE", Status: "COMPLETED"},
	}
	require.ElementsMatch(t, append(before, erasure...), after, "earlier runs keep their counts; one ERASURE run per segment")
	for _, seg := range []int{b.exporters, b.pro, b.vip} {
		var size, members int
		require.NoError(t, b.db.QueryRow(`SELECT size, (SELECT count(*) FROM segment_members WHERE segment_id = $1) FROM segments WHERE id = $1`,
			seg).Scan(&size, &members))
		require.Equal(t, members, size, "segment %d: its size is its members'", seg)
	}
	var named int
	require.NoError(t, b.db.QueryRow(`SELECT count(*) FROM segment_memberships m JOIN segment_runs r ON r.id IN (m.entered_run_id, m.exited_run_id)
		WHERE r.project_id = $1 AND m.user_id = ANY($2)`, b.projectID, pq.Array([]int64{ann.id, bea.id})).Scan(&named))
	require.Zero(t, named, "no run names an erased user")
}

// TestEraseRecord: the erasure records the key that asked, when, and a
// salted SHA-256 of the external id, never the id.
func TestEraseRecord(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ann := b.seedPerson(t, "ann", "pro")
	erasures, err := b.eraser.Erase(b.admin, privacy.Request{ExternalIDs: []string{ann.externalID}, Suppress: true})
	require.NoError(t, err)
	var (
		hash, salt []byte
		keyID      int
		prefix     string
		suppressed bool
	)
	require.NoError(t, b.db.QueryRow(`SELECT e.external_id_hash, p.privacy_salt, e.key_id, e.key_prefix, e.suppressed
		FROM user_erasures e JOIN projects p ON p.id = e.project_id WHERE e.id = $1`, erasures[0].ID).
		Scan(&hash, &salt, &keyID, &prefix, &suppressed))
	require.Len(t, salt, privacy.SaltBytes)
	want := sha256.Sum256(append(append([]byte{}, salt...), ann.externalID...))
	require.Equal(t, want[:], hash)
	require.Equal(t, b.adminKey, keyID)
	require.True(t, strings.HasPrefix(prefix, "pk_admin_"), prefix)
	require.True(t, suppressed)
	var suppressedIDs int
	require.NoError(t, b.db.QueryRow(`SELECT count(*) FROM suppressed_ids WHERE erasure_id = $1`, erasures[0].ID).Scan(&suppressedIDs))
	require.Equal(t, 3, suppressedIDs, "the external id, the anonymous id and the alias")
}

// TestEraseByUserID erases a user known only by an anonymous id.
func TestEraseByUserID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.write(t, pageBy("visitor-"+itoa(int64(b.projectID)), "v-1"))
	require.Equal(t, 1, res.Accepted)
	var id int
	require.NoError(t, b.db.QueryRow(`SELECT user_id FROM identities WHERE project_id = $1`, b.projectID).Scan(&id))
	erasures, err := b.eraser.Erase(b.admin, privacy.Request{UserIDs: []int{id}, Suppress: true})
	require.NoError(t, err)
	require.Equal(t, id, *erasures[0].UserID)
	require.Empty(t, findIDs(t, b.db, []string{"visitor-" + itoa(int64(b.projectID))}, []int64{int64(id)}))
	res = b.write(t, pageBy("visitor-"+itoa(int64(b.projectID)), "v-2"))
	require.Equal(t, 1, res.Suppressed, "the anonymous id is suppressed")
}

// TestEraseRequests: what a request may name.
func TestEraseRequests(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ann := b.seedPerson(t, "ann", "pro")
	many := make([]string, privacy.MaxErasures+1)
	for i := range many {
		many[i] = "user-" + itoa(int64(i))
	}
	for _, tc := range []struct {
		name     string
		req      privacy.Request
		field    string
		notFound bool
	}{
		{"nobody", privacy.Request{}, "externalIds", false},
		{"too many", privacy.Request{ExternalIDs: many}, "externalIds", false},
		{"an empty id", privacy.Request{ExternalIDs: []string{" "}}, "externalIds", false},
		{"an unknown id", privacy.Request{ExternalIDs: []string{ann.externalID, "nobody"}}, "externalIds", true},
		{"an unknown user id", privacy.Request{UserIDs: []int{int(ann.id) + 1_000_000}}, "id", true},
	} {
		_, err := b.eraser.Erase(b.admin, tc.req)
		var inputErr *invalid.Error
		require.ErrorAs(t, err, &inputErr, tc.name)
		require.Equal(t, tc.field, inputErr.Field, tc.name)
		require.Equal(t, tc.notFound, errorIsNotFound(err), tc.name)
	}
	var users int
	require.NoError(t, b.db.QueryRow(`SELECT count(*) FROM users WHERE project_id = $1`, b.projectID).Scan(&users))
	require.Equal(t, 1, users, "a refused request erases nobody")

	// Exactly the limit is fine; an unknown id with suppress is recorded.
	ok := slices.Concat(many[:privacy.MaxErasures-1], []string{ann.externalID})
	erasures, err := b.eraser.Erase(b.admin, privacy.Request{ExternalIDs: ok, Suppress: true})
	require.NoError(t, err)
	require.Len(t, erasures, privacy.MaxErasures)
	require.Equal(t, int(ann.id), *erasures[0].UserID, "users first, then the ids that named nobody")
	require.Nil(t, erasures[1].UserID)
	res := b.write(t, trackBy(many[7], "m-1"))
	require.Equal(t, 1, res.Suppressed, "an id suppressed before anything was sent about it")
}

// TestEraseOtherProject: a key erases in its own project only, and only an
// ADMIN key erases.
func TestEraseOtherProject(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := setup(t)
	ann := b.seedPerson(t, "ann", "pro")
	_, err := other.eraser.Erase(other.admin, privacy.Request{ExternalIDs: []string{ann.externalID}})
	require.True(t, errorIsNotFound(err), "another project's user is not found: %v", err)
	_, err = other.eraser.Erase(other.admin, privacy.Request{UserIDs: []int{int(ann.id)}})
	require.True(t, errorIsNotFound(err), "nor by id: %v", err)
	read := tenant.NewContext(context.Background(), tenant.Scope{ProjectID: b.projectID, Role: tenant.RoleRead})
	_, err = b.eraser.Erase(read, privacy.Request{ExternalIDs: []string{ann.externalID}})
	require.ErrorIs(t, err, privacy.ErrNotAdmin)
	_, err = b.eraser.Erase(context.Background(), privacy.Request{ExternalIDs: []string{ann.externalID}})
	require.ErrorIs(t, err, tenant.ErrNoTenant)
	require.NotEmpty(t, findIDs(t, b.db, []string{ann.externalID}, nil), "ann is still there")
}

// TestErasureCoversEveryTable: every table with a user_id column, or a
// foreign key to users, is one an erasure clears. A table added later
// that names users fails this test until the erasure handles it.
func TestErasureCoversEveryTable(t *testing.T) {
	t.Parallel()
	db := setup(t).db
	rows, err := db.Query(`
		SELECT DISTINCT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND (
			EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'user_id' AND NOT a.attisdropped)
			OR EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'f' AND k.confrelid = 'users'::regclass))
		ORDER BY 1`)
	require.NoError(t, err)
	defer rows.Close()
	var naming []string
	for rows.Next() {
		var table string
		require.NoError(t, rows.Scan(&table))
		naming = append(naming, table)
	}
	require.NoError(t, rows.Err())
	require.Contains(t, naming, "events", "the catalog query finds the tables that name users")
	require.Subset(t, privacy.ErasedTables(), naming)
}

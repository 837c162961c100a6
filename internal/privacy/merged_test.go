package privacy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/privacy"
)

// TestEraseReachesMergedUsers: a visitor identified anonymously (with an
// email) and active is a member of segments, then signs up, which merges
// the anonymous user into the known one. The merged-away user's row is
// gone, but its membership intervals, its dirty marks and the webhook
// messages of the runs that moved it keep its id, and those bodies its
// email. Erasing the known user erases them too: the catalog scan finds
// neither user's id, nor the anonymous id, nor the email, whether or not
// a run closed the old user's memberships before the erasure.
func TestEraseReachesMergedUsers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// recomputed: a full recompute ran after the merge, closing the
		// old user's intervals (exits) and opening the known user's.
		recomputed bool
		// exited is how many the ERASURE run of exporters counts.
		exited int
	}{
		{name: "recomputed after the merge", recomputed: true, exited: 1},
		{name: "erased before any run after the merge", recomputed: false, exited: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			bea := b.seedPerson(t, "bea", "pro")
			_, err := b.client.WebhookEndpoint.Create().SetURL("https://erasure.invalid/hook").
				SetEvents([]string{"ENTERED", "EXITED"}).SetSecret("whsec_test").Save(b.admin)
			require.NoError(t, err)

			tag := fmt.Sprintf("%d", b.projectID)
			anon, ext, email := "merged-anon-"+tag, "merged-ext-"+tag, "merged-"+tag+"@example.com"
			now := time.Now().UTC()
			b.write(t,
				ingest.Message{Type: ingest.TypeIdentify, AnonymousID: anon, Traits: map[string]any{"email": email, "plan": "pro"},
					MessageID: anon + "-1", Timestamp: now.Add(-time.Hour)},
				ingest.Message{Type: ingest.TypeTrack, AnonymousID: anon, Event: "export", MessageID: anon + "-2", Timestamp: now.Add(-time.Hour)},
			)
			var oldID int64
			require.NoError(t, b.db.QueryRow(`SELECT user_id FROM identities WHERE project_id = $1 AND anonymous_id = $2`,
				b.projectID, anon).Scan(&oldID))
			b.recompute(t, b.exporters, b.pro)

			b.write(t, ingest.Message{Type: ingest.TypeIdentify, UserID: ext, AnonymousID: anon, MessageID: anon + "-3", Timestamp: now})
			var newID int64
			require.NoError(t, b.db.QueryRow(`SELECT id FROM users WHERE project_id = $1 AND external_id = $2`, b.projectID, ext).Scan(&newID))
			require.NotEqual(t, oldID, newID, "the anonymous user was merged away")
			if tc.recomputed {
				b.recompute(t, b.exporters, b.pro)
			}
			var named int
			require.NoError(t, b.db.QueryRow(`SELECT (SELECT count(*) FROM segment_memberships WHERE user_id = $1)
				+ (SELECT count(*) FROM segment_dirty_users WHERE user_id = $1)`, oldID).Scan(&named))
			require.Positive(t, named, "the old user's intervals and marks are still there")
			strs, ints := []string{ext, anon, email}, []int64{oldID, newID}
			require.NotEmpty(t, findIDs(t, b.db, []string{email}, []int64{oldID}), "the scan finds the old user's id and email")
			before := fingerprint(t, b.db, b.projectID, []int64{bea.id})
			messagesBefore := webhookUsers(t, b)

			erasures, err := b.eraser.Erase(b.admin, privacy.Request{ExternalIDs: []string{ext}})
			require.NoError(t, err)
			require.Len(t, erasures, 1)
			require.Equal(t, int(newID), *erasures[0].UserID)
			require.Equal(t, 1, erasures[0].Removed["user_merges"])
			require.Positive(t, erasures[0].Removed["segment_memberships"], "the old user's intervals count as the erased user's")

			require.Empty(t, findIDs(t, b.db, strs, ints), "nothing names the user, nor the user merged into it")
			require.Equal(t, before, fingerprint(t, b.db, b.projectID, []int64{bea.id}), "the other user's rows are unchanged")
			messagesAfter := webhookUsers(t, b)
			for id, users := range messagesBefore {
				var kept []string
				for _, u := range users {
					if u != itoa(oldID) && u != itoa(newID) {
						kept = append(kept, u)
					}
				}
				if len(kept) == 0 {
					require.NotContains(t, messagesAfter, id)
					continue
				}
				require.Equal(t, kept, messagesAfter[id], "message %d keeps bea", id)
			}
			for _, seg := range []int{b.exporters, b.pro} {
				var size, members int
				require.NoError(t, b.db.QueryRow(`SELECT size, (SELECT count(*) FROM segment_members WHERE segment_id = $1) FROM segments WHERE id = $1`,
					seg).Scan(&size, &members))
				require.Equal(t, members, size, "segment %d: its size is its members'", seg)
				require.Equal(t, 1, size, "segment %d: bea is left", seg)
			}
			var exited int
			require.NoError(t, b.db.QueryRow(`SELECT exited_count FROM segment_runs WHERE segment_id = $1 AND trigger = 'ERASURE'`,
				b.exporters).Scan(&exited))
			require.Equal(t, tc.exited, exited, "the erasure run exits whoever of the two was still a member")
		})
	}
}

// TestEraseByAlias: an alias, which is also the external id of a user
// that was merged away, names the user ingest files its messages under,
// for an erasure and for an export; naming a user twice erases it once.
func TestEraseByAlias(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ann := b.seedPerson(t, "ann", "pro")
	bea := b.seedPerson(t, "bea", "pro")

	var out bytes.Buffer
	require.NoError(t, privacy.NewExporter(b.db).Export(b.admin, &out, ann.alias))
	var doc struct {
		User struct{ ID, ExternalID string }
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &doc), out.String())
	require.Equal(t, itoa(ann.id), doc.User.ID, "the export of the alias is ann's")
	require.Equal(t, ann.externalID, doc.User.ExternalID)

	erasures, err := b.eraser.Erase(b.admin, privacy.Request{ExternalIDs: []string{ann.alias, ann.externalID}, Suppress: true})
	require.NoError(t, err)
	require.Len(t, erasures, 1, "the alias and the external id name one user")
	require.Equal(t, int(ann.id), *erasures[0].UserID)
	require.Empty(t, findIDs(t, b.db, []string{ann.externalID, ann.anonymousID, ann.alias}, []int64{ann.id}))
	require.NotEmpty(t, findIDs(t, b.db, []string{bea.externalID}, []int64{bea.id}), "bea stays")
	res := b.write(t, trackBy(ann.alias, "by-alias-2"))
	require.Equal(t, 1, res.Suppressed, "the alias is suppressed with the user")

	// Ingest files a userId equal to a known user's anonymous id under
	// that user too (an id identities tie to a known user): so does the
	// erasure.
	b.write(t, trackBy(bea.anonymousID, "by-anon-1"))
	var owner int64
	require.NoError(t, b.db.QueryRow(`SELECT user_id FROM events WHERE project_id = $1 AND message_id = 'by-anon-1'`, b.projectID).Scan(&owner))
	require.Equal(t, bea.id, owner)
	erasures, err = b.eraser.Erase(b.admin, privacy.Request{ExternalIDs: []string{bea.anonymousID}})
	require.NoError(t, err)
	require.Len(t, erasures, 1)
	require.Equal(t, int(bea.id), *erasures[0].UserID, "bea, by the id ingest files under her")
}

// TestEraseScrubsAttempts: a receiver that echoes the payload leaves the
// erased user's ids and traits in the attempts of the delivery log. The
// attempts of a message the erasure rewrote lose what the receiver
// answered (status and latency stay); those of messages that never named
// the user are untouched.
func TestEraseScrubsAttempts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ann, _, _ := b.seedProject(t)
	// Every message was tried once, by a receiver that echoed it back and
	// failed with an error quoting it. (The package's River client may
	// try them too, for real: only these attempts are compared.)
	rows, err := b.db.Query(`INSERT INTO webhook_attempts (project_id, message_id, endpoint_id, at, status_code, latency_ms, response_body, error)
		SELECT project_id, id, endpoint_id, now(), 500, 12, left(body, 1024), 'rejected ' || left(body, 200) FROM webhook_messages WHERE project_id = $1
		RETURNING id, message_id`, b.projectID)
	require.NoError(t, err)
	var echoes []int64
	messageOf := map[int64]int{}
	for rows.Next() {
		var id int64
		var message int
		require.NoError(t, rows.Scan(&id, &message))
		echoes, messageOf[id] = append(echoes, id), message
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	type attempt struct {
		Status, Latency int
		Body            string
		Error           *string
	}
	// attempts are the echoes left, by their messages' ids.
	attempts := func() map[int]attempt {
		rows, err := b.db.Query(`SELECT id, status_code, latency_ms, response_body, error FROM webhook_attempts WHERE id = ANY($1)`, pq.Array(echoes))
		require.NoError(t, err)
		defer rows.Close()
		out := map[int]attempt{}
		for rows.Next() {
			var id int64
			var a attempt
			require.NoError(t, rows.Scan(&id, &a.Status, &a.Latency, &a.Body, &a.Error))
			out[messageOf[id]] = a
		}
		require.NoError(t, rows.Err())
		return out
	}
	before, messages := attempts(), webhookUsers(t, b)
	require.NotEmpty(t, findIDs(t, b.db, []string{ann.externalID}, nil))

	_, err = b.eraser.Erase(b.admin, privacy.Request{ExternalIDs: []string{ann.externalID}})
	require.NoError(t, err)
	require.Empty(t, findIDs(t, b.db, []string{ann.externalID, ann.anonymousID, ann.alias}, []int64{ann.id}),
		"no attempt echoes ann")
	after := attempts()
	rewritten := 0
	for id, users := range messages {
		namedAnn, others := false, false
		for _, u := range users {
			namedAnn, others = namedAnn || u == itoa(ann.id), others || u != itoa(ann.id)
		}
		switch {
		case !namedAnn:
			require.Equal(t, before[id], after[id], "message %d never named ann: its attempt is as it was", id)
		case !others:
			require.NotContains(t, after, id, "message %d named ann only: gone with its attempts", id)
		default:
			rewritten++
			require.Equal(t, attempt{Status: 500, Latency: 12}, after[id], "message %d was rewritten: its attempt keeps status and latency only", id)
		}
	}
	require.Positive(t, rewritten, "some messages named ann and others")
}

package ingest_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// TestExpiredEventsAreRejected: once the project has a retention, a usage
// event stamped before it is rejected (field timestamp), however the
// writer remembered the project's settings, and the rest of the batch is
// stored, profile calls of any age included.
func TestExpiredEventsAreRejected(t *testing.T) {
	t.Parallel()
	b := setupWriter(t)
	now := time.Now()
	old := now.Add(-40 * 24 * time.Hour)
	b.write(t, track("ann", "export", "before", old)) // no retention yet: stored, settings remembered
	_, err := b.db.Exec(`UPDATE projects SET retention_days = 30 WHERE id = $1`, b.projectID)
	require.NoError(t, err)

	res := b.write(t,
		track("ann", "export", "fresh", now.Add(-time.Hour)),
		track("ann", "export", "old", old),
		ingest.Message{Type: ingest.TypeIdentify, UserID: "ann", Traits: map[string]any{"plan": "pro"}, MessageID: "old-identify", Timestamp: old},
		ingest.Message{Type: ingest.TypePage, AnonymousID: "visitor", Name: "Pricing", MessageID: "old-page", Timestamp: old},
		ingest.Message{Type: ingest.TypeTrack, UserID: "bob", MessageID: "no-name", Timestamp: old},
	)
	reason := old.UTC().Format(time.RFC3339) + " is older than the project's retention of 30 days"
	require.Equal(t, []ingest.Rejection{
		{Index: 1, MessageID: "old", Field: "timestamp", Reason: reason},
		{Index: 3, MessageID: "old-page", Field: "timestamp", Reason: reason},
		{Index: 4, MessageID: "no-name", Field: "event", Reason: "track needs an event name"},
	}, res.Rejected, "in message order, whichever step rejected them")
	require.Equal(t, 2, res.Accepted, "the fresh event and the identify")
	require.Equal(t, 2, b.count(t, `SELECT count(*) FROM events WHERE project_id = $1`))
	require.JSONEq(t, `{"plan": "pro"}`, b.user(t, "ann").Traits)
	require.Equal(t, 0, b.count(t, `SELECT count(*) FROM users WHERE project_id = $1 AND external_id IS NULL`), "no user for the refused page")

	_, err = b.db.Exec(`UPDATE projects SET retention_days = NULL WHERE id = $1`, b.projectID)
	require.NoError(t, err)
	res = b.write(t, track("ann", "export", "old", old))
	require.Empty(t, res.Rejected, "unlimited again")
	require.Equal(t, 1, res.Accepted)
}

// TestExpiredEventsOverHTTP: the Segment and PostHog APIs report an
// expired event among the rejections of a batch they otherwise store.
func TestExpiredEventsOverHTTP(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	client := database.NewClient(db)
	project, err := auth.CreateProject(context.Background(), client, t.Name())
	require.NoError(t, err)
	_, err = db.Exec(`UPDATE projects SET retention_days = 7 WHERE id = $1`, project.Project.ID)
	require.NoError(t, err)
	server := httptest.NewServer(ingest.NewHTTPHandler(auth.NewKeys(client), ingest.NewWriter(db), slog.New(slog.DiscardHandler)))
	t.Cleanup(server.Close)
	b := &httpBundle{server: server, project: project}
	old := time.Now().Add(-8 * 24 * time.Hour).UTC().Truncate(time.Second)
	reason := old.Format(time.RFC3339) + " is older than the project's retention of 7 days"

	segment := withKey(`{"writeKey": "KEY", "batch": [
	  {"type": "track", "userId": "ann", "event": "export", "messageId": "s1"},
	  {"type": "track", "userId": "ann", "event": "export", "messageId": "s2", "timestamp": "`+old.Format(time.RFC3339)+`"}
	]}`, project.Ingest.Secret)
	r := b.do(t, call{path: "/v1/batch", body: segment})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	require.Equal(t, 1, r.Accepted)
	require.Equal(t, []ingest.Rejection{{Index: 1, MessageID: "s2", Field: "timestamp", Reason: reason}}, r.Rejected)

	posthog := withKey(`{"api_key": "KEY", "batch": [
	  {"event": "export", "distinct_id": "bob", "uuid": "p1", "timestamp": "`+old.Format(time.RFC3339)+`"},
	  {"event": "export", "distinct_id": "bob", "uuid": "p2"}
	]}`, project.Ingest.Secret)
	r = b.do(t, call{path: "/batch/", body: posthog})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	require.Equal(t, 1, r.Accepted)
	require.Equal(t, []ingest.Rejection{{Index: 0, MessageID: "p1", Field: "timestamp", Reason: reason}}, r.Rejected)
}

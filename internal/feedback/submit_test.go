package feedback_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent"
	entfeedback "github.com/pulse-analytics/pulse/ent/feedback"
	"github.com/pulse-analytics/pulse/ent/user"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/feedback"
	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// storeBundle is a Store over the package database with a project of the
// test's own and an INGEST-scoped context for it.
type storeBundle struct {
	client *ent.Client
	store  *feedback.Store
	ctx    context.Context
}

func setup(t *testing.T) *storeBundle {
	t.Helper()
	client := database.NewClient(pgtest.DB(t))
	return &storeBundle{client: client, store: feedback.NewStore(client), ctx: newProject(t, client, t.Name())}
}

// newProject creates a project and returns an INGEST context for it.
func newProject(t *testing.T, client *ent.Client, name string) context.Context {
	t.Helper()
	created, err := auth.CreateProject(context.Background(), client, name)
	require.NoError(t, err)
	return tenant.NewContext(context.Background(), tenant.Scope{ProjectID: created.Project.ID, Role: tenant.RoleIngest})
}

func ptr[T any](v T) *T { return &v }

func TestSubmitCreatesUserAndStoresFeedback(t *testing.T) {
	t.Parallel()
	b := setup(t)
	at := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)
	fb, err := b.store.Submit(b.ctx, feedback.Submission{
		UserID:    "  u-1 ",
		Kind:      entfeedback.KindCOMPLAINT,
		Rating:    ptr(2),
		Text:      "  I don't love the new export  ",
		Channel:   " web ",
		Tags:      []string{" Export", "export", "UX"},
		Timestamp: at,
	})
	require.NoError(t, err)

	stored, err := b.client.Feedback.Query().Where(entfeedback.ID(fb.ID)).WithUser().Only(b.ctx)
	require.NoError(t, err)
	require.Equal(t, entfeedback.KindCOMPLAINT, stored.Kind)
	require.Equal(t, 2, *stored.Rating)
	require.Nil(t, stored.NpsScore)
	require.Equal(t, "I don't love the new export", stored.Text)
	require.Equal(t, "web", stored.Channel)
	require.Equal(t, []string{"export", "ux"}, stored.Tags)
	require.Equal(t, entfeedback.SentimentNEGATIVE, *stored.Sentiment)
	require.Equal(t, entfeedback.StatusNEW, stored.Status)
	require.True(t, at.Equal(stored.Timestamp), "timestamp %s", stored.Timestamp)
	require.Equal(t, "u-1", *stored.Edges.User.ExternalID)
	// Feedback is not usage: the new user is not active.
	require.Nil(t, stored.Edges.User.FirstSeenAt)
	require.Nil(t, stored.Edges.User.LastSeenAt)
	require.Zero(t, stored.Edges.User.EventCount)

	// A second submission finds the same user.
	again, err := b.store.Submit(b.ctx, feedback.Submission{UserID: "u-1", NPSScore: ptr(10)})
	require.NoError(t, err)
	require.Equal(t, stored.Edges.User.ID, again.UserID)
	require.Equal(t, entfeedback.KindOTHER, again.Kind)
	require.Equal(t, entfeedback.SentimentPOSITIVE, *again.Sentiment)
	require.WithinDuration(t, time.Now(), again.Timestamp, time.Minute, "a zero timestamp is now")
	users, err := b.client.User.Query().Count(b.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, users)
}

// TestSubmitUnderAnAlias: an id an alias made a name of a known user is
// that user's for feedback too; another project's alias of the same id is
// not.
func TestSubmitUnderAnAlias(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ann, err := b.client.User.Create().SetExternalID("ann").Save(b.ctx)
	require.NoError(t, err)
	require.NoError(t, b.client.Identity.Create().SetAnonymousID("ann-legacy").SetUserID(ann.ID).Exec(b.ctx))
	other := newProject(t, b.client, t.Name()+" (other)")
	bob, err := b.client.User.Create().SetExternalID("bob").Save(other)
	require.NoError(t, err)
	require.NoError(t, b.client.Identity.Create().SetAnonymousID("shared").SetUserID(bob.ID).Exec(other))

	fb, err := b.store.Submit(b.ctx, feedback.Submission{UserID: "ann-legacy", Kind: entfeedback.KindPRAISE, Text: "Love it"})
	require.NoError(t, err)
	require.Equal(t, ann.ID, fb.UserID)
	fb, err = b.store.Submit(b.ctx, feedback.Submission{UserID: "shared", Kind: entfeedback.KindPRAISE, Text: "Love it"})
	require.NoError(t, err)
	require.NotEqual(t, bob.ID, fb.UserID, "another project's alias")
	created, err := b.client.User.Get(b.ctx, fb.UserID)
	require.NoError(t, err)
	require.Equal(t, "shared", *created.ExternalID)
}

func TestSubmitLeavesActivityAlone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seen := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	u, err := b.client.User.Create().SetExternalID("active").SetFirstSeenAt(seen).SetLastSeenAt(seen).
		SetEventCount(42).SetTraits(json.RawMessage(`{"plan": "pro"}`)).Save(b.ctx)
	require.NoError(t, err)
	u, err = b.client.User.Get(b.ctx, u.ID) // as stored, in microseconds
	require.NoError(t, err)

	fb, err := b.store.Submit(b.ctx, feedback.Submission{UserID: "active", Kind: entfeedback.KindPRAISE, Text: "Love it"})
	require.NoError(t, err)
	require.Equal(t, u.ID, fb.UserID)

	after, err := b.client.User.Get(b.ctx, u.ID)
	require.NoError(t, err)
	require.True(t, seen.Equal(*after.FirstSeenAt))
	require.True(t, seen.Equal(*after.LastSeenAt))
	require.EqualValues(t, 42, after.EventCount)
	require.JSONEq(t, `{"plan": "pro"}`, string(after.Traits))
	require.True(t, u.UpdatedAt.Equal(after.UpdatedAt), "the user row is not rewritten")
}

// Concurrent first submissions of one user race on the upsert: all of them
// must land on one user row, in the caller's project.
func TestSubmitNewUserConcurrently(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := newProject(t, b.client, t.Name()+" other")
	const n = 12
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range 2 * n {
		ctx := b.ctx
		if i%2 == 1 {
			ctx = other
		}
		wg.Go(func() {
			_, err := b.store.Submit(ctx, feedback.Submission{UserID: "racer", Text: fmt.Sprintf("attempt %d", i)})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for _, ctx := range []context.Context{b.ctx, other} {
		scope, _ := tenant.FromContext(ctx)
		users, err := b.client.User.Query().Where(user.ExternalID("racer")).All(ctx)
		require.NoError(t, err)
		require.Len(t, users, 1)
		require.Equal(t, scope.ProjectID, users[0].ProjectID)
		feedbacks, err := b.client.Feedback.Query().Where(entfeedback.UserID(users[0].ID)).Count(ctx)
		require.NoError(t, err)
		require.Equal(t, n, feedbacks)
	}
}

func TestSubmitValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name      string
		in        feedback.Submission
		wantField string
		wantMsg   string
	}{
		{"no user", feedback.Submission{UserID: "  ", Text: "hi"}, "input.userId", "is required"},
		{"long user", feedback.Submission{UserID: strings.Repeat("u", 513), Text: "hi"}, "input.userId", "at most 512 bytes"},
		{"unknown kind", feedback.Submission{UserID: "u", Kind: "RANT", Text: "hi"}, "input.kind", `unknown kind "RANT"`},
		{"rating 0", feedback.Submission{UserID: "u", Rating: ptr(0)}, "input.rating", "must be 1 to 5, got 0"},
		{"rating 6", feedback.Submission{UserID: "u", Rating: ptr(6)}, "input.rating", "must be 1 to 5, got 6"},
		{"nps -1", feedback.Submission{UserID: "u", NPSScore: ptr(-1)}, "input.npsScore", "must be 0 to 10, got -1"},
		{"nps 11", feedback.Submission{UserID: "u", NPSScore: ptr(11)}, "input.npsScore", "must be 0 to 10, got 11"},
		{"long text", feedback.Submission{UserID: "u", Text: strings.Repeat("é", 10_001)}, "input.text", "at most 10000 characters"},
		{"nothing said", feedback.Submission{UserID: "u", Text: " \n ", Channel: "web"}, "input.text", "needs text, a rating or an npsScore"},
		{"long channel", feedback.Submission{UserID: "u", Text: "hi", Channel: strings.Repeat("c", 201)}, "input.channel", "at most 200 bytes"},
		{"empty tag", feedback.Submission{UserID: "u", Text: "hi", Tags: []string{"ok", " "}}, "input.tags", "must not be empty"},
		{"long tag", feedback.Submission{UserID: "u", Text: "hi", Tags: []string{strings.Repeat("t", 65)}}, "input.tags", "longer than 64"},
		{"future", feedback.Submission{UserID: "u", Text: "hi", Timestamp: time.Now().Add(2 * time.Hour)}, "input.timestamp", "in the future"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := b.store.Submit(b.ctx, tt.in)
			var inputErr *invalid.Error
			require.ErrorAs(t, err, &inputErr, "error %v", err)
			require.Equal(t, tt.wantField, inputErr.Field)
			require.Contains(t, inputErr.Message, tt.wantMsg)
		})
	}
	t.Cleanup(func() {
		// Refused feedback leaves no trace, not even its user.
		n, err := b.client.User.Query().Count(b.ctx)
		require.NoError(t, err)
		require.Zero(t, n)
	})
}

func TestSubmitEdgeValues(t *testing.T) {
	t.Parallel()
	b := setup(t)
	soon := time.Now().Add(30 * time.Minute)
	fb, err := b.store.Submit(b.ctx, feedback.Submission{
		UserID: strings.Repeat("u", 512), Rating: ptr(5), NPSScore: ptr(0),
		Text: strings.Repeat("é", 10_000), Channel: strings.Repeat("c", 200), Timestamp: soon,
	})
	require.NoError(t, err)
	require.Equal(t, 5, *fb.Rating)
	require.Equal(t, 0, *fb.NpsScore)
	require.WithinDuration(t, soon, fb.Timestamp, time.Millisecond, "clock drift under an hour is accepted")
}

package feedback_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent"
	entfeedback "github.com/pulse-analytics/pulse/ent/feedback"
	"github.com/pulse-analytics/pulse/ent/feedbackchange"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/feedback"
	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// workflowBundle is a Store, a project of the test's own with its ADMIN key
// in the context (as a request would carry it), and one feedback to manage.
type workflowBundle struct {
	client    *ent.Client
	store     *feedback.Store
	admin     context.Context
	keyPrefix string
	keyID     int
	feedback  *ent.Feedback
}

func setupWorkflow(t *testing.T) *workflowBundle {
	t.Helper()
	client := database.NewClient(pgtest.DB(t))
	created, err := auth.CreateProject(context.Background(), client, t.Name())
	require.NoError(t, err)
	admin := tenant.NewContext(context.Background(), tenant.Scope{
		ProjectID: created.Project.ID, Role: tenant.RoleAdmin, KeyID: created.Admin.Key.ID})
	store := feedback.NewStore(client)
	submitted, err := store.Submit(admin, feedback.Submission{UserID: "u-1", Kind: entfeedback.KindBUG, Text: "export crashes", Tags: []string{"export"}})
	require.NoError(t, err)
	// As stored (timestamps at the database's precision).
	fb, err := client.Feedback.Get(admin, submitted.ID)
	require.NoError(t, err)
	return &workflowBundle{client: client, store: store, admin: admin, keyPrefix: created.Admin.Key.Prefix,
		keyID: created.Admin.Key.ID, feedback: fb}
}

// historyLine is a history entry as the test compares it.
type historyLine struct {
	Kind     feedbackchange.Kind
	Old, New string // JSON
	Prefix   string
}

func (b *workflowBundle) history(t *testing.T) []historyLine {
	t.Helper()
	changes, err := b.feedback.QueryHistory().Order(ent.Asc(feedbackchange.FieldID)).All(b.admin)
	require.NoError(t, err)
	out := make([]historyLine, len(changes))
	for i, c := range changes {
		out[i] = historyLine{Kind: c.Kind, Old: string(c.OldValue), New: string(c.NewValue)}
		if c.ActorKeyPrefix != nil {
			out[i].Prefix = *c.ActorKeyPrefix
			require.Equal(t, b.keyID, *c.ActorKeyID)
		}
		if i > 0 {
			require.False(t, c.CreatedAt.Before(changes[i-1].CreatedAt), "history is in time order")
		}
	}
	return out
}

func TestUpdateRecordsHistory(t *testing.T) {
	t.Parallel()
	b := setupWorkflow(t)
	id := b.feedback.ID

	fb, err := b.store.Update(b.admin, id, feedback.Change{Status: ptr(entfeedback.StatusTRIAGED),
		AddTags: []string{"Urgent"}, Assignee: ptr("  ana@example.com ")})
	require.NoError(t, err)
	require.Equal(t, entfeedback.StatusTRIAGED, fb.Status)
	require.Equal(t, []string{"export", "urgent"}, fb.Tags)
	require.Equal(t, "ana@example.com", *fb.Assignee)

	// Values set to what they are make no entry; a note always does.
	_, err = b.store.Update(b.admin, id, feedback.Change{Status: ptr(entfeedback.StatusTRIAGED),
		Tags: []string{"export", "urgent"}, Assignee: ptr("ana@example.com"), Note: ptr(" Called the user back. ")})
	require.NoError(t, err)

	fb, err = b.store.Update(b.admin, id, feedback.Change{ClearAssignee: true, RemoveTags: []string{"EXPORT"}})
	require.NoError(t, err)
	require.Nil(t, fb.Assignee)
	require.Equal(t, []string{"urgent"}, fb.Tags)

	// An internal caller (a job, the CLI) has no key.
	_, err = b.store.Update(tenant.ForProject(context.Background(), b.feedback.ProjectID), id,
		feedback.Change{Status: ptr(entfeedback.StatusRESOLVED)})
	require.NoError(t, err)

	p := b.keyPrefix
	require.Equal(t, []historyLine{
		{feedbackchange.KindSTATUS, `"NEW"`, `"TRIAGED"`, p},
		{feedbackchange.KindTAGS, `["export"]`, `["export", "urgent"]`, p},
		{feedbackchange.KindASSIGNEE, `null`, `"ana@example.com"`, p},
		{feedbackchange.KindNOTE, `null`, `"Called the user back."`, p},
		{feedbackchange.KindTAGS, `["export", "urgent"]`, `["urgent"]`, p},
		{feedbackchange.KindASSIGNEE, `"ana@example.com"`, `null`, p},
		{feedbackchange.KindSTATUS, `"TRIAGED"`, `"RESOLVED"`, ""},
	}, b.history(t))
}

func TestUpdateWithNoChangeWritesNothing(t *testing.T) {
	t.Parallel()
	b := setupWorkflow(t)
	fb, err := b.store.Update(b.admin, b.feedback.ID, feedback.Change{Status: ptr(entfeedback.StatusNEW), AddTags: []string{"EXPORT"}})
	require.NoError(t, err)
	require.Equal(t, b.feedback.UpdatedAt, fb.UpdatedAt)
	require.Empty(t, b.history(t))
}

func TestUpdateValidation(t *testing.T) {
	t.Parallel()
	b := setupWorkflow(t)
	tests := []struct {
		name      string
		change    feedback.Change
		wantField string
		wantMsg   string
	}{
		{"tags and addTags", feedback.Change{Tags: []string{"a"}, AddTags: []string{"b"}}, "input.tags", "not both"},
		{"blank assignee", feedback.Change{Assignee: ptr("  ")}, "input.assignee", "clearAssignee unassigns"},
		{"long assignee", feedback.Change{Assignee: ptr(strings.Repeat("é", 101))}, "input.assignee", "at most 200 bytes"},
		{"assignee and clear", feedback.Change{Assignee: ptr("ana"), ClearAssignee: true}, "input.clearAssignee", "not both"},
		{"blank note", feedback.Change{Note: ptr("\n")}, "input.note", "must not be empty"},
		{"long note", feedback.Change{Note: ptr(strings.Repeat("ü", 10_001))}, "input.note", "at most 10000 characters, got 10001"},
		{"bad tag with a note", feedback.Change{AddTags: []string{" "}, Note: ptr("hi")}, "input.tags", "must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := b.store.Update(b.admin, b.feedback.ID, tt.change)
			var inputErr *invalid.Error
			require.ErrorAs(t, err, &inputErr, "error %v", err)
			require.Equal(t, tt.wantField, inputErr.Field)
			require.Contains(t, inputErr.Message, tt.wantMsg)
		})
	}
	t.Cleanup(func() {
		require.Empty(t, b.history(t), "a refused update records nothing")
		fb, err := b.client.Feedback.Get(b.admin, b.feedback.ID)
		require.NoError(t, err)
		require.Equal(t, b.feedback.UpdatedAt, fb.UpdatedAt)
	})
}

// TestConcurrentUpdatesChainInHistory: updates of one feedback at the same
// time are serialised, so every entry's old value is the previous entry's
// new value and no added tag is lost.
func TestConcurrentUpdatesChainInHistory(t *testing.T) {
	t.Parallel()
	b := setupWorkflow(t)
	const writers = 8
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := b.store.Update(b.admin, b.feedback.ID, feedback.Change{AddTags: []string{fmt.Sprintf("t%d", i)}})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	fb, err := b.client.Feedback.Get(b.admin, b.feedback.ID)
	require.NoError(t, err)
	require.Len(t, fb.Tags, writers+1)
	lines := b.history(t)
	require.Len(t, lines, writers)
	previous := `["export"]`
	for _, l := range lines {
		require.JSONEq(t, previous, l.Old)
		var next []string
		require.NoError(t, json.Unmarshal([]byte(l.New), &next))
		require.Len(t, next, len(mustStrings(t, l.Old))+1)
		previous = l.New
	}
}

func TestUpdateOtherProjectsFeedbackIsNotFound(t *testing.T) {
	t.Parallel()
	b := setupWorkflow(t)
	other := newProject(t, b.client, t.Name()+" other")
	_, err := b.store.Update(other, b.feedback.ID, feedback.Change{Note: ptr("spying")})
	require.ErrorIs(t, err, invalid.ErrNotFound)
	require.Empty(t, b.history(t))
}

func mustStrings(t *testing.T, raw string) []string {
	t.Helper()
	var out []string
	require.NoError(t, json.Unmarshal([]byte(raw), &out))
	return out
}

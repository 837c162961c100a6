package feedback

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/pulse-analytics/pulse/ent"
	entfeedback "github.com/pulse-analytics/pulse/ent/feedback"
	"github.com/pulse-analytics/pulse/ent/feedbackchange"
	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// Workflow limits.
const (
	MaxAssigneeBytes = 200
	MaxNoteLength    = 10_000 // characters
)

// entry is one line of a feedback's history before it is stored: what
// changed, from and to which value (nil is JSON null).
type entry struct {
	kind     feedbackchange.Kind
	old, new any
}

// actor is who makes a change: the API key of the request, or nobody for
// internal callers.
type actor struct {
	keyID     *int
	keyPrefix *string
}

// actor resolves the API key of ctx. The prefix is copied into each entry so
// the history still says who it was once the key is revoked.
func (s *Store) actor(ctx context.Context) (actor, error) {
	scope, ok := tenant.FromContext(ctx)
	if !ok || scope.KeyID == 0 {
		return actor{}, nil
	}
	key, err := s.client.APIKey.Get(ctx, scope.KeyID)
	if err != nil {
		return actor{}, fmt.Errorf("load API key %d: %w", scope.KeyID, err)
	}
	return actor{keyID: &key.ID, keyPrefix: &key.Prefix}, nil
}

// workflow is feedback as its audit entries show it before and after an
// update: what the workflow sets. A note is only said to have been added:
// its text stays in the feedback's history, which erasure removes with the
// feedback, while the audit log outlives it.
type workflow struct {
	Status    entfeedback.Status `json:"status"`
	Tags      []string           `json:"tags"`
	Assignee  *string            `json:"assignee"`
	NoteAdded bool               `json:"noteAdded,omitempty"`
}

func workflowOf(fb *ent.Feedback, noteAdded bool) workflow {
	return workflow{Status: fb.Status, Tags: nonNil(fb.Tags), Assignee: fb.Assignee, NoteAdded: noteAdded}
}

// record appends entries to the history of feedback feedbackID.
func record(ctx context.Context, tx *ent.Tx, feedbackID int, who actor, entries []entry) error {
	creates := make([]*ent.FeedbackChangeCreate, len(entries))
	for i, e := range entries {
		oldValue, err := json.Marshal(e.old)
		if err != nil {
			return fmt.Errorf("encode old %s: %w", e.kind, err)
		}
		newValue, err := json.Marshal(e.new)
		if err != nil {
			return fmt.Errorf("encode new %s: %w", e.kind, err)
		}
		creates[i] = tx.FeedbackChange.Create().
			SetFeedbackID(feedbackID).
			SetKind(e.kind).
			SetOldValue(oldValue).
			SetNewValue(newValue).
			SetNillableActorKeyID(who.keyID).
			SetNillableActorKeyPrefix(who.keyPrefix)
	}
	if err := tx.FeedbackChange.CreateBulk(creates...).Exec(ctx); err != nil {
		return fmt.Errorf("record history of feedback %d: %w", feedbackID, err)
	}
	return nil
}

// check validates what does not depend on the stored feedback.
func (ch Change) check() error {
	if ch.Tags != nil && (ch.AddTags != nil || ch.RemoveTags != nil) {
		return invalid.Field("input.tags", "set tags, or addTags/removeTags, not both")
	}
	if ch.Assignee != nil {
		a := strings.TrimSpace(*ch.Assignee)
		switch {
		case ch.ClearAssignee:
			return invalid.Field("input.clearAssignee", "set assignee or clearAssignee, not both")
		case a == "":
			return invalid.Field("input.assignee", "must not be empty (clearAssignee unassigns)")
		case len(a) > MaxAssigneeBytes:
			return invalid.Field("input.assignee", "must be at most %d bytes", MaxAssigneeBytes)
		}
	}
	if ch.Note != nil {
		n := strings.TrimSpace(*ch.Note)
		switch {
		case n == "":
			return invalid.Field("input.note", "must not be empty")
		case utf8.RuneCountInString(n) > MaxNoteLength:
			return invalid.Field("input.note", "must be at most %d characters, got %d", MaxNoteLength, utf8.RuneCountInString(n))
		}
	}
	return nil
}

// nonNil makes "no tags" read as [] rather than null in the history.
func nonNil(tags []string) []string {
	if tags == nil {
		return []string{}
	}
	return tags
}

func equalPtr(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func ptr[T any](v T) *T { return &v }

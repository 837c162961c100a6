// Package feedback takes in what users tell a product team (kind, rating,
// NPS score, text, tags, with a sentiment computed on arrival) and manages it
// afterwards: its workflow status, tags, assignee and internal notes, with a
// history of every change.
package feedback

import (
	"context"
	"fmt"
	"github.com/pulse-analytics/pulse/internal/dirty"
	"slices"
	"strings"

	"github.com/pulse-analytics/pulse/ent"
	entfeedback "github.com/pulse-analytics/pulse/ent/feedback"
	"github.com/pulse-analytics/pulse/ent/feedbackchange"
	"github.com/pulse-analytics/pulse/internal/audit"
	"github.com/pulse-analytics/pulse/internal/invalid"
)

// Tag limits.
const (
	MaxTags      = 32
	MaxTagLength = 64
)

// Change edits feedback; nil fields are left alone. Tags replaces the tags;
// AddTags and RemoveTags edit them. Assignee assigns the feedback,
// ClearAssignee unassigns it, and Note adds an internal note.
type Change struct {
	Status        *entfeedback.Status
	Tags          []string
	AddTags       []string
	RemoveTags    []string
	Assignee      *string
	ClearAssignee bool
	Note          *string
}

// Store changes feedback of the project in the context.
type Store struct {
	client *ent.Client
}

// NewStore returns a Store over client.
func NewStore(client *ent.Client) *Store { return &Store{client: client} }

// Update applies ch to feedback id and appends one history entry per value
// that actually changed (and one per note), naming the API key of the
// context, in the same transaction. The feedback row is locked meanwhile, so
// concurrent updates are recorded in the order they were applied, each with
// the old value it really replaced.
func (s *Store) Update(ctx context.Context, id int, ch Change) (*ent.Feedback, error) {
	if err := ch.check(); err != nil {
		return nil, err
	}
	actor, err := s.actor(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := s.client.Tx(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin update of feedback %d: %w", id, err)
	}
	defer func() { _ = tx.Rollback() }()
	fb, err := tx.Feedback.Query().Where(entfeedback.ID(id)).ForUpdate().Only(ctx)
	if ent.IsNotFound(err) {
		return nil, &invalid.Error{Field: "id", Message: fmt.Sprintf("feedback %d not found", id), Err: invalid.ErrNotFound}
	}
	if err != nil {
		return nil, fmt.Errorf("load feedback %d: %w", id, err)
	}
	update := fb.Update()
	entries, err := plan(fb, ch, update)
	if err != nil {
		return nil, err
	}
	if len(entries) > 0 {
		before := workflowOf(fb, false)
		if fb, err = update.Save(ctx); err != nil {
			return nil, fmt.Errorf("update feedback %d: %w", id, err)
		}
		if err := record(ctx, tx, fb.ID, actor, entries); err != nil {
			return nil, err
		}
		if err := audit.Record(ctx, tx, fb.ID, before, workflowOf(fb, ch.Note != nil)); err != nil {
			return nil, err
		}
		var changes dirty.Changes
		changes.Add(int64(fb.UserID), dirty.Feedback())
		if err := dirty.Mark(ctx, tx, fb.ProjectID, &changes); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit update of feedback %d: %w", id, err)
	}
	return fb.Unwrap(), nil
}

// plan sets on update what ch changes in fb and returns the history entries
// of those changes; a value set to what it already is makes no entry.
func plan(fb *ent.Feedback, ch Change, update *ent.FeedbackUpdateOne) ([]entry, error) {
	var entries []entry
	if ch.Status != nil && *ch.Status != fb.Status {
		update.SetStatus(*ch.Status)
		entries = append(entries, entry{kind: feedbackchange.KindSTATUS, old: fb.Status, new: *ch.Status})
	}
	if ch.Tags != nil || ch.AddTags != nil || ch.RemoveTags != nil {
		tags, err := editTags(fb.Tags, ch)
		if err != nil {
			return nil, err
		}
		if !slices.Equal(tags, fb.Tags) {
			update.SetTags(tags)
			entries = append(entries, entry{kind: feedbackchange.KindTAGS, old: nonNil(fb.Tags), new: tags})
		}
	}
	assignee := fb.Assignee
	if ch.Assignee != nil {
		assignee = ptr(strings.TrimSpace(*ch.Assignee))
	}
	if ch.ClearAssignee {
		assignee = nil
	}
	if !equalPtr(assignee, fb.Assignee) {
		update.SetNillableAssignee(assignee)
		if assignee == nil {
			update.ClearAssignee()
		}
		entries = append(entries, entry{kind: feedbackchange.KindASSIGNEE, old: fb.Assignee, new: assignee})
	}
	if ch.Note != nil {
		entries = append(entries, entry{kind: feedbackchange.KindNOTE, new: strings.TrimSpace(*ch.Note)})
	}
	return entries, nil
}

// editTags returns the tags after ch: replaced, then added to, then removed
// from, cleaned.
func editTags(current []string, ch Change) ([]string, error) {
	tags := current
	if ch.Tags != nil {
		tags = ch.Tags
	}
	tags = append(slices.Clone(tags), ch.AddTags...)
	removed := make([]string, len(ch.RemoveTags))
	for i, t := range ch.RemoveTags {
		removed[i] = normalizeTag(t)
	}
	tags = slices.DeleteFunc(tags, func(t string) bool { return slices.Contains(removed, normalizeTag(t)) })
	return cleanTags(tags)
}

// cleanTags trims, lower-cases and de-duplicates tags, keeping first-seen order.
func cleanTags(tags []string) ([]string, error) {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = normalizeTag(t)
		switch {
		case t == "":
			return nil, invalid.Field("input.tags", "tags must not be empty")
		case len(t) > MaxTagLength:
			return nil, invalid.Field("input.tags", "tag %q is longer than %d characters", t, MaxTagLength)
		case slices.Contains(out, t):
			continue
		}
		out = append(out, t)
	}
	if len(out) > MaxTags {
		return nil, invalid.Field("input.tags", "at most %d tags", MaxTags)
	}
	return out, nil
}

func normalizeTag(t string) string { return strings.ToLower(strings.TrimSpace(t)) }

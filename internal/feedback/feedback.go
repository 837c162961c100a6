// Package feedback takes in what users tell a product team (kind, rating,
// NPS score, text, tags, with a sentiment computed on arrival) and manages it
// afterwards: its workflow status and tags.
package feedback

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/pulse-analytics/pulse/ent"
	entfeedback "github.com/pulse-analytics/pulse/ent/feedback"
	"github.com/pulse-analytics/pulse/internal/invalid"
)

// Tag limits.
const (
	MaxTags      = 32
	MaxTagLength = 64
)

// Change edits feedback; nil fields are left alone. Tags replaces the tags;
// AddTags and RemoveTags edit them.
type Change struct {
	Status     *entfeedback.Status
	Tags       []string
	AddTags    []string
	RemoveTags []string
}

// Store changes feedback of the project in the context.
type Store struct {
	client *ent.Client
}

// NewStore returns a Store over client.
func NewStore(client *ent.Client) *Store { return &Store{client: client} }

// Update applies ch to feedback id.
func (s *Store) Update(ctx context.Context, id int, ch Change) (*ent.Feedback, error) {
	if ch.Tags != nil && (ch.AddTags != nil || ch.RemoveTags != nil) {
		return nil, invalid.Field("input.tags", "set tags, or addTags/removeTags, not both")
	}
	fb, err := s.client.Feedback.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, &invalid.Error{Field: "id", Message: fmt.Sprintf("feedback %d not found", id), Err: invalid.ErrNotFound}
	}
	if err != nil {
		return nil, fmt.Errorf("load feedback %d: %w", id, err)
	}
	update := fb.Update()
	if ch.Status != nil {
		update.SetStatus(*ch.Status)
	}
	tags := fb.Tags
	if ch.Tags != nil {
		tags = ch.Tags
	}
	tags = append(slices.Clone(tags), ch.AddTags...)
	removed := make([]string, len(ch.RemoveTags))
	for i, t := range ch.RemoveTags {
		removed[i] = normalizeTag(t)
	}
	tags = slices.DeleteFunc(tags, func(t string) bool { return slices.Contains(removed, normalizeTag(t)) })
	if ch.Tags != nil || ch.AddTags != nil || ch.RemoveTags != nil {
		cleaned, err := cleanTags(tags)
		if err != nil {
			return nil, err
		}
		update.SetTags(cleaned)
	}
	fb, err = update.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("update feedback %d: %w", id, err)
	}
	return fb, nil
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

package feedback

import (
	"context"
	"fmt"
	"github.com/pulse-analytics/pulse/internal/dirty"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pulse-analytics/pulse/ent"
	entfeedback "github.com/pulse-analytics/pulse/ent/feedback"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/invalid"
)

// Limits of submitted feedback.
const (
	MaxUserIDBytes  = 512
	MaxTextLength   = 10_000 // characters
	MaxChannelBytes = 200
)

// Submission is feedback as a product sends it.
type Submission struct {
	// UserID is the external id of the user (the SDK's userId); an unknown
	// one creates the user.
	UserID   string
	Kind     entfeedback.Kind // "" is OTHER
	Rating   *int             // 1-5
	NPSScore *int             // 0-10
	Text     string
	Channel  string
	Tags     []string
	// Timestamp is when the user gave the feedback; zero is now.
	Timestamp time.Time
}

// Submit validates in, classifies its sentiment (see Classify) and stores it
// for the user of in.UserID, creating that user on first sight. Creating a
// user this way does not make it active: first_seen_at, last_seen_at and
// event_count stay as they are, since only usage events move them. Bad input
// (a timestamp older than the project's retention included) is an
// *invalid.Error naming the input field.
func (s *Store) Submit(ctx context.Context, in Submission) (*ent.Feedback, error) {
	now := time.Now()
	in, err := checkSubmission(in, now)
	if err != nil {
		return nil, err
	}
	tx, err := s.client.Tx(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	if err := ingest.CheckRetained(ctx, tx, in.Timestamp, now); err != nil {
		_ = tx.Rollback()
		return nil, err
	}
	fb, err := createFeedback(ctx, tx, in)
	if err != nil {
		_ = tx.Rollback()
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit feedback: %w", err)
	}
	return fb.Unwrap(), nil
}

func createFeedback(ctx context.Context, tx *ent.Tx, in Submission) (*ent.Feedback, error) {
	var changes dirty.Changes
	userID, err := ingest.FindOrCreateUserMarking(ctx, tx, in.UserID, &changes)
	if err != nil {
		return nil, err
	}
	changes.Add(int64(userID), dirty.Feedback())
	fb, err := tx.Feedback.Create().
		SetUserID(userID).
		SetKind(in.Kind).
		SetNillableRating(in.Rating).
		SetNillableNpsScore(in.NPSScore).
		SetText(in.Text).
		SetChannel(in.Channel).
		SetTags(in.Tags).
		SetSentiment(Classify(in.Kind, in.Rating, in.NPSScore, in.Text)).
		SetTimestamp(in.Timestamp).
		Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("create feedback: %w", err)
	}
	if err := dirty.Mark(ctx, tx, fb.ProjectID, &changes); err != nil {
		return nil, err
	}
	return fb, nil
}

// checkSubmission returns in validated and normalised: trimmed strings,
// cleaned tags, a kind and a timestamp.
func checkSubmission(in Submission, now time.Time) (Submission, error) {
	in.UserID = strings.TrimSpace(in.UserID)
	in.Text = strings.TrimSpace(in.Text)
	in.Channel = strings.TrimSpace(in.Channel)
	if in.Kind == "" {
		in.Kind = entfeedback.KindOTHER
	}
	switch {
	case in.UserID == "":
		return in, invalid.Field("input.userId", "is required")
	case len(in.UserID) > MaxUserIDBytes:
		return in, invalid.Field("input.userId", "must be at most %d bytes, got %d", MaxUserIDBytes, len(in.UserID))
	case entfeedback.KindValidator(in.Kind) != nil:
		return in, invalid.Field("input.kind", "unknown kind %q", in.Kind)
	case in.Rating != nil && (*in.Rating < 1 || *in.Rating > 5):
		return in, invalid.Field("input.rating", "must be 1 to 5, got %d", *in.Rating)
	case in.NPSScore != nil && (*in.NPSScore < 0 || *in.NPSScore > 10):
		return in, invalid.Field("input.npsScore", "must be 0 to 10, got %d", *in.NPSScore)
	case utf8.RuneCountInString(in.Text) > MaxTextLength:
		return in, invalid.Field("input.text", "must be at most %d characters, got %d", MaxTextLength, utf8.RuneCountInString(in.Text))
	case in.Text == "" && in.Rating == nil && in.NPSScore == nil:
		return in, invalid.Field("input.text", "feedback needs text, a rating or an npsScore")
	case len(in.Channel) > MaxChannelBytes:
		return in, invalid.Field("input.channel", "must be at most %d bytes, got %d", MaxChannelBytes, len(in.Channel))
	}
	timestamp, err := ingest.SubmittedAt(in.Timestamp, now)
	if err != nil {
		return in, err
	}
	in.Timestamp = timestamp
	if in.Tags != nil {
		if in.Tags, err = cleanTags(in.Tags); err != nil {
			return in, err
		}
	}
	return in, nil
}

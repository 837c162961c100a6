package ingest

import (
	"context"
	"fmt"
	"github.com/pulse-analytics/pulse/internal/dirty"
	"time"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/identity"
	"github.com/pulse-analytics/pulse/ent/user"
	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/privacy"
)

// FindOrCreateUser returns the id of the user with externalID in the project
// of ctx, creating the user if there is none, for the ingest paths that go
// through ent (feedback, survey answers). Two requests creating the same user
// at once both get the one row: the insert is an upsert on the unique
// (project_id, external_id) index, whose project_id the tenant hook sets like
// on any create. The conflict update writes every column to itself, so a
// known user's activity and traits are never changed, and RETURNING yields
// its id (DO NOTHING would return no row). An external id the project
// suppressed is privacy.ErrSuppressed.
func FindOrCreateUser(ctx context.Context, tx *ent.Tx, externalID string) (int, error) {
	id, _, err := findOrCreateUser(ctx, tx, externalID)
	return id, err
}

// FindOrCreateUserMarking is FindOrCreateUser, also recording in changes
// that a user it created is new to every real-time segment.
func FindOrCreateUserMarking(ctx context.Context, tx *ent.Tx, externalID string, changes *dirty.Changes) (int, error) {
	id, created, err := findOrCreateUser(ctx, tx, externalID)
	if created {
		changes.Add(int64(id), dirty.All)
	}
	return id, err
}

// findOrCreateUser is FindOrCreateUser. An external id the project
// suppressed is privacy.ErrSuppressed: the caller rolls back what it did
// (a user it created included). The check comes after the user is found or
// created, so that it sees an erasure the creation had to wait for.
func findOrCreateUser(ctx context.Context, tx *ent.Tx, externalID string) (int, bool, error) {
	id, created, err := findOrCreateUserRow(ctx, tx, externalID)
	if err != nil {
		return 0, false, err
	}
	if err := privacy.CheckSuppressed(ctx, tx, externalID); err != nil {
		return 0, false, err
	}
	return id, created, nil
}

func findOrCreateUserRow(ctx context.Context, tx *ent.Tx, externalID string) (int, bool, error) {
	id, err := tx.User.Query().Where(user.ExternalID(externalID)).OnlyID(ctx)
	if err == nil {
		return id, false, nil
	}
	if !ent.IsNotFound(err) {
		return 0, false, fmt.Errorf("look up user %q: %w", externalID, err)
	}
	// An id an alias made a name of a known user is that user's, as for
	// events (see selectUsersByExternalID).
	id, err = tx.Identity.Query().Where(identity.AnonymousID(externalID), identity.HasUserWith(user.ExternalIDNotNil())).
		QueryUser().OnlyID(ctx)
	if err == nil {
		return id, false, nil
	}
	if !ent.IsNotFound(err) {
		return 0, false, fmt.Errorf("look up alias %q: %w", externalID, err)
	}
	id, err = tx.User.Create().
		SetExternalID(externalID).
		OnConflictColumns(user.FieldProjectID, user.FieldExternalID).
		Ignore().
		ID(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("create user %q: %w", externalID, err)
	}
	return id, true, nil
}

// MaxSubmissionSkew is how far ahead of the server's clock the timestamp of
// a feedback or a survey response may be.
const MaxSubmissionSkew = time.Hour

// SubmittedAt checks the client's timestamp of a submission: zero means now,
// and one more than MaxSubmissionSkew ahead is refused as input.timestamp.
func SubmittedAt(timestamp, now time.Time) (time.Time, error) {
	if timestamp.IsZero() {
		return now, nil
	}
	if timestamp.After(now.Add(MaxSubmissionSkew)) {
		return timestamp, invalid.Field("input.timestamp", "%s is more than %s in the future",
			timestamp.Format(time.RFC3339), MaxSubmissionSkew)
	}
	return timestamp, nil
}

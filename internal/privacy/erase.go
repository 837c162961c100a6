package privacy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/recompute"
	"github.com/pulse-analytics/pulse/internal/tenant"
	"github.com/pulse-analytics/pulse/internal/webhook"
)

// MaxErasures bounds the users one erasure request names: a thousand
// users' rows are a transaction of a few seconds at most.
const MaxErasures = 1000

// Request names the users to erase, by external id or by user id (a user
// known only by anonymous ids has no external id), and says whether their
// ids are to be suppressed at ingest afterwards.
type Request struct {
	ExternalIDs []string
	UserIDs     []int
	Suppress    bool
	// Field names the input the ids came from, for errors
	// ("externalIds", "id"); default "externalIds" and "id".
	ExternalIDsField, UserIDsField string
}

// Erasure is the record of one erased user.
type Erasure struct {
	// ID is the erasure's own id.
	ID int
	// UserID is the id the user had; nil when the request suppressed an
	// external id no user had, and in what Unsuppress returns.
	UserID     *int
	ErasedAt   time.Time
	Suppressed bool
	// Removed counts the rows removed, by table.
	Removed map[string]int
}

// erasedUser is a user being erased: the ids rows about them may name them by.
type erasedUser struct {
	ID           int64
	ExternalID   string // "" when the user had none
	AnonymousIDs []string
}

// Eraser erases users.
type Eraser struct {
	db  *sql.DB
	now func() time.Time
}

// NewEraser returns an Eraser over db.
func NewEraser(db *sql.DB) *Eraser { return &Eraser{db: db, now: time.Now} }

// ErrNotAdmin is returned when the caller's key is not an ADMIN key.
var ErrNotAdmin = errors.New("erasing users needs an ADMIN key")

// Erase removes the users of req, and every row about them, from the
// project of ctx in one transaction, records one Erasure per user and,
// with req.Suppress, suppresses their ids (the external id, every
// anonymous id and alias). An external id names the user ingest files its
// messages under (an alias's previous id names the user it was aliased
// to), and the users merged into a user are erased with it (their
// membership history, marks and webhook messages still carry their ids).
// Their memberships end in a run of trigger ERASURE per segment. An
// external id that names no user is NOT_FOUND, unless the request
// suppresses: then it is recorded and suppressed, so a person who objected
// before sending anything is kept out too. The result is in the order of
// the users' ids.
func (e *Eraser) Erase(ctx context.Context, req Request) ([]Erasure, error) {
	scope, ok := tenant.FromContext(ctx)
	if !ok {
		return nil, fmt.Errorf("erase users: %w", tenant.ErrNoTenant)
	}
	if !scope.Role.Allows(tenant.RoleAdmin) {
		return nil, ErrNotAdmin
	}
	req, err := checkRequest(req)
	if err != nil {
		return nil, err
	}
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin erasure: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	erasures, err := e.erase(ctx, tx, scope, req)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit erasure: %w", err)
	}
	return erasures, nil
}

// erase is Erase inside its transaction. The order of the locks is what
// makes it safe while ingestion and runs go on: the project row first
// (erasures of a project are serial), then every segment as runs take them
// (recompute.LockSegments), then the users' rows. Once it holds those, no
// run is half way, a batch that has a user's row committed before and one
// that needs it fails after (a remembered user that is gone is retried),
// so what the erasure reads of the users is all there is.
func (e *Eraser) erase(ctx context.Context, tx *sql.Tx, scope tenant.Scope, req Request) ([]Erasure, error) {
	salt, err := lockProject(ctx, tx, scope.ProjectID, req.Suppress)
	if err != nil {
		return nil, err
	}
	segments, err := recompute.LockSegments(ctx, tx, scope.ProjectID)
	if err != nil {
		return nil, err
	}
	users, unknown, err := lockUsers(ctx, tx, scope.ProjectID, req)
	if err != nil {
		return nil, err
	}
	if len(unknown) > 0 && !req.Suppress {
		return nil, notFound(req.ExternalIDsField, unknown)
	}
	ids := make([]int64, 0, len(users))
	for _, u := range users {
		ids = append(ids, u.ID)
	}
	// The users merged into them are erased with them: their rows went in
	// the merge, but not the history that names their ids.
	merged, err := mergedInto(ctx, tx, scope.ProjectID, ids)
	if err != nil {
		return nil, err
	}
	for from := range merged {
		ids = append(ids, from)
	}
	if _, err := recompute.EraseMembers(ctx, tx, scope.ProjectID, ids); err != nil {
		return nil, err
	}
	counts := removed{}
	marks, err := recompute.DropMarks(ctx, tx, segments, ids)
	if err != nil {
		return nil, err
	}
	for user, n := range marks {
		counts.add(user, "segment_dirty_users", n)
	}
	if err := deleteRows(ctx, tx, scope.ProjectID, ids, counts); err != nil {
		return nil, err
	}
	counts.fold(merged)
	for _, ext := range unknown {
		users = append(users, erasedUser{ExternalID: ext})
	}
	return record(ctx, tx, scope, salt, users, req.Suppress, counts, e.now().UTC())
}

// deleteRows deletes every row about users. The webhook outbox goes
// first: its messages are found through the memberships deleted next.
// Events go before the rest of userRows, with their message keys.
func deleteRows(ctx context.Context, tx *sql.Tx, projectID int, ids []int64, counts removed) error {
	if len(ids) == 0 {
		return nil
	}
	messages, err := webhook.EraseUsers(ctx, tx, projectID, ids)
	if err != nil {
		return err
	}
	for user, n := range messages {
		counts.add(user, "webhook_messages", n)
	}
	if err := scrubDiscovery(ctx, tx, projectID, ids, counts); err != nil {
		return err
	}
	if err := eraseEvents(ctx, tx, projectID, ids, counts); err != nil {
		return err
	}
	return deleteUserRows(ctx, tx, projectID, ids, counts)
}

// lockProject takes the project's row, which orders erasures of the
// project, and returns its privacy salt, made on first use. With suppress
// it moves the project's suppression version, which tells ingest that its
// copy of the suppressed ids is stale.
func lockProject(ctx context.Context, tx *sql.Tx, projectID int, suppress bool) ([]byte, error) {
	fresh, err := newSalt()
	if err != nil {
		return nil, err
	}
	var salt []byte
	err = tx.QueryRowContext(ctx, `
		UPDATE projects SET privacy_salt = COALESCE(privacy_salt, $2),
			suppression_version = suppression_version + CASE WHEN $3 THEN 1 ELSE 0 END
		WHERE id = $1 RETURNING privacy_salt`, projectID, fresh, suppress).Scan(&salt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("project %d: %w", projectID, tenant.ErrNoTenant)
	}
	if err != nil {
		return nil, fmt.Errorf("lock project %d: %w", projectID, err)
	}
	return salt, nil
}

// checkRequest validates req and returns it with its ids each once.
func checkRequest(req Request) (Request, error) {
	if req.ExternalIDsField == "" {
		req.ExternalIDsField = "externalIds"
	}
	if req.UserIDsField == "" {
		req.UserIDsField = "id"
	}
	req.ExternalIDs = uniqueStrings(req.ExternalIDs)
	slices.Sort(req.UserIDs)
	req.UserIDs = slices.Compact(req.UserIDs)
	n := len(req.ExternalIDs) + len(req.UserIDs)
	switch {
	case n == 0:
		return req, invalid.Field(req.ExternalIDsField, "name at least one user, by external id or id")
	case n > MaxErasures:
		return req, invalid.Field(req.ExternalIDsField, "at most %d users can be erased at once, got %d", MaxErasures, n)
	}
	for _, ext := range req.ExternalIDs {
		if strings.TrimSpace(ext) == "" {
			return req, invalid.Field(req.ExternalIDsField, "an external id must not be empty")
		}
	}
	return req, nil
}

func uniqueStrings(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// notFound is the NOT_FOUND error for external ids no user has.
func notFound(field string, unknown []string) error {
	sort.Strings(unknown)
	shown := unknown
	if len(shown) > 5 {
		shown = append(slices.Clone(shown[:5]), "…")
	}
	msg := fmt.Sprintf("no user with external id %q in this project", shown[0])
	if len(unknown) > 1 {
		msg = fmt.Sprintf("no users with external ids %q in this project", shown)
	}
	return &invalid.Error{Field: field, Message: msg, Err: invalid.ErrNotFound}
}

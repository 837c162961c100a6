package segment

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// Membership is Explain's answer for a user and a segment.
type Membership struct {
	Member bool
	Rule   *Explanation
}

// ExplainMembership explains segment segmentID's rule for user userID of the
// project in ctx.
func ExplainMembership(ctx context.Context, db *sql.DB, client *ent.Client, segmentID, userID int) (*Membership, error) {
	scope, ok := tenant.FromContext(ctx)
	if !ok {
		return nil, tenant.ErrNoTenant
	}
	seg, err := client.Segment.Get(ctx, segmentID)
	if ent.IsNotFound(err) {
		return nil, &invalid.Error{Field: "segmentId", Message: fmt.Sprintf("segment %d not found", segmentID), Err: invalid.ErrNotFound}
	}
	if err != nil {
		return nil, fmt.Errorf("load segment %d: %w", segmentID, err)
	}
	if len(seg.Rule) == 0 {
		return nil, invalid.Field("segmentId", "segment %d is STATIC: it has no rule to explain", segmentID)
	}
	if _, err := client.User.Get(ctx, userID); ent.IsNotFound(err) {
		return nil, &invalid.Error{Field: "userId", Message: fmt.Sprintf("user %d not found", userID), Err: invalid.ErrNotFound}
	} else if err != nil {
		return nil, fmt.Errorf("load user %d: %w", userID, err)
	}
	r, err := Decode(seg.Rule)
	if err != nil {
		return nil, err
	}
	project, err := client.Project.Get(ctx, scope.ProjectID)
	if err != nil {
		return nil, fmt.Errorf("load project: %w", err)
	}
	loc, err := time.LoadLocation(project.Timezone)
	if err != nil {
		return nil, fmt.Errorf("project time zone: %w", err)
	}
	d, err := LoadUser(ctx, db, scope.ProjectID, userID, r, project.ActiveEvents)
	if err != nil {
		return nil, err
	}
	var member bool
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM segment_members WHERE segment_id = $1 AND user_id = $2)`,
		segmentID, userID).Scan(&member); err != nil {
		return nil, fmt.Errorf("membership: %w", err)
	}
	return &Membership{Member: member, Rule: Explain(r, d, Env{ProjectID: scope.ProjectID, Now: time.Now(), Location: loc})}, nil
}

package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/retention"
)

// withoutExpired returns the messages of batch the project's retention
// keeps, and a rejection of each usage event stamped before it: the
// retention's job would delete it, having counted it first. Profile
// messages are kept whatever their time: they change users, which stay.
// Without a retention it is batch itself, at no cost.
func withoutExpired(batch []*prepared, s settings, now time.Time) ([]*prepared, []Rejection) {
	if s.retentionDays == 0 {
		return batch, nil
	}
	cutoff := retention.CutoffAt(now, s.location, s.retentionDays).Time
	var (
		kept     []*prepared
		rejected []Rejection
	)
	for i, p := range batch {
		if _, usage := eventName(p); !usage || !p.at.Before(cutoff) {
			if kept != nil {
				kept = append(kept, p)
			}
			continue
		}
		if kept == nil {
			kept = append(make([]*prepared, 0, len(batch)), batch[:i]...)
		}
		rejected = append(rejected, expiredRejection(p, s.retentionDays))
	}
	if kept == nil {
		return batch, nil
	}
	return kept, rejected
}

func expiredRejection(p *prepared, days int) Rejection {
	return Rejection{Index: p.index, MessageID: p.MessageID, Field: "timestamp", Reason: ExpiredReason(p.at, days)}
}

// ExpiredReason says why something stamped at was refused by a retention
// of days.
func ExpiredReason(at time.Time, days int) string {
	unit := "days"
	if days == 1 {
		unit = "day"
	}
	return fmt.Sprintf("%s is older than the project's retention of %d %s", at.UTC().Format(time.RFC3339), days, unit)
}

// CheckRetained refuses, as input.timestamp, feedback or a survey response
// stamped at before the retention of the project of ctx, for the paths
// that go through ent; now is the submission's time. Without a retention,
// or within a day of now (no retention is shorter), it reads nothing.
func CheckRetained(ctx context.Context, tx *ent.Tx, at, now time.Time) error {
	if !at.Before(now.Add(-24 * time.Hour)) {
		return nil
	}
	p, err := tx.Project.Query().Only(ctx)
	if err != nil {
		return fmt.Errorf("load the project's retention: %w", err)
	}
	if p.RetentionDays == nil {
		return nil
	}
	loc, err := time.LoadLocation(p.Timezone)
	if err != nil {
		return fmt.Errorf("project %d time zone %q: %w", p.ID, p.Timezone, err)
	}
	if at.Before(retention.CutoffAt(now, loc, *p.RetentionDays).Time) {
		return invalid.Field("input.timestamp", "%s", ExpiredReason(at, *p.RetentionDays))
	}
	return nil
}

package graph

import (
	"context"
	"errors"
	"slices"

	"github.com/pulse-analytics/pulse/graph/model"
	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/privacy"
)

// deleteUser erases the one user named by externalID or id.
func (r *Resolver) deleteUser(ctx context.Context, externalID *string, id *int, suppress bool) (*privacy.Erasure, error) {
	req := privacy.Request{Suppress: suppress, ExternalIDsField: "externalId", UserIDsField: "id"}
	switch {
	case (externalID == nil) == (id == nil):
		return nil, invalid.Field("externalId", "name the user by exactly one of externalId and id")
	case externalID != nil:
		req.ExternalIDs = []string{*externalID}
	default:
		req.UserIDs = []int{*id}
	}
	erasures, err := r.eraser.Erase(ctx, req)
	if err != nil {
		return nil, err
	}
	return &erasures[0], nil
}

// deleteUsers erases users by external id.
func (r *Resolver) deleteUsers(ctx context.Context, externalIDs []string, suppress bool) ([]*privacy.Erasure, error) {
	erasures, err := r.eraser.Erase(ctx, privacy.Request{ExternalIDs: externalIDs, Suppress: suppress})
	if err != nil {
		return nil, err
	}
	return pointers(erasures), nil
}

// unsuppressUser lifts the suppression of an id.
func (r *Resolver) unsuppressUser(ctx context.Context, externalID string) ([]*privacy.Erasure, error) {
	lifted, err := r.eraser.Unsuppress(ctx, externalID, "externalId")
	if err != nil {
		return nil, err
	}
	return pointers(lifted), nil
}

// erasedRows lists an erasure's removed rows in table order.
func erasedRows(e *privacy.Erasure) []*model.ErasedRows {
	tables := make([]string, 0, len(e.Removed))
	for table := range e.Removed {
		tables = append(tables, table)
	}
	slices.Sort(tables)
	out := make([]*model.ErasedRows, len(tables))
	for i, table := range tables {
		out[i] = &model.ErasedRows{Table: table, Rows: e.Removed[table]}
	}
	return out
}

// suppressed reports whether err says a submission's user is suppressed,
// counting it when so.
func (r *Resolver) suppressed(err error, source string) bool {
	if !errors.Is(err, privacy.ErrSuppressed) {
		return false
	}
	if r.onSuppressed != nil {
		r.onSuppressed(source)
	}
	return true
}

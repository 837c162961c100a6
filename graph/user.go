package graph

import (
	"context"
	"fmt"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/user"
	"github.com/pulse-analytics/pulse/internal/invalid"
)

// userByExternalID returns the user of the caller's project with the SDK's
// userId externalID (the tenant interceptor scopes the query), or nil.
func (r *Resolver) userByExternalID(ctx context.Context, externalID string) (*ent.User, error) {
	query, err := r.client.User.Query().Where(user.ExternalID(externalID)).CollectFields(ctx)
	if err != nil {
		return nil, fmt.Errorf("collect fields of user: %w", err)
	}
	u, err := query.Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load user by external id: %w", err)
	}
	return u, nil
}

// namedUserID is the id of the user an argument pair names: exactly one of
// the User's id (argument userIDArg) and its external id (externalIDArg).
// An unknown external id is NOT_FOUND, as an unknown id is.
func (r *Resolver) namedUserID(ctx context.Context, userID *int, externalID *string, userIDArg, externalIDArg string) (int, error) {
	switch {
	case userID != nil && externalID != nil:
		return 0, invalid.Field(userIDArg, "give either %s or %s, not both", userIDArg, externalIDArg)
	case userID != nil:
		return *userID, nil
	case externalID == nil:
		return 0, invalid.Field(userIDArg, "give %s (the User's id) or %s (the SDK's userId)", userIDArg, externalIDArg)
	}
	id, err := r.client.User.Query().Where(user.ExternalID(*externalID)).OnlyID(ctx)
	if ent.IsNotFound(err) {
		return 0, &invalid.Error{Field: externalIDArg, Message: fmt.Sprintf("no user has external id %q", *externalID), Err: invalid.ErrNotFound}
	}
	if err != nil {
		return 0, fmt.Errorf("look up user by external id: %w", err)
	}
	return id, nil
}

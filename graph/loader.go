package graph

import (
	"context"
	"fmt"
	"time"

	"github.com/vikstrous/dataloadgen"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/identity"
	"github.com/pulse-analytics/pulse/internal/webhook"
)

// loaders batch the per-object fields that ent's field collection cannot
// load with their parents: the anonymous ids of the users of a page are read
// in one query, not one per user, and the users each run of a page moved in
// one statement, not one per run.
type loaders struct {
	anonymousIDs *dataloadgen.Loader[int, []string]
	webhooks     *webhookLoaders
	runChanges   *dataloadgen.Loader[runChangesKey, *ent.RunChangesPage]
}

type loadersKey struct{}

// loaderWait is how long a loader waits for sibling fields to ask before it
// queries. gqlgen resolves the fields of a list's objects concurrently, so
// they all ask within microseconds; the wait is generous because the
// machine may be busy, and small next to a query's round trip.
const loaderWait = 5 * time.Millisecond

// loaderBatch bounds the ids of one query (a live change carries up to 1,000
// users a side).
const loaderBatch = 1000

func withLoaders(ctx context.Context, client *ent.Client, webhooks *webhook.Store) context.Context {
	return context.WithValue(ctx, loadersKey{}, &loaders{
		anonymousIDs: dataloadgen.NewMappedLoader(anonymousIDsFetcher(client),
			dataloadgen.WithWait(loaderWait), dataloadgen.WithBatchCapacity(loaderBatch)),
		webhooks: newWebhookLoaders(webhooks),
		runChanges: dataloadgen.NewMappedLoader(runChangesFetcher(client),
			dataloadgen.WithWait(loaderWait), dataloadgen.WithBatchCapacity(loaderBatch)),
	})
}

// anonymousIDsOf returns the anonymous ids of user userID, batched with the
// other users of the response.
func anonymousIDsOf(ctx context.Context, client *ent.Client, userID int) ([]string, error) {
	l, ok := ctx.Value(loadersKey{}).(*loaders)
	if !ok {
		ids, err := anonymousIDsFetcher(client)(ctx, []int{userID})
		return ids[userID], err
	}
	return l.anonymousIDs.Load(ctx, userID)
}

// anonymousIDsFetcher reads the identities of users (of the caller's project:
// the tenant interceptor scopes the query), oldest first. Every user gets a
// list, empty when it has no anonymous id.
func anonymousIDsFetcher(client *ent.Client) func(context.Context, []int) (map[int][]string, error) {
	return func(ctx context.Context, userIDs []int) (map[int][]string, error) {
		identities, err := client.Identity.Query().
			Where(identity.UserIDIn(userIDs...)).
			Order(identity.ByCreatedAt(), identity.ByID()).
			Select(identity.FieldUserID, identity.FieldAnonymousID).
			All(ctx)
		if err != nil {
			return nil, fmt.Errorf("load anonymous ids of %d users: %w", len(userIDs), err)
		}
		byUser := make(map[int][]string, len(userIDs))
		for _, id := range userIDs {
			byUser[id] = []string{}
		}
		for _, ident := range identities {
			byUser[ident.UserID] = append(byUser[ident.UserID], ident.AnonymousID)
		}
		return byUser, nil
	}
}

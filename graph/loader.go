package graph

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/vikstrous/dataloadgen"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/identity"
)

// loaders batch the per-object fields that ent's field collection cannot
// load with their parents: the anonymous ids of the users of a page are read
// in one query, not one per user, and the users each run of a page moved in
// one statement, not one per run. Each is made on the response's first use:
// most responses use none, and making them all cost each response about 20
// allocations.
type loaders struct {
	client   *ent.Client
	resolver *Resolver

	anonymousIDsOnce sync.Once
	anonymousIDs     *dataloadgen.Loader[int, []string]
	webhooksOnce     sync.Once
	webhooks         *webhookLoaders
	runChangesOnce   sync.Once
	runChanges       *dataloadgen.Loader[runChangesKey, *ent.RunChangesPage]
	freshnessOnce    sync.Once
	freshness        *freshnessLoader
}

func (l *loaders) anonymousIDsLoader() *dataloadgen.Loader[int, []string] {
	l.anonymousIDsOnce.Do(func() {
		l.anonymousIDs = dataloadgen.NewMappedLoader(anonymousIDsFetcher(l.client),
			dataloadgen.WithWait(loaderWait), dataloadgen.WithBatchCapacity(loaderBatch))
	})
	return l.anonymousIDs
}

func (l *loaders) webhookLoaders() *webhookLoaders {
	l.webhooksOnce.Do(func() { l.webhooks = newWebhookLoaders(l.resolver.webhooks) })
	return l.webhooks
}

func (l *loaders) runChangesLoader() *dataloadgen.Loader[runChangesKey, *ent.RunChangesPage] {
	l.runChangesOnce.Do(func() {
		l.runChanges = dataloadgen.NewMappedLoader(runChangesFetcher(l.client),
			dataloadgen.WithWait(loaderWait), dataloadgen.WithBatchCapacity(loaderBatch))
	})
	return l.runChanges
}

func (l *loaders) freshnessLoader() *freshnessLoader {
	l.freshnessOnce.Do(func() {
		l.freshness = dataloadgen.NewMappedLoader(l.resolver.freshnessFetcher,
			dataloadgen.WithWait(loaderWait), dataloadgen.WithBatchCapacity(loaderBatch))
	})
	return l.freshness
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

func withLoaders(ctx context.Context, client *ent.Client, r *Resolver) context.Context {
	ctx = ent.WithNestedArgs(ctx)
	return context.WithValue(ctx, loadersKey{}, &loaders{client: client, resolver: r})
}

// anonymousIDsOf returns the anonymous ids of user userID, batched with the
// other users of the response.
func anonymousIDsOf(ctx context.Context, client *ent.Client, userID int) ([]string, error) {
	l, ok := ctx.Value(loadersKey{}).(*loaders)
	if !ok {
		ids, err := anonymousIDsFetcher(client)(ctx, []int{userID})
		return ids[userID], err
	}
	return l.anonymousIDsLoader().Load(ctx, userID)
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

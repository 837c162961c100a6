package graph

import (
	"context"
	"fmt"
	"sync"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/vikstrous/dataloadgen"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/webhookmessage"
	"github.com/pulse-analytics/pulse/graph/model"
	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/webhook"
)

func webhookDefinition(input model.CreateWebhookEndpointInput) webhook.Definition {
	def := webhook.Definition{
		URL:         input.URL,
		Description: deref(input.Description),
		SegmentIDs:  input.SegmentIds,
		Events:      webhookEvents(input.Events),
		BatchSize:   input.BatchSize,
		WriteKey:    deref(input.WriteKey),
	}
	if input.Kind != nil {
		def.Kind = *input.Kind
	}
	return def
}

func webhookChange(input model.UpdateWebhookEndpointInput) webhook.Change {
	ch := webhook.Change{
		URL:         input.URL,
		Description: input.Description,
		SegmentIDs:  input.SegmentIds,
		BatchSize:   input.BatchSize,
		WriteKey:    input.WriteKey,
	}
	if input.Events != nil {
		ch.Events = webhookEvents(input.Events)
	}
	return ch
}

// webhookEvents are events as the store names them, never nil for a
// list given empty (which the store refuses).
func webhookEvents(events []model.WebhookEvent) []string {
	names := make([]string, len(events))
	for i, e := range events {
		names[i] = string(e)
	}
	return names
}

func webhookEventsOf(endpoint *ent.WebhookEndpoint) []model.WebhookEvent {
	events := make([]model.WebhookEvent, len(endpoint.Events))
	for i, e := range endpoint.Events {
		events[i] = model.WebhookEvent(e)
	}
	return events
}

func webhookEndpointState(endpoint *ent.WebhookEndpoint) model.WebhookEndpointState {
	switch {
	case endpoint.DisabledAt != nil:
		return model.WebhookEndpointStateDisabled
	case endpoint.FailingSince != nil:
		return model.WebhookEndpointStateFailing
	}
	return model.WebhookEndpointStateHealthy
}

func withSecret(created *webhook.WithSecret) *model.WebhookEndpointWithSecret {
	return &model.WebhookEndpointWithSecret{Endpoint: created.Endpoint, Secret: created.Secret}
}

// deliveryQuery reads the arguments of WebhookEndpoint.deliveries. A
// cursor carries the message's id and, as its value, its created_at.
func deliveryQuery(first *int, after *entgql.Cursor[int], status *webhookmessage.State) (webhook.DeliveryQuery, error) {
	if first == nil {
		return webhook.DeliveryQuery{}, invalid.Field("first", "set first to list deliveries")
	}
	if *first < 1 {
		return webhook.DeliveryQuery{}, invalid.Field("first", "must be at least 1, got %d", *first)
	}
	q := webhook.DeliveryQuery{First: *first}
	if status != nil {
		q.State = *status
	}
	if after != nil {
		text, _ := after.Value.(string)
		at, err := time.Parse(time.RFC3339Nano, text)
		if err != nil {
			return webhook.DeliveryQuery{}, invalid.Field("after", "is not a cursor of deliveries")
		}
		q.After = &webhook.Cursor{CreatedAt: at, ID: after.ID}
	}
	return q, nil
}

func deliveryCursor(m webhook.Message) entgql.Cursor[int] {
	return entgql.Cursor[int]{ID: m.ID, Value: m.CreatedAt.UTC().Format(time.RFC3339Nano)}
}

func deliveryConnection(page *webhook.DeliveryPage, after *entgql.Cursor[int]) *model.WebhookMessageConnection {
	conn := &model.WebhookMessageConnection{
		Edges:    make([]*model.WebhookMessageEdge, len(page.Messages)),
		PageInfo: &entgql.PageInfo[int]{HasNextPage: page.HasNextPage, HasPreviousPage: after != nil},
	}
	for i := range page.Messages {
		conn.Edges[i] = &model.WebhookMessageEdge{Node: &page.Messages[i], Cursor: deliveryCursor(page.Messages[i])}
	}
	if n := len(conn.Edges); n > 0 {
		conn.PageInfo.StartCursor = &conn.Edges[0].Cursor
		conn.PageInfo.EndCursor = &conn.Edges[n-1].Cursor
	}
	return conn
}

// webhookLoaders batch the fields of a page of endpoints: every endpoint's
// last attempt in one statement, and its deliveries in two per distinct
// arguments (aliases may ask for pages of different states).
type webhookLoaders struct {
	store        *webhook.Store
	lastAttempts *dataloadgen.Loader[int, *ent.WebhookAttempt]

	mu         sync.Mutex
	deliveries map[deliveryKey]*dataloadgen.Loader[int, *webhook.DeliveryPage]
}

type deliveryKey struct {
	first   int
	state   webhookmessage.State
	afterID int
	afterAt int64
}

func newWebhookLoaders(store *webhook.Store) *webhookLoaders {
	fetch := func(ctx context.Context, ids []int) (map[int]*ent.WebhookAttempt, error) {
		last, err := store.LastAttempts(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if _, ok := last[id]; !ok {
				last[id] = nil // never attempted: null, not an error
			}
		}
		return last, nil
	}
	return &webhookLoaders{
		store: store,
		lastAttempts: dataloadgen.NewMappedLoader(fetch,
			dataloadgen.WithWait(loaderWait), dataloadgen.WithBatchCapacity(loaderBatch)),
		deliveries: map[deliveryKey]*dataloadgen.Loader[int, *webhook.DeliveryPage]{},
	}
}

func (l *webhookLoaders) deliveriesLoader(q webhook.DeliveryQuery) *dataloadgen.Loader[int, *webhook.DeliveryPage] {
	key := deliveryKey{first: q.First, state: q.State}
	if q.After != nil {
		key.afterID, key.afterAt = q.After.ID, q.After.CreatedAt.UnixNano()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if loader, ok := l.deliveries[key]; ok {
		return loader
	}
	loader := dataloadgen.NewMappedLoader(func(ctx context.Context, ids []int) (map[int]*webhook.DeliveryPage, error) {
		return l.store.Deliveries(ctx, ids, q)
	}, dataloadgen.WithWait(loaderWait), dataloadgen.WithBatchCapacity(loaderBatch))
	l.deliveries[key] = loader
	return loader
}

// lastAttemptOf returns the latest attempt of endpoint, batched with the
// other endpoints of the response.
func (r *Resolver) lastAttemptOf(ctx context.Context, endpoint *ent.WebhookEndpoint) (*ent.WebhookAttempt, error) {
	l, ok := ctx.Value(loadersKey{}).(*loaders)
	if !ok {
		last, err := r.webhooks.LastAttempts(ctx, []int{endpoint.ID})
		return last[endpoint.ID], err
	}
	return l.webhookLoaders().lastAttempts.Load(ctx, endpoint.ID)
}

// deliveriesOf returns the page q of endpoint's log, batched with the other
// endpoints of the response that ask for the same page.
func (r *Resolver) deliveriesOf(ctx context.Context, endpoint *ent.WebhookEndpoint, q webhook.DeliveryQuery) (*webhook.DeliveryPage, error) {
	l, ok := ctx.Value(loadersKey{}).(*loaders)
	if !ok {
		pages, err := r.webhooks.Deliveries(ctx, []int{endpoint.ID}, q)
		if err != nil {
			return nil, err
		}
		return pages[endpoint.ID], nil
	}
	page, err := l.webhookLoaders().deliveriesLoader(q).Load(ctx, endpoint.ID)
	if err != nil {
		return nil, fmt.Errorf("deliveries of webhook endpoint %d: %w", endpoint.ID, err)
	}
	return page, nil
}

// endpointAudit is what the audit log keeps of an endpoint's settings: no
// secret and no write key.
func endpointAudit(e *ent.WebhookEndpoint) map[string]any {
	return map[string]any{
		"kind": e.Kind, "url": e.URL, "description": e.Description, "segmentIds": e.SegmentIds,
		"events": e.Events, "batchSize": e.BatchSize, "disabledAt": e.DisabledAt, "disabledReason": e.DisabledReason,
	}
}

package webhook

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pulse-analytics/pulse/ent"
	entsegment "github.com/pulse-analytics/pulse/ent/segment"
	"github.com/pulse-analytics/pulse/ent/webhookendpoint"
	"github.com/pulse-analytics/pulse/internal/invalid"
)

// knownEvents are the events (see outbox.go), in the order an endpoint
// stores them.
var knownEvents = []string{EventEntered, EventExited, EventRunFailed}

// Limits of an endpoint's settings.
const (
	DefaultBatchSize = 100
	MaxBatchSize     = 1000
	maxSegments      = 1000
	maxDescription   = 1000
	maxWriteKey      = 1000
)

// RotationOverlap is how long messages carry a signature by the previous
// secret too after a rotation, so receivers can switch without a gap.
const RotationOverlap = 24 * time.Hour

// StoreOptions configure a Store.
type StoreOptions struct {
	// AllowPrivate accepts http URLs and private or loopback addresses,
	// for development and tests; the operator sets it, never a project.
	AllowPrivate bool
}

// Store creates and changes the webhook endpoints of the project in the
// context and reads their delivery log.
type Store struct {
	db     *sql.DB
	client *ent.Client
	opts   StoreOptions
}

// NewStore returns a Store over db and its ent client.
func NewStore(db *sql.DB, client *ent.Client, opts StoreOptions) *Store {
	return &Store{db: db, client: client, opts: opts}
}

// Definition is a new endpoint.
type Definition struct {
	Kind        webhookendpoint.Kind // default WEBHOOK
	URL         string
	Description string
	// SegmentIDs are the segments delivered; empty means all of them.
	SegmentIDs []int
	Events     []string
	// BatchSize bounds the users of one message; nil means DefaultBatchSize.
	BatchSize *int
	// WriteKey is SEGMENT_TRACK's Basic auth user; other kinds have none.
	WriteKey string
}

// Change is an update of an endpoint; nil fields are left alone.
type Change struct {
	URL         *string
	Description *string
	// SegmentIDs, when not nil, replaces the segments; empty means all.
	SegmentIDs []int
	// Events, when not nil, replaces the events.
	Events    []string
	BatchSize *int
	WriteKey  *string
}

// WithSecret is an endpoint with its signing secret, which is shown only
// when it is made: by Create and RotateSecret.
type WithSecret struct {
	Endpoint *ent.WebhookEndpoint
	Secret   string
}

// Create validates def and saves the endpoint with a new secret.
func (s *Store) Create(ctx context.Context, def Definition) (*WithSecret, error) {
	if def.Kind == "" {
		def.Kind = webhookendpoint.DefaultKind
	}
	if err := webhookendpoint.KindValidator(def.Kind); err != nil {
		return nil, invalid.Field("input.kind", "is not a kind of endpoint")
	}
	batchSize := DefaultBatchSize
	if def.BatchSize != nil {
		batchSize = *def.BatchSize
	}
	events, err := s.check(ctx, def.Kind, settings{
		url: &def.URL, description: &def.Description, segmentIDs: def.SegmentIDs,
		events: def.Events, eventsSet: true, batchSize: &batchSize, writeKey: &def.WriteKey,
	})
	if err != nil {
		return nil, err
	}
	secret, err := NewSecret()
	if err != nil {
		return nil, err
	}
	create := s.client.WebhookEndpoint.Create().
		SetKind(def.Kind).
		SetURL(def.URL).
		SetDescription(def.Description).
		SetSegmentIds(uniqueIDs(def.SegmentIDs)).
		SetEvents(events).
		SetBatchSize(batchSize).
		SetSecret(secret)
	if def.Kind == webhookendpoint.KindSEGMENT_TRACK {
		create.SetWriteKey(def.WriteKey)
	}
	endpoint, err := create.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("create webhook endpoint: %w", err)
	}
	return &WithSecret{Endpoint: endpoint, Secret: secret}, nil
}

// Update validates ch and applies it to endpoint id.
func (s *Store) Update(ctx context.Context, id int, ch Change) (*ent.WebhookEndpoint, error) {
	endpoint, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	events, err := s.check(ctx, endpoint.Kind, settings{
		url: ch.URL, description: ch.Description, segmentIDs: ch.SegmentIDs,
		events: ch.Events, eventsSet: ch.Events != nil, batchSize: ch.BatchSize, writeKey: ch.WriteKey,
	})
	if err != nil {
		return nil, err
	}
	update := s.client.WebhookEndpoint.UpdateOneID(id).
		SetNillableURL(ch.URL).
		SetNillableDescription(ch.Description).
		SetNillableBatchSize(ch.BatchSize)
	if endpoint.Kind == webhookendpoint.KindSEGMENT_TRACK {
		update.SetNillableWriteKey(ch.WriteKey)
	}
	if ch.SegmentIDs != nil {
		update.SetSegmentIds(uniqueIDs(ch.SegmentIDs))
	}
	if ch.Events != nil {
		update.SetEvents(events)
	}
	return s.save(ctx, id, update)
}

// RotateSecret gives endpoint id a new secret. The old one keeps signing
// (a second signature on every message) for RotationOverlap; a second
// rotation within that time ends the overlap of the first.
func (s *Store) RotateSecret(ctx context.Context, id int) (*WithSecret, error) {
	secret, err := NewSecret()
	if err != nil {
		return nil, err
	}
	tx, err := s.client.Tx(ctx)
	if err != nil {
		return nil, fmt.Errorf("rotate secret of webhook endpoint %d: begin: %w", id, err)
	}
	defer func() { _ = tx.Rollback() }()
	// Locked, so that two rotations at once keep the secret the other
	// replaced as the previous one rather than losing it.
	current, err := tx.WebhookEndpoint.Query().Where(webhookendpoint.ID(id)).ForUpdate().Only(ctx)
	if err != nil {
		return nil, notFound(id, err)
	}
	endpoint, err := tx.WebhookEndpoint.UpdateOne(current).
		SetSecret(secret).
		SetPreviousSecret(current.Secret).
		SetPreviousSecretUntil(time.Now().Add(RotationOverlap)).
		Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("rotate secret of webhook endpoint %d: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("rotate secret of webhook endpoint %d: commit: %w", id, err)
	}
	return &WithSecret{Endpoint: endpoint, Secret: secret}, nil
}

// DefaultDisabledReason is the reason of a disable that gives none.
const DefaultDisabledReason = "disabled by an administrator"

// Disable stops deliveries to endpoint id, recording why. Disabling a
// disabled endpoint changes nothing.
func (s *Store) Disable(ctx context.Context, id int, reason string) (*ent.WebhookEndpoint, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		reason = DefaultDisabledReason
	}
	if len(reason) > maxDescription {
		return nil, invalid.Field("reason", "must be at most %d bytes", maxDescription)
	}
	endpoint, err := s.get(ctx, id)
	if err != nil || endpoint.DisabledAt != nil {
		return endpoint, err
	}
	return s.save(ctx, id, s.client.WebhookEndpoint.UpdateOneID(id).
		SetDisabledAt(time.Now()).
		SetDisabledReason(reason))
}

// Enable resumes deliveries to endpoint id, disabled by an administrator
// or by delivery (a 410, days of failures), with a clean record of
// failures. Messages that failed meanwhile stay failed until replayed.
func (s *Store) Enable(ctx context.Context, id int) (*ent.WebhookEndpoint, error) {
	endpoint, err := s.get(ctx, id)
	if err != nil || endpoint.DisabledAt == nil {
		return endpoint, err
	}
	return s.save(ctx, id, s.client.WebhookEndpoint.UpdateOneID(id).
		ClearDisabledAt().
		ClearDisabledReason().
		ClearFailingSince())
}

// Delete deletes endpoint id with its delivery log.
func (s *Store) Delete(ctx context.Context, id int) error {
	err := s.client.WebhookEndpoint.DeleteOneID(id).Exec(ctx)
	if err != nil {
		return notFound(id, err)
	}
	return nil
}

func (s *Store) get(ctx context.Context, id int) (*ent.WebhookEndpoint, error) {
	endpoint, err := s.client.WebhookEndpoint.Get(ctx, id)
	if err != nil {
		return nil, notFound(id, err)
	}
	return endpoint, nil
}

func (s *Store) save(ctx context.Context, id int, update *ent.WebhookEndpointUpdateOne) (*ent.WebhookEndpoint, error) {
	endpoint, err := update.Save(ctx)
	if err != nil {
		return nil, notFound(id, err)
	}
	return endpoint, nil
}

// notFound is err, as bad input naming the id when endpoint id is not one
// of the caller's project (whether it exists elsewhere is never told).
func notFound(id int, err error) error {
	if ent.IsNotFound(err) {
		return &invalid.Error{Field: "id", Message: fmt.Sprintf("webhook endpoint %d not found", id), Err: invalid.ErrNotFound}
	}
	return fmt.Errorf("webhook endpoint %d: %w", id, err)
}

// settings are the fields Create and Update validate alike; nil is unset.
type settings struct {
	url, description *string
	segmentIDs       []int
	events           []string
	eventsSet        bool
	batchSize        *int
	writeKey         *string
}

// check validates what is set in v for an endpoint of kind and returns the
// events in their stored form.
func (s *Store) check(ctx context.Context, kind webhookendpoint.Kind, v settings) ([]string, error) {
	if v.url != nil {
		if err := checkURL(*v.url, kind, s.opts.AllowPrivate); err != nil {
			return nil, err
		}
	}
	if v.description != nil && len(*v.description) > maxDescription {
		return nil, invalid.Field("input.description", "must be at most %d bytes", maxDescription)
	}
	if v.batchSize != nil && (*v.batchSize < 1 || *v.batchSize > MaxBatchSize) {
		return nil, invalid.Field("input.batchSize", "must be 1 to %d users per message, got %d", MaxBatchSize, *v.batchSize)
	}
	if err := checkWriteKey(kind, v.writeKey); err != nil {
		return nil, err
	}
	var events []string
	if v.eventsSet {
		var err error
		if events, err = checkEvents(v.events); err != nil {
			return nil, err
		}
	}
	return events, s.checkSegments(ctx, v.segmentIDs)
}

// checkWriteKey: SEGMENT_TRACK endpoints need a write key, other kinds take
// none. Create always sets key; Update only when it changes.
func checkWriteKey(kind webhookendpoint.Kind, key *string) error {
	if kind != webhookendpoint.KindSEGMENT_TRACK {
		if key != nil && *key != "" {
			return invalid.Field("input.writeKey", "only SEGMENT_TRACK endpoints have a write key")
		}
		return nil
	}
	switch {
	case key == nil:
		return nil
	case strings.TrimSpace(*key) == "":
		return invalid.Field("input.writeKey", "a SEGMENT_TRACK endpoint needs the write key of the source it sends to")
	case len(*key) > maxWriteKey:
		return invalid.Field("input.writeKey", "must be at most %d bytes", maxWriteKey)
	}
	return nil
}

// checkEvents returns events without repeats, in knownEvents' order.
func checkEvents(events []string) ([]string, error) {
	if len(events) == 0 {
		return nil, invalid.Field("input.events", "name at least one of %s", strings.Join(knownEvents, ", "))
	}
	for i, e := range events {
		if !slices.Contains(knownEvents, e) {
			return nil, invalid.Field(fmt.Sprintf("input.events[%d]", i), "%q is not one of %s", e, strings.Join(knownEvents, ", "))
		}
	}
	var stored []string
	for _, e := range knownEvents {
		if slices.Contains(events, e) {
			stored = append(stored, e)
		}
	}
	return stored, nil
}

// checkSegments requires every id to be a segment of the project that is
// not archived.
func (s *Store) checkSegments(ctx context.Context, ids []int) error {
	if len(ids) == 0 {
		return nil
	}
	if len(ids) > maxSegments {
		return invalid.Field("input.segmentIds", "at most %d segments; leave it empty for every segment", maxSegments)
	}
	segments, err := s.client.Segment.Query().
		Where(entsegment.IDIn(uniqueIDs(ids)...)).
		Select(entsegment.FieldID, entsegment.FieldArchivedAt).
		All(ctx)
	if err != nil {
		return fmt.Errorf("check segments of webhook endpoint: %w", err)
	}
	archived := make(map[int]bool, len(segments))
	for _, seg := range segments {
		archived[seg.ID] = seg.ArchivedAt != nil
	}
	for i, id := range ids {
		field := fmt.Sprintf("input.segmentIds[%d]", i)
		isArchived, found := archived[id]
		if !found {
			return &invalid.Error{Field: field, Message: fmt.Sprintf("segment %d not found", id), Err: invalid.ErrNotFound}
		}
		if isArchived {
			return invalid.Field(field, "segment %d is archived", id)
		}
	}
	return nil
}

// uniqueIDs returns ids without repeats, in their first order, never nil.
func uniqueIDs(ids []int) []int {
	unique := make([]int, 0, len(ids))
	for _, id := range ids {
		if !slices.Contains(unique, id) {
			unique = append(unique, id)
		}
	}
	return unique
}

package webhook_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/webhookendpoint"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/tenant"
	"github.com/pulse-analytics/pulse/internal/webhook"
)

// storeBundle is a Store over the package database (https and public
// addresses only), one over it that allows private addresses, and a
// project of the test's own with two segments, the second archived.
type storeBundle struct {
	client   *ent.Client
	store    *webhook.Store
	private  *webhook.Store
	ctx      context.Context
	segments []*ent.Segment
}

func setupStore(t *testing.T) *storeBundle {
	t.Helper()
	db := pgtest.DB(t)
	client := database.NewClient(db)
	b := &storeBundle{
		client:  client,
		store:   webhook.NewStore(db, client, webhook.StoreOptions{}),
		private: webhook.NewStore(db, client, webhook.StoreOptions{AllowPrivate: true}),
		ctx:     storeProject(t, client, t.Name()),
	}
	for _, name := range []string{"Dormant", "Old"} {
		seg, err := client.Segment.Create().SetName(name).Save(b.ctx)
		require.NoError(t, err)
		b.segments = append(b.segments, seg)
	}
	require.NoError(t, client.Segment.UpdateOne(b.segments[1]).SetArchivedAt(time.Now()).Exec(b.ctx))
	return b
}

func storeProject(t *testing.T, client *ent.Client, name string) context.Context {
	t.Helper()
	created, err := auth.CreateProject(context.Background(), client, name)
	require.NoError(t, err)
	return tenant.NewContext(context.Background(), tenant.Scope{ProjectID: created.Project.ID, Role: tenant.RoleAdmin})
}

func ptr[T any](v T) *T { return &v }

// requireInvalid asserts err is bad input in field whose message contains
// want; notFound says whether it is about an id the project lacks.
func requireInvalid(t *testing.T, err error, field, want string, notFound bool) {
	t.Helper()
	var inputErr *invalid.Error
	require.ErrorAs(t, err, &inputErr)
	require.Equal(t, field, inputErr.Field)
	require.Contains(t, inputErr.Error(), want)
	require.Equal(t, notFound, errors.Is(err, invalid.ErrNotFound), "%v", err)
}

func TestCreate(t *testing.T) {
	t.Parallel()
	b := setupStore(t)
	seg := b.segments[0].ID
	created, err := b.store.Create(b.ctx, webhook.Definition{
		URL:         "https://hooks.example.com/pulse",
		Description: "CRM sync",
		SegmentIDs:  []int{seg, seg},
		Events:      []string{"EXITED", "ENTERED", "EXITED"},
	})
	require.NoError(t, err)
	e := created.Endpoint
	require.Equal(t, webhookendpoint.KindWEBHOOK, e.Kind)
	require.Equal(t, "https://hooks.example.com/pulse", e.URL)
	require.Equal(t, "CRM sync", e.Description)
	require.Equal(t, []int{seg}, e.SegmentIds, "repeats are dropped")
	require.Equal(t, []string{"ENTERED", "EXITED"}, e.Events, "events are stored once each, in a fixed order")
	require.Equal(t, 100, e.BatchSize)
	require.Nil(t, e.WriteKey)
	require.Nil(t, e.DisabledAt)
	key, err := webhook.ParseSecret(created.Secret)
	require.NoError(t, err)
	require.Len(t, key, 32)

	stored, err := b.client.WebhookEndpoint.Get(b.ctx, e.ID)
	require.NoError(t, err)
	require.Equal(t, created.Secret, stored.Secret)
	require.Equal(t, []string{"ENTERED", "EXITED"}, stored.Events)

	track, err := b.store.Create(b.ctx, webhook.Definition{
		Kind: webhookendpoint.KindSEGMENT_TRACK, URL: "https://api.segment.io", Events: []string{"ENTERED"},
		BatchSize: ptr(1000), WriteKey: "wk_123",
	})
	require.NoError(t, err)
	require.Equal(t, webhookendpoint.KindSEGMENT_TRACK, track.Endpoint.Kind)
	require.Equal(t, "wk_123", *track.Endpoint.WriteKey)
	require.Equal(t, 1000, track.Endpoint.BatchSize)
	require.Empty(t, track.Endpoint.SegmentIds, "every segment")
	batch, err := b.store.Create(b.ctx, webhook.Definition{
		Kind: webhookendpoint.KindSEGMENT_TRACK, URL: "https://rudder.example.com/v1/batch", Events: []string{"EXITED"}, WriteKey: "wk",
	})
	require.NoError(t, err, "the batch URL itself will do")
	require.Equal(t, "https://rudder.example.com/v1/batch", batch.Endpoint.URL)
	require.NotEqual(t, created.Secret, track.Secret)
}

func TestCreateRefuses(t *testing.T) {
	t.Parallel()
	b := setupStore(t)
	other := storeProject(t, b.client, t.Name()+" other")
	foreign, err := b.client.Segment.Create().SetName("theirs").Save(other)
	require.NoError(t, err)
	good := func(change func(*webhook.Definition)) webhook.Definition {
		def := webhook.Definition{URL: "https://example.com/hook", Events: []string{"ENTERED"}}
		change(&def)
		return def
	}
	for _, tc := range []struct {
		name     string
		def      webhook.Definition
		field    string
		want     string
		notFound bool
	}{
		{"relative url", good(func(d *webhook.Definition) { d.URL = "/hook" }), "input.url", "absolute URL", false},
		{"no host", good(func(d *webhook.Definition) { d.URL = "https:///hook" }), "input.url", "absolute URL", false},
		{"not a url", good(func(d *webhook.Definition) { d.URL = "https://exa mple.com" }), "input.url", "absolute URL", false},
		{"http", good(func(d *webhook.Definition) { d.URL = "http://example.com/hook" }), "input.url", "must be https", false},
		{"ftp", good(func(d *webhook.Definition) { d.URL = "ftp://example.com/hook" }), "input.url", "not ftp", false},
		{"credentials", good(func(d *webhook.Definition) { d.URL = "https://user:pw@example.com/hook" }), "input.url", "user or password", false},
		{"fragment", good(func(d *webhook.Definition) { d.URL = "https://example.com/hook#x" }), "input.url", "fragment", false},
		{"loopback", good(func(d *webhook.Definition) { d.URL = "https://127.0.0.1/hook" }), "input.url", "public address, not 127.0.0.1", false},
		{"localhost", good(func(d *webhook.Definition) { d.URL = "https://localhost:8443/hook" }), "input.url", "not localhost", false},
		{"private", good(func(d *webhook.Definition) { d.URL = "https://10.1.2.3/hook" }), "input.url", "not 10.1.2.3", false},
		{"metadata", good(func(d *webhook.Definition) { d.URL = "https://169.254.169.254/latest" }), "input.url", "not 169.254.169.254", false},
		{"v6 loopback", good(func(d *webhook.Definition) { d.URL = "https://[::1]/hook" }), "input.url", "not ::1", false},
		{"mapped v4", good(func(d *webhook.Definition) { d.URL = "https://[::ffff:192.168.0.1]/hook" }), "input.url", "public address", false},
		{"cgnat", good(func(d *webhook.Definition) { d.URL = "https://100.64.0.1/hook" }), "input.url", "public address", false},
		{"long url", good(func(d *webhook.Definition) { d.URL = "https://example.com/" + strings.Repeat("a", 2048) }), "input.url", "at most 2048", false},
		{"no events", good(func(d *webhook.Definition) { d.Events = nil }), "input.events", "at least one of ENTERED, EXITED, RUN_FAILED", false},
		{"unknown event", good(func(d *webhook.Definition) { d.Events = []string{"ENTERED", "JOINED"} }), "input.events[1]", `"JOINED" is not one of`, false},
		{"batch of 0", good(func(d *webhook.Definition) { d.BatchSize = ptr(0) }), "input.batchSize", "1 to 1000 users per message, got 0", false},
		{"batch of 1001", good(func(d *webhook.Definition) { d.BatchSize = ptr(1001) }), "input.batchSize", "got 1001", false},
		{"unknown segment", good(func(d *webhook.Definition) { d.SegmentIDs = []int{b.segments[0].ID, 1 << 40} }), "input.segmentIds[1]", "not found", true},
		{"another project's segment", good(func(d *webhook.Definition) { d.SegmentIDs = []int{foreign.ID} }), "input.segmentIds[0]", "not found", true},
		{"archived segment", good(func(d *webhook.Definition) { d.SegmentIDs = []int{b.segments[1].ID} }), "input.segmentIds[0]", "archived", false},
		{"write key of a webhook", good(func(d *webhook.Definition) { d.WriteKey = "wk" }), "input.writeKey", "only SEGMENT_TRACK", false},
		{"track without write key", good(func(d *webhook.Definition) {
			d.Kind, d.URL = webhookendpoint.KindSEGMENT_TRACK, "https://api.segment.io"
		}), "input.writeKey", "needs the write key", false},
		{"track at /v1/track", good(func(d *webhook.Definition) {
			d.Kind, d.URL, d.WriteKey = webhookendpoint.KindSEGMENT_TRACK, "https://api.segment.io/v1/track", "wk"
		}), "input.url", "without /v1/track", false},
		{"track at /v1", good(func(d *webhook.Definition) {
			d.Kind, d.URL, d.WriteKey = webhookendpoint.KindSEGMENT_TRACK, "https://api.segment.io/v1/", "wk"
		}), "input.url", "without /v1", false},
		{"track with a query", good(func(d *webhook.Definition) {
			d.Kind, d.URL, d.WriteKey = webhookendpoint.KindSEGMENT_TRACK, "https://api.segment.io/?a=1", "wk"
		}), "input.url", "without a query", false},
		{"unknown kind", good(func(d *webhook.Definition) { d.Kind = "EMAIL" }), "input.kind", "not a kind", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := b.store.Create(b.ctx, tc.def)
			requireInvalid(t, err, tc.field, tc.want, tc.notFound)
		})
	}
	n, err := b.client.WebhookEndpoint.Query().Count(b.ctx)
	require.NoError(t, err)
	require.Zero(t, n, "nothing refused was saved")
}

func TestCreateAllowPrivate(t *testing.T) {
	t.Parallel()
	b := setupStore(t)
	for _, url := range []string{"http://127.0.0.1:8080/hook", "https://localhost/hook", "http://10.0.0.2/hook"} {
		_, err := b.store.Create(b.ctx, webhook.Definition{URL: url, Events: []string{"ENTERED"}})
		require.Error(t, err, url)
		created, err := b.private.Create(b.ctx, webhook.Definition{URL: url, Events: []string{"ENTERED"}})
		require.NoError(t, err, url)
		require.Equal(t, url, created.Endpoint.URL)
	}
	_, err := b.private.Create(b.ctx, webhook.Definition{URL: "ftp://127.0.0.1/", Events: []string{"ENTERED"}})
	requireInvalid(t, err, "input.url", "not ftp", false)
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	b := setupStore(t)
	created, err := b.store.Create(b.ctx, webhook.Definition{
		URL: "https://example.com/a", Events: []string{"ENTERED"}, SegmentIDs: []int{b.segments[0].ID},
	})
	require.NoError(t, err)
	id := created.Endpoint.ID

	updated, err := b.store.Update(b.ctx, id, webhook.Change{
		URL: ptr("https://example.com/b"), Events: []string{"RUN_FAILED", "EXITED"}, BatchSize: ptr(5),
	})
	require.NoError(t, err)
	require.Equal(t, "https://example.com/b", updated.URL)
	require.Equal(t, []string{"EXITED", "RUN_FAILED"}, updated.Events)
	require.Equal(t, 5, updated.BatchSize)
	require.Equal(t, []int{b.segments[0].ID}, updated.SegmentIds, "unset fields are left alone")
	require.Equal(t, created.Secret, updated.Secret, "an update keeps the secret")

	updated, err = b.store.Update(b.ctx, id, webhook.Change{SegmentIDs: []int{}, Description: ptr("all of them")})
	require.NoError(t, err)
	require.Empty(t, updated.SegmentIds)
	require.Equal(t, "all of them", updated.Description)
	require.Equal(t, 5, updated.BatchSize)

	_, err = b.store.Update(b.ctx, id, webhook.Change{Events: []string{}})
	requireInvalid(t, err, "input.events", "at least one", false)
	_, err = b.store.Update(b.ctx, id, webhook.Change{BatchSize: ptr(0)})
	requireInvalid(t, err, "input.batchSize", "1 to 1000", false)
	_, err = b.store.Update(b.ctx, id, webhook.Change{WriteKey: ptr("wk")})
	requireInvalid(t, err, "input.writeKey", "only SEGMENT_TRACK", false)
	_, err = b.store.Update(b.ctx, id, webhook.Change{URL: ptr("http://example.com")})
	requireInvalid(t, err, "input.url", "must be https", false)
	_, err = b.store.Update(b.ctx, 1<<40, webhook.Change{URL: ptr("https://example.com")})
	requireInvalid(t, err, "id", "webhook endpoint 1099511627776 not found", true)
	stored, err := b.client.WebhookEndpoint.Get(b.ctx, id)
	require.NoError(t, err)
	require.Equal(t, updated.URL, stored.URL, "refused updates change nothing")
	require.Equal(t, updated.Events, stored.Events)
	require.Equal(t, updated.BatchSize, stored.BatchSize)
	require.Nil(t, stored.WriteKey)
	require.True(t, updated.UpdatedAt.Equal(stored.UpdatedAt))

	track, err := b.store.Create(b.ctx, webhook.Definition{
		Kind: webhookendpoint.KindSEGMENT_TRACK, URL: "https://api.segment.io", Events: []string{"ENTERED"}, WriteKey: "old",
	})
	require.NoError(t, err)
	_, err = b.store.Update(b.ctx, track.Endpoint.ID, webhook.Change{WriteKey: ptr(" ")})
	requireInvalid(t, err, "input.writeKey", "needs the write key", false)
	changed, err := b.store.Update(b.ctx, track.Endpoint.ID, webhook.Change{WriteKey: ptr("new")})
	require.NoError(t, err)
	require.Equal(t, "new", *changed.WriteKey)
	_, err = b.store.Update(b.ctx, track.Endpoint.ID, webhook.Change{URL: ptr("https://api.segment.io/v1/track")})
	requireInvalid(t, err, "input.url", "without /v1/track", false)
}

func TestRotateSecret(t *testing.T) {
	t.Parallel()
	b := setupStore(t)
	created, err := b.store.Create(b.ctx, webhook.Definition{URL: "https://example.com/a", Events: []string{"ENTERED"}})
	require.NoError(t, err)
	before := time.Now()
	rotated, err := b.store.RotateSecret(b.ctx, created.Endpoint.ID)
	require.NoError(t, err)
	_, err = webhook.ParseSecret(rotated.Secret)
	require.NoError(t, err)
	require.NotEqual(t, created.Secret, rotated.Secret)
	e := rotated.Endpoint
	require.Equal(t, rotated.Secret, e.Secret)
	require.Equal(t, created.Secret, *e.PreviousSecret, "the old secret keeps signing")
	require.WithinDuration(t, before.Add(24*time.Hour), *e.PreviousSecretUntil, time.Minute)

	again, err := b.store.RotateSecret(b.ctx, e.ID)
	require.NoError(t, err)
	require.Equal(t, rotated.Secret, *again.Endpoint.PreviousSecret, "a second rotation keeps the one it replaces")
	stored, err := b.client.WebhookEndpoint.Get(b.ctx, e.ID)
	require.NoError(t, err)
	require.Equal(t, again.Secret, stored.Secret)

	other := storeProject(t, b.client, t.Name()+" other")
	_, err = b.store.RotateSecret(other, e.ID)
	requireInvalid(t, err, "id", "not found", true)
}

func TestDisableEnable(t *testing.T) {
	t.Parallel()
	b := setupStore(t)
	created, err := b.store.Create(b.ctx, webhook.Definition{URL: "https://example.com/a", Events: []string{"ENTERED"}})
	require.NoError(t, err)
	id := created.Endpoint.ID

	disabled, err := b.store.Disable(b.ctx, id, "  moving to a new CRM ")
	require.NoError(t, err)
	require.NotNil(t, disabled.DisabledAt)
	require.Equal(t, "moving to a new CRM", *disabled.DisabledReason)
	again, err := b.store.Disable(b.ctx, id, "another reason")
	require.NoError(t, err)
	require.Equal(t, disabled.DisabledAt, again.DisabledAt, "disabling twice changes nothing")
	require.Equal(t, "moving to a new CRM", *again.DisabledReason)

	require.NoError(t, b.client.WebhookEndpoint.UpdateOneID(id).SetFailingSince(time.Now()).Exec(b.ctx))
	enabled, err := b.store.Enable(b.ctx, id)
	require.NoError(t, err)
	require.Nil(t, enabled.DisabledAt)
	require.Nil(t, enabled.DisabledReason)
	require.Nil(t, enabled.FailingSince, "an enabled endpoint starts with a clean record")

	disabled, err = b.store.Disable(b.ctx, id, "")
	require.NoError(t, err)
	require.Equal(t, webhook.DefaultDisabledReason, *disabled.DisabledReason)
	_, err = b.store.Disable(b.ctx, id, strings.Repeat("x", 1001))
	requireInvalid(t, err, "reason", "at most 1000", false)
	_, err = b.store.Disable(b.ctx, 1<<40, "")
	requireInvalid(t, err, "id", "not found", true)
	_, err = b.store.Enable(b.ctx, 1<<40)
	requireInvalid(t, err, "id", "not found", true)
}

func TestDelete(t *testing.T) {
	t.Parallel()
	b := setupStore(t)
	created, err := b.store.Create(b.ctx, webhook.Definition{URL: "https://example.com/a", Events: []string{"ENTERED"}})
	require.NoError(t, err)
	id := created.Endpoint.ID
	message := addMessage(t, b, id, 1, "PENDING")
	addAttempt(t, b, message, time.Now(), 500)

	other := storeProject(t, b.client, t.Name()+" other")
	requireInvalid(t, b.store.Delete(other, id), "id", "not found", true)
	_, err = b.client.WebhookEndpoint.Get(b.ctx, id)
	require.NoError(t, err, "another project cannot delete it")

	require.NoError(t, b.store.Delete(b.ctx, id))
	_, err = b.client.WebhookEndpoint.Get(b.ctx, id)
	require.True(t, ent.IsNotFound(err))
	messages, err := b.client.WebhookMessage.Query().Count(b.ctx)
	require.NoError(t, err)
	attempts, err := b.client.WebhookAttempt.Query().Count(b.ctx)
	require.NoError(t, err)
	require.Zero(t, messages+attempts, "the log goes with the endpoint")
	requireInvalid(t, b.store.Delete(b.ctx, id), "id", "not found", true)
}

package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent/webhookmessage"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/browsertest"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// TestDashboardInChromium starts "pulse serve --demo", opens the dashboard
// in a real headless Chromium, checks that it shows the demo's segments
// without asking for a key, clicks a tile's recompute button and waits for
// that run to arrive in the live feed over graphql-transport-ws, downloads
// the tile's members with its export button, then opens GraphiQL from the
// dashboard's link, which needs no key either.
func TestDashboardInChromium(t *testing.T) {
	t.Parallel()
	keysFile := filepath.Join(t.TempDir(), "demo-keys.json")
	base := serveInProcess(t, pgtest.DSN(t), io.Discard, "--demo", "--demo-users", "120",
		"--demo-keys-file", keysFile, "--log-level", "warn")

	browser := browsertest.New(t)
	ctx, cancel := context.WithTimeout(browser, 2*time.Minute)
	defer cancel()
	const dormant = `.tile[data-segment-name="Dormant"]`
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(`#live-status[data-state="live"]`),
		chromedp.WaitVisible(dormant+` .badge.READY`),
	))
	tiles, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".tile").length`))
	require.NoError(t, err)
	require.Equal(t, 7, tiles, "the template segments")
	loginHidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("login").hidden`))
	require.NoError(t, err)
	require.True(t, loginHidden, "the demo needs no key on this machine")
	size, err := chromedp.Run(ctx, chromedp.AttributeValue(dormant, "data-size"))
	require.NoError(t, err)
	require.NotEqual(t, "0", size.Value, "the seeded churners are dormant")

	// Every tile says it moves in real time, and one event moves a tile
	// through the real-time path (a run of trigger INGEST), with no
	// interval to wait for: the demo's refresh interval is the default.
	require.NoError(t, chromedp.Do(ctx, chromedp.Poll[chromedp.Void](
		`document.querySelectorAll('.tile .fresh[data-mode="REALTIME"]').length === 7`)))
	raw, err := os.ReadFile(keysFile)
	require.NoError(t, err)
	var keys struct{ Keys struct{ Ingest string } }
	require.NoError(t, json.Unmarshal(raw, &keys))
	batch(t, base, keys.Keys.Ingest, track("browser-newcomer", "dashboard_viewed", "browser-newcomer-1"))
	require.NoError(t, chromedp.Do(ctx, chromedp.Poll[chromedp.Void](
		`[...document.querySelectorAll("#feed li")].some(li => li.textContent.includes("New users") && li.textContent.includes(", ingest)"))`)))

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(dormant+` button.recompute`),
		chromedp.WaitVisible(dormant+`[data-pending-run]`),
	))
	runID, err := chromedp.Run(ctx, chromedp.AttributeValue(dormant, "data-pending-run"))
	require.NoError(t, err)
	require.True(t, runID.Exists)
	entry := fmt.Sprintf(`#feed li[data-run-id=%q]`, runID.Value)
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(entry)))
	text, err := chromedp.Run(ctx, chromedp.Text(entry))
	require.NoError(t, err)
	require.Contains(t, text, "Dormant")
	require.Regexp(t, `\+\d+ −\d+ → \d+ \(run \d+, `, text)

	requireExportDownloads(t, ctx, dormant)

	// The page's subscription is the one this process serves.
	require.Equal(t, 1.0, scrapeMetrics(t, base+"/metrics")["pulse_live_subscribers"])

	// GraphiQL, opened from the dashboard, has the demo's key already.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(`header a[href="/graphql"]`),
		chromedp.WaitVisible(`.graphiql-container .graphiql-execute-button`),
		chromedp.Poll[chromedp.Void](`document.getElementById("who").textContent === "Pulse demo · ADMIN"`),
	))
}

// requireExportDownloads clicks the export button of tile and checks that
// the browser saved the members' CSV under the name the server gave.
func requireExportDownloads(t *testing.T, ctx context.Context, tile string) {
	t.Helper()
	dir := t.TempDir()
	begun := chromedp.Events(ctx, browser.DownloadWillBegin)
	progress := chromedp.Events(ctx, browser.DownloadProgress)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			allow := true
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &allow,
			})
			return err
		}),
		chromedp.Click(tile+` button.export`),
	))
	var guid string
	for ev, err := range progress {
		require.NoError(t, err)
		require.NotEqual(t, browser.DownloadProgressStateCanceled, ev.State)
		if ev.State == browser.DownloadProgressStateCompleted {
			guid = ev.GUID
			break
		}
	}
	for ev, err := range begun {
		require.NoError(t, err)
		require.Equal(t, guid, ev.GUID)
		require.Equal(t, "Dormant-members.csv", ev.SuggestedFilename)
		break
	}
	raw, err := os.ReadFile(filepath.Join(dir, guid))
	require.NoError(t, err)
	records, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"id", "externalId", "enteredAt"}, records[0][:3])
	require.Greater(t, len(records), 1, "the seeded churners are in the file")
	for _, r := range records[1:] {
		require.Regexp(t, `^\d+$`, r[0])
	}
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(tile+`[data-exported-bytes]`)))
	bytesAttr, err := chromedp.Run(ctx, chromedp.AttributeValue(tile, "data-exported-bytes"))
	require.NoError(t, err)
	require.Equal(t, fmt.Sprint(len(raw)), bytesAttr.Value, "the file saved is the one fetched")
}

// TestDashboardWebhookHealth signs in to the dashboard in headless
// Chromium with a READ key of a project with three webhook endpoints (one
// delivering, one failing, one disabled) and checks that each row says its
// state, since when it fails or why it is disabled, and how its last
// delivery went.
func TestDashboardWebhookHealth(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	base := serveInProcess(t, dsn, io.Discard, "--log-level", "warn")
	db, err := database.Open(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	client := database.NewClient(db)
	project, err := auth.CreateProject(context.Background(), client, t.Name())
	require.NoError(t, err)
	admin := project.Admin.Secret

	create := func(url string) int {
		var out struct {
			Data struct {
				CreateWebhookEndpoint struct{ Endpoint struct{ ID string } }
			}
		}
		raw := graphqlPost(t, base, admin, `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }`,
			map[string]any{"input": map[string]any{"url": url, "events": []string{"ENTERED"}}})
		require.NoError(t, json.Unmarshal(raw, &out))
		id, err := strconv.Atoi(out.Data.CreateWebhookEndpoint.Endpoint.ID)
		require.NoError(t, err)
		return id
	}
	healthy, failing, disabled := create("https://crm.example.com/pulse"), create("https://mail.example.com/hooks"), create("https://old.example.com/hooks")
	graphqlPost(t, base, admin, `mutation($id: ID!) { disableWebhookEndpoint(id: $id, reason: "CRM retired") { id } }`,
		map[string]any{"id": strconv.Itoa(disabled)})

	// The project has no segment that moves, so nothing is delivered: the
	// attempts are the ones planted here.
	ctx := tenant.ForProject(context.Background(), project.Project.ID)
	attempt := func(endpointID, status int, at time.Time) {
		m, err := client.WebhookMessage.Create().SetEndpointID(endpointID).SetSegmentID(1).SetSeq(1).
			SetType("segment.entered").SetWebhookID(fmt.Sprintf("msg_dashboard_%d", endpointID)).SetBody("{}").
			SetState(webhookmessage.StateDELIVERED).Save(ctx)
		require.NoError(t, err)
		require.NoError(t, client.WebhookAttempt.Create().SetMessage(m).SetAt(at).SetStatusCode(status).Exec(ctx))
	}
	attempt(healthy, 200, time.Now().Add(-2*time.Minute))
	attempt(failing, 503, time.Now().Add(-10*time.Second))
	require.NoError(t, client.WebhookEndpoint.UpdateOneID(failing).SetFailingSince(time.Now().Add(-3*time.Hour)).Exec(ctx))

	tab := browsertest.New(t)
	bctx, cancel := context.WithTimeout(tab, 2*time.Minute)
	defer cancel()
	row := func(id int) string { return fmt.Sprintf(`#webhooks tr[data-endpoint-id="%d"]`, id) }
	require.NoError(t, chromedp.Do(bctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(`#key`),
		chromedp.SendKeys(`#key`, project.Read.Secret),
		chromedp.Click(`#login-form button[type="submit"]`),
		chromedp.WaitVisible(row(failing)+`[data-state="FAILING"]`),
	))
	for _, tc := range []struct {
		id                  int
		state, detail, last string
	}{
		{healthy, "HEALTHY", "", "2 min ago · HTTP 200"},
		{failing, "FAILING", "failing since 3 h ago", "s ago · HTTP 503"},
		{disabled, "DISABLED", "CRM retired", "never"},
	} {
		text, err := chromedp.Run(bctx, chromedp.Text(row(tc.id)+` .badge`))
		require.NoError(t, err)
		require.Equal(t, tc.state, text, "endpoint %d", tc.id)
		detail, err := chromedp.Run(bctx, chromedp.TextContent(row(tc.id)+` td.detail`))
		require.NoError(t, err)
		require.Equal(t, tc.detail, detail, "endpoint %d", tc.id)
		last, err := chromedp.Run(bctx, chromedp.Text(row(tc.id)+` td.last`))
		require.NoError(t, err)
		require.Contains(t, last, tc.last, "endpoint %d", tc.id)
	}
}

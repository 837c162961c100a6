package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/browsertest"
	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// TestDashboardInChromium starts "pulse serve --demo", opens the dashboard
// in a real headless Chromium, checks that it shows the demo's segments
// without asking for a key, clicks a tile's recompute button and waits for
// that run to arrive in the live feed over graphql-transport-ws, then opens
// GraphiQL from the dashboard's link, which needs no key either.
func TestDashboardInChromium(t *testing.T) {
	t.Parallel()
	base := serveInProcess(t, pgtest.DSN(t), io.Discard, "--demo", "--demo-users", "120",
		"--demo-keys-file", filepath.Join(t.TempDir(), "demo-keys.json"), "--log-level", "warn")

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

	// The page's subscription is the one this process serves.
	require.Equal(t, 1.0, scrapeMetrics(t, base+"/metrics")["pulse_live_subscribers"])

	// GraphiQL, opened from the dashboard, has the demo's key already.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(`header a[href="/graphql"]`),
		chromedp.WaitVisible(`.graphiql-container .graphiql-execute-button`),
		chromedp.Poll[chromedp.Void](`document.getElementById("who").textContent === "Pulse demo · ADMIN"`),
	))
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/browsertest"
	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// TestGraphiQLInChromium opens /graphql in a real headless Chromium and
// checks that GraphiQL loads from the server alone (no request to another
// origin: it works without internet), asks for a key, refuses a wrong one,
// runs a query with the right one and shows its result, and runs a
// subscription over WebSocket with the key in connection_init.
func TestGraphiQLInChromium(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	base := serveInProcess(t, dsn, io.Discard, "--log-level", "warn")
	socketBase := "ws://" + strings.TrimPrefix(base, "http://")
	project := createProject(t, dsn, "GraphiQL project")
	var segment struct {
		Data struct{ CreateSegment struct{ ID, Name string } }
	}
	require.NoError(t, json.Unmarshal(graphqlPost(t, base, project.Keys.Admin,
		`mutation { createSegment(input: {template: DORMANT}) { id name } }`, nil), &segment))

	browser := browsertest.New(t)
	ctx, cancel := context.WithTimeout(browser, 2*time.Minute)
	defer cancel()
	var (
		mu       sync.Mutex
		requests []string // every URL the page asked for, sockets included
	)
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			requests = append(requests, ev.Request.URL)
		case *network.EventWebSocketCreated:
			requests = append(requests, ev.URL)
		}
	}))
	console := chromedp.Console(ctx)

	const result = `document.querySelector(".result-window") && document.querySelector(".result-window").innerText`
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(base+"/graphql"),
		chromedp.WaitVisible(`#key`),
		chromedp.SendKeys(`#key`, "pk_read_not-a-key"),
		chromedp.Click(`#login-form button[type=submit]`),
		chromedp.Poll[chromedp.Void](`document.getElementById("login-error").textContent.includes("That key was refused")`),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("key").value = ""`),
		chromedp.SendKeys(`#key`, project.Keys.Read),
		chromedp.Click(`#login-form button[type=submit]`),
		chromedp.WaitVisible(`.graphiql-container .graphiql-execute-button`),
		chromedp.Poll[chromedp.Void](`document.getElementById("who").textContent === "GraphiQL project · READ"`),
		chromedp.Click(`.graphiql-execute-button`),
		chromedp.Poll[chromedp.Void](result+`.includes('"name": "GraphiQL project"')`),
	))
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[string](result))
	require.NoError(t, err)
	require.Contains(t, shown, `"role": "READ"`, "the default query ran with the READ key")

	// A subscription: GraphiQL opens a graphql-transport-ws socket with the
	// key in connection_init, and shows the run a recompute commits.
	setQuery := fmt.Sprintf(`document.querySelector(".graphiql-query-editor .CodeMirror").CodeMirror.setValue(%q)`,
		"subscription Runs { segmentsChanged { segment { name } seq } }")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](setQuery),
		// GraphiQL reads the operation's name from the editor after a
		// pause; its tab is titled with it once it has.
		chromedp.Poll[chromedp.Void](`document.querySelector(".graphiql-tab-active button").title === "Runs"`),
		chromedp.Click(`.graphiql-execute-button`),
	))
	waitSubscribers(t, base, 1)
	graphqlPost(t, base, project.Keys.Admin, `mutation($id: ID!) { recomputeSegment(id: $id) { id } }`,
		map[string]any{"id": segment.Data.CreateSegment.ID})
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Poll[chromedp.Void](result+`.includes('"segmentsChanged"') && `+result+fmt.Sprintf(`.includes(%q)`, segment.Data.CreateSegment.Name)),
	))

	// The key stays with the tab: a reload opens GraphiQL without asking.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Reload(),
		chromedp.WaitVisible(`.graphiql-container .graphiql-execute-button`),
	))
	loginHidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("login").hidden`))
	require.NoError(t, err)
	require.True(t, loginHidden)

	mu.Lock()
	seen := append([]string(nil), requests...)
	mu.Unlock()
	require.NotEmpty(t, seen)
	for _, url := range seen {
		local := strings.HasPrefix(url, base+"/") || strings.HasPrefix(url, socketBase+"/") || strings.HasPrefix(url, "data:")
		require.True(t, local, "the page asked for %s, outside %s; all requests: %v", url, base, seen)
	}
	require.Contains(t, seen, base+"/graphiql/graphiql.min.js")
	require.Contains(t, seen, socketBase+"/graphql")
	requireQuietConsole(t, ctx, console)
}

// waitSubscribers polls the server's metrics until it has n live
// subscribers.
func waitSubscribers(t *testing.T, base string, n float64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for scrapeMetrics(t, base+"/metrics")["pulse_live_subscribers"] != n {
		require.True(t, time.Now().Before(deadline), "waiting for %v live subscribers", n)
		time.Sleep(20 * time.Millisecond)
	}
}

// requireQuietConsole reads the console up to a marker logged now and
// fails on any error or exception the page logged (a CSP violation among
// them), besides the refused key's 401, which the test asked for.
func requireQuietConsole(t *testing.T, ctx context.Context, console iter.Seq2[chromedp.ConsoleMessage, error]) {
	t.Helper()
	marker := "end of " + t.Name()
	_, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf("console.debug(%q)", marker)))
	require.NoError(t, err)
	var errs []string
	for m, err := range console {
		require.NoError(t, err)
		if m.Type == chromedp.ConsoleDebug && m.Text == marker {
			break
		}
		if (m.Type == chromedp.ConsoleError || m.IsException()) && !strings.Contains(m.String(), "401") {
			errs = append(errs, m.String())
		}
	}
	require.Empty(t, errs, "errors the page logged")
}

package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/browsertest"
	"github.com/pulse-analytics/pulse/internal/ingest"
)

// The tests in this file run testdata/sdk/browser.js: the real browser
// SDKs, bundled with esbuild and loaded by a page in headless Chromium. The
// page is served from one origin and Pulse from another, so the browser
// enforces CORS exactly as it does for a site that points an SDK at Pulse.
// Besides what Pulse stored, the tests check that the SDKs reported no
// error, that the page logged none, and that the browser asked no other
// host for anything (a CDN, the SDK vendor's API).

// sdkPagePath is where the page is served: analytics.js reports it as the
// page view's path.
const sdkPagePath = "/pricing"

// sdkPageTitle is the page's title, which analytics.js reports too.
const sdkPageTitle = "Pricing - Pulse SDK test"

var browserBundle struct {
	mu sync.Mutex
	js []byte
}

// sdkBundle returns browser.js bundled with the SDKs, building it on first
// use. A mutex rather than a sync.Once: a build that fails fails the test
// that tried, and the next test tries again and reports its own failure
// instead of running with no script.
func sdkBundle(t *testing.T) []byte {
	t.Helper()
	browserBundle.mu.Lock()
	defer browserBundle.mu.Unlock()
	if browserBundle.js != nil {
		return browserBundle.js
	}
	dir := jsWorkspace(t, "browser.js")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// One IIFE with no code splitting: the page loads a single script and
	// the SDKs find nothing to fetch lazily from a CDN. npx rather than node
	// with esbuild's bin script, which esbuild's install replaces by its
	// native binary; --no keeps npx from downloading anything.
	runJS(t, ctx, dir, nil, "npx", "--no", "esbuild", "browser.js",
		"--bundle", "--format=iife", "--log-level=warning", "--outfile=bundle.js")
	js, err := os.ReadFile(filepath.Join(dir, "bundle.js"))
	require.NoError(t, err)
	browserBundle.js = js
	return js
}

// serveSDKPage serves the page that loads the bundle, from an origin of
// its own: Pulse is another origin, so every call the SDKs make is
// cross-origin.
func serveSDKPage(t *testing.T) *httptest.Server {
	t.Helper()
	bundle := sdkBundle(t)
	page := fmt.Sprintf(`<!doctype html>
<html><head><meta charset="utf-8"><title>%s</title><script src="/bundle.js"></script></head>
<body><h1>Pricing</h1></body></html>`, sdkPageTitle)
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+sdkPagePath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(page))
	})
	mux.HandleFunc("GET /bundle.js", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		_, _ = w.Write(bundle)
	})
	// Chromium asks for a favicon; a 404 would be logged as an error.
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	server := httptest.NewServer(mux)
	t.Cleanup(server.Close)
	return server
}

// sdkPage is the page open in a browser of its own, with what the browser
// did besides running the script: the URLs it requested and what it
// logged.
type sdkPage struct {
	ctx     context.Context
	origin  string // the page's
	pulse   string // Pulse's origin
	console iter.Seq2[chromedp.ConsoleMessage, error]

	mu       sync.Mutex
	requests []string // every URL the page requested, in order
}

// openSDKPage opens the page in a headless Chromium of the test's own,
// given two minutes, and returns once the page has loaded, the SDKs with
// it.
func openSDKPage(t *testing.T, p *sdkPulse) *sdkPage {
	t.Helper()
	// The first action starts the browser and ties it to this context.
	ctx, cancel := context.WithTimeout(browsertest.New(t), 2*time.Minute)
	t.Cleanup(cancel)
	server := serveSDKPage(t)
	page := &sdkPage{ctx: ctx, origin: server.URL, pulse: p.server.URL}
	// Both subscribe before the page loads, so nothing is missed. The
	// listener runs in the loop that reads the browser's messages, so it
	// only appends.
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		if req, ok := ev.(*network.EventRequestWillBeSent); ok {
			page.mu.Lock()
			defer page.mu.Unlock()
			page.requests = append(page.requests, req.Request.URL)
		}
	}))
	page.console = chromedp.Console(ctx)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(server.URL+sdkPagePath)))
	return page
}

// runInPage calls one of the page script's functions with the test's Pulse
// and key, awaits the promise it returns and decodes its value into T.
func runInPage[T any](t *testing.T, page *sdkPage, fn string, p *sdkPulse) T {
	t.Helper()
	args, err := json.Marshal(map[string]string{"host": p.server.URL, "key": p.project.Ingest.Secret})
	require.NoError(t, err)
	v, err := chromedp.Run(page.ctx, chromedp.Evaluate[T](fmt.Sprintf("%s(%s)", fn, args), chromedp.EvalAwaitPromise))
	require.NoError(t, err, "%s in the page", fn)
	return v
}

// requireClean checks what the browser did besides posting to Pulse: the
// SDKs reported no error, the page logged no error and threw nothing, and
// the page requested nothing from anywhere but its own origin and Pulse.
// The console matters: when the browser blocks a call (CORS), analytics.js
// still resolves it with no failed delivery and posthog-js reports nothing,
// but Chromium logs the blocked request as an error.
func (page *sdkPage) requireClean(t *testing.T) {
	t.Helper()
	sdkErrors, err := chromedp.Run(page.ctx, chromedp.Evaluate[[]string](`window.sdkErrors`))
	require.NoError(t, err)
	require.Empty(t, sdkErrors, "errors the SDKs reported")

	// The console is read up to a marker logged now: Console keeps the
	// order of the messages, so everything logged before has been read.
	marker := fmt.Sprintf("end of %s", t.Name())
	_, err = chromedp.Run(page.ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf("console.debug(%q)", marker)))
	require.NoError(t, err)
	var logged, errs []string
	for m, err := range page.console {
		require.NoError(t, err, "reading the console; so far:\n%s", strings.Join(logged, "\n"))
		if m.Type == chromedp.ConsoleDebug && m.Text == marker {
			break
		}
		logged = append(logged, m.String())
		if m.Type == chromedp.ConsoleError || m.IsException() {
			errs = append(errs, m.String())
		}
	}
	if len(logged) > 0 {
		t.Logf("the page's console:\n%s", strings.Join(logged, "\n"))
	}
	require.Empty(t, errs, "errors in the page's console")

	// Network events arrive before the answer to the Evaluate above, and
	// the listener sees each one before that answer is handed back.
	page.mu.Lock()
	requests := slices.Clone(page.requests)
	page.mu.Unlock()
	require.NotEmpty(t, requests)
	for _, r := range requests {
		u, err := url.Parse(r)
		require.NoError(t, err)
		origin := u.Scheme + "://" + u.Host
		require.True(t, origin == page.origin || origin == page.pulse,
			"the page requested %s, which is neither the page's origin %s nor Pulse %s; all requests:\n%s",
			r, page.origin, page.pulse, strings.Join(requests, "\n"))
	}
}

// requireFromPage checks that every exchange with Pulse came from the page,
// cross-origin: the browser sent the page's origin.
func requireFromPage(t *testing.T, exchanges []wireExchange, page *sdkPage) {
	t.Helper()
	for _, e := range exchanges {
		require.Equal(t, page.origin, e.Origin, "the browser names the page's origin in a cross-origin request: %s", e)
	}
}

// TestBrowserAnalyticsJS: analytics.js (@segment/analytics-next) in
// Chromium, its Segment.io destination pointed at Pulse. It sends each call
// on its own to the short-form endpoints; a visitor's page view and event,
// identified, become the user's; group adds the account to the user's
// traits; alias keeps the CRM's id as a name of the user; and the browser's
// user agent makes every event DESKTOP.
func TestBrowserAnalyticsJS(t *testing.T) {
	t.Parallel()
	p := setupSDKPulse(t)
	page := openSDKPage(t, p)
	got := runInPage[struct {
		AnonymousID string `json:"anonymousId"`
	}](t, page, "runAnalyticsJS", p)
	require.NotEmpty(t, got.AnonymousID)
	page.requireClean(t)

	// Each call resolved once Pulse answered it, so everything is stored.
	exchanges := p.wire.requireAllAccepted(t)
	requireFromPage(t, exchanges, page)
	calls := []string{"/v1/a", "/v1/g", "/v1/i", "/v1/p", "/v1/s", "/v1/t", "/v1/t"}
	var posted []string
	for _, e := range exchanges {
		switch e.Method {
		case http.MethodPost:
			posted = append(posted, e.URI)
		case http.MethodOptions:
			require.Contains(t, calls, e.URI, "a preflight for a call: %s", e)
		default:
			require.Failf(t, "analytics.js only posts", "%s", e)
		}
	}
	slices.Sort(posted)
	require.Equal(t, calls, posted, "one short-form call each; exchanges:\n%s", sdkLines(exchanges))

	events := p.events(t, p.project)
	require.Len(t, events, 4, "page, 2 tracks and a screen: %v", events)
	for _, e := range events {
		require.Equal(t, "ajs-ann", e.User, "every event ends up the identified user's: %v", e)
		require.Equal(t, "DESKTOP", e.Platform, "headless Chromium on Linux is a desktop: %v", e)
	}
	// analytics.js describes the page from the document.
	requireProperties(t, p.event(t, ingest.PageEventName), map[string]any{"name": "Pricing", "plan": "pro",
		"url": page.origin + sdkPagePath, "path": sdkPagePath, "title": sdkPageTitle})
	requireProperties(t, p.event(t, "Signup Started"), map[string]any{"plan": "pro", "seats": 3.0})
	requireProperties(t, p.event(t, "Report Exported"), map[string]any{"format": "csv", "rows": 42.0})
	requireProperties(t, p.event(t, ingest.ScreenEventName), map[string]any{"name": "Dashboard", "tab": "overview"})

	users := p.users(t, p.project)
	require.Len(t, users, 1, "the visitor is ajs-ann: %v", users)
	require.Equal(t, 4, users["ajs-ann"].EventCount)
	require.Equal(t, map[string]any{"email": "ann@example.com", "plan": "pro", "groupId": "acme"}, users["ajs-ann"].Traits)
	require.Equal(t, map[string]string{got.AnonymousID: "ajs-ann", "ajs-crm-7": "ajs-ann"}, p.identities(t, p.project))
	p.requireOtherProjectUntouched(t)
}

// TestBrowserPostHogJS: posthog-js in Chromium with api_host set to Pulse.
// It captures the page view on load and posts its queue in gzipped
// text/plain batches on a timer, with no delivery promise, so the test
// waits for the database. The page view and the events before identify
// become the identified user's; identify's $set and $set_once and
// setPersonProperties are traits (beside the person info posthog-js adds
// by itself); alias keeps the CRM's id as a name of the user.
func TestBrowserPostHogJS(t *testing.T) {
	t.Parallel()
	p := setupSDKPulse(t)
	page := openSDKPage(t, p)
	got := runInPage[struct {
		DeviceID string `json:"deviceId"`
	}](t, page, "runPostHogJS", p)
	require.NotEmpty(t, got.DeviceID)

	traits := map[string]any{"email": "ann@example.com", "plan": "pro", "first_plan": "pro", "seats": 5.0}
	identities := map[string]string{got.DeviceID: "phjs-ann", "phjs-crm-7": "phjs-ann"}
	wait, cancelWait := context.WithTimeout(page.ctx, time.Minute)
	defer cancelWait()
	p.waitFor(t, wait, "posthog-js's batches", func(events []sdkEvent, users map[string]sdkUser, ids map[string]string) bool {
		for _, name := range []string{ingest.PageEventName, "signup started", "report exported"} {
			if !hasSDKEvent(events, name) {
				return false
			}
		}
		for _, e := range events {
			if e.User != "phjs-ann" {
				return false
			}
		}
		for k, v := range identities {
			if ids[k] != v {
				return false
			}
		}
		for k := range traits {
			if _, ok := users["phjs-ann"].Traits[k]; !ok {
				return false
			}
		}
		return true
	})
	page.requireClean(t)

	exchanges := p.wire.requireAllAccepted(t)
	requireFromPage(t, exchanges, page)
	for _, e := range exchanges {
		// A text/plain POST is a simple request: no preflight.
		require.Equal(t, "POST /e/", e.Method+" "+e.URI, "posthog-js posts its batches to /e/: %s", e)
		require.Equal(t, "text/plain", strings.TrimSpace(strings.Split(e.ContentType, ";")[0]), "%s", e)
	}

	events := p.events(t, p.project)
	require.Len(t, events, 3, "the page view and two captures; identify, $set and alias are profile updates: %v", events)
	for _, e := range events {
		require.Equal(t, "DESKTOP", e.Platform, "headless Chromium on Linux is a desktop: %v", e)
		require.Equal(t, "web", e.Properties["$lib"], "%v", e)
		require.NotContains(t, e.Properties, "$set", "traits are not event data: %v", e)
	}
	requireProperties(t, p.event(t, ingest.PageEventName), map[string]any{"name": page.origin + sdkPagePath})
	requireProperties(t, p.event(t, "signup started"), map[string]any{"plan": "pro"})
	requireProperties(t, p.event(t, "report exported"), map[string]any{"format": "csv", "rows": 42.0})

	users := p.users(t, p.project)
	require.Len(t, users, 1, "the visitor is phjs-ann: %v", users)
	require.Equal(t, 3, users["phjs-ann"].EventCount)
	requirePostHogJSTraits(t, users["phjs-ann"].Traits, traits)
	require.Equal(t, identities, p.identities(t, p.project))
	p.requireOtherProjectUntouched(t)
}

// requirePostHogJSTraits checks a user's traits against those the page
// set. posthog-js adds its own person properties to identify and to the
// first events ($set_once: $initial_current_url, $initial_referrer and the
// like; $set: $current_url, $pathname, and every campaign parameter it
// looks for, null when the URL has none), and Pulse keeps them as PostHog
// does: any trait beyond the page's must be one of those, named with a $
// or null.
func requirePostHogJSTraits(t *testing.T, got, want map[string]any) {
	t.Helper()
	for k, v := range want {
		require.Contains(t, got, k, "traits %v", got)
		require.Equal(t, v, got[k], "trait %s in %v", k, got)
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			require.True(t, strings.HasPrefix(k, "$") || v == nil, "trait %s = %v is neither the page's nor posthog-js's person info: %v", k, v, got)
		}
	}
}

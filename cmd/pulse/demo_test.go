package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/demo"
	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// TestDemoKeysFollowTheListener serves the demo on a loopback address, on
// every address, and on every address with --demo-share-keys, and checks
// that the dashboard's page gets the demo's keys by the listener alone:
// a request reaching the all-addresses listener over loopback gets none,
// and no forwarding header changes the answer either way.
func TestDemoKeysFollowTheListener(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	keysFile := filepath.Join(t.TempDir(), "demo-keys.json")
	for _, tc := range []struct {
		name   string
		host   string
		extra  []string
		shared bool
		banner string
	}{
		{name: "loopback listener", host: "127.0.0.1", shared: true, banner: "The dashboard opens without a key"},
		{name: "all addresses", host: "0.0.0.0", shared: false, banner: "the dashboard asks for a key"},
		{name: "all addresses, shared", host: "0.0.0.0", extra: []string{"--demo-share-keys"}, shared: true, banner: "The dashboard opens without a key"},
	} {
		_, port, err := net.SplitHostPort(freeAddr(t))
		require.NoError(t, err)
		var stderr syncBuffer
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		args := append([]string{"serve", "--demo", "--demo-users", "40", "--demo-keys-file", keysFile,
			"--addr", net.JoinHostPort(tc.host, port), "--database-url", dsn, "--log-level", "warn"}, tc.extra...)
		go func() { done <- run(ctx, args, io.Discard, &stderr) }()
		base := "http://127.0.0.1:" + port
		waitReady(t, base+"/readyz", done)

		for header, value := range map[string]string{
			"": "", "X-Forwarded-For": "192.0.2.10", "Forwarded": "for=192.0.2.10", "X-Real-Ip": "192.0.2.10",
			"True-Client-IP": "192.0.2.10", "CF-Connecting-IP": "192.0.2.10", "Via": "1.1 proxy",
		} {
			cfg := dashboardConfig(t, base, header, value)
			require.Equal(t, true, cfg["demo"], "%s, %s", tc.name, header)
			if tc.shared {
				keys, ok := cfg["keys"].(map[string]any)
				require.True(t, ok, "%s, %q: the page gets the demo's keys", tc.name, header)
				require.Regexp(t, `^pk_admin_`, keys["admin"])
			} else {
				require.Nil(t, cfg["keys"], "%s, %q: the page asks for a key", tc.name, header)
			}
		}
		require.Contains(t, stderr.String(), tc.banner, tc.name)
		stop()
		require.NoError(t, <-done, tc.name)
	}
}

var pageConfigRE = regexp.MustCompile(`<script id="pulse-config" type="application/json">(.*?)</script>`)

// dashboardConfig GETs the dashboard's page with header set (when named) and
// returns the configuration it embeds.
func dashboardConfig(t *testing.T, base, header, value string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/", nil)
	require.NoError(t, err)
	if header != "" {
		req.Header.Set(header, value)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	m := pageConfigRE.FindSubmatch(body)
	require.Len(t, m, 2, "the page embeds its configuration")
	var cfg map[string]any
	require.NoError(t, json.Unmarshal(m[1], &cfg))
	return cfg
}

// parseServeFlags parses args as pulse serve does, up to the demo's
// default address.
func parseServeFlags(t *testing.T, args ...string) config {
	t.Helper()
	var cfg config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.registerServe(fs)
	var demoOpts demoFlags
	demoOpts.register(fs, &cfg)
	require.NoError(t, cfg.parse(fs, args))
	demoOpts.defaultAddr(fs, &cfg)
	return cfg
}

func TestDemoListensOnLoopbackUnlessToldOtherwise(t *testing.T) {
	t.Parallel()
	require.Equal(t, "127.0.0.1:8080", parseServeFlags(t, "--demo").Addr, "the README's run command")
	require.Equal(t, ":8080", parseServeFlags(t).Addr, "without the demo")
	require.Equal(t, ":8080", parseServeFlags(t, "--demo", "--addr", ":8080").Addr, "an address given")
	require.Equal(t, "0.0.0.0:9000", parseServeFlags(t, "--addr", "0.0.0.0:9000", "--demo").Addr)
}

func TestDemoAddressFromTheEnvironment(t *testing.T) {
	t.Setenv("PULSE_ADDR", ":9090")
	require.Equal(t, ":9090", parseServeFlags(t, "--demo").Addr)
}

func TestDemoSharesKeysOnLoopbackListeners(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr   net.Addr
		flag   bool
		shared bool
	}{
		{addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, shared: true},
		{addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 8080}, shared: true},
		{addr: &net.TCPAddr{IP: net.IPv6loopback, Port: 8080}, shared: true},
		{addr: &net.TCPAddr{IP: net.IPv4zero, Port: 8080}, shared: false},
		{addr: &net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, shared: false},
		{addr: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 10), Port: 8080}, shared: false},
		{addr: &net.UnixAddr{Name: "/tmp/pulse.sock", Net: "unix"}, shared: false},
		{addr: &net.TCPAddr{IP: net.IPv4zero, Port: 8080}, flag: true, shared: true},
		{addr: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 10), Port: 8080}, flag: true, shared: true},
	} {
		require.Equal(t, tc.shared, demoFlags{shareKeys: tc.flag}.sharesKeys(tc.addr), "%v, --demo-share-keys=%v", tc.addr, tc.flag)
	}
}

func TestDemoBannerSaysWhoGetsTheKeys(t *testing.T) {
	t.Parallel()
	loopback := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	anywhere := &net.TCPAddr{IP: net.IPv4zero, Port: 8080}
	for _, c := range []struct {
		name   string
		addr   net.Addr
		shared bool
		want   string
	}{
		{"loopback", loopback, true, "only this machine reaches"},
		{"beyond loopback", anywhere, false, "asks for a key"},
		{"beyond loopback, shared", anywhere, true, "for anyone who reaches this server"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var out strings.Builder
			printDemoBanner(&out, &demo.Demo{ProjectID: 1}, c.addr, c.shared)
			require.Contains(t, out.String(), c.want)
		})
	}
}

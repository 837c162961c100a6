package webhook_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/webhook"
)

// tlsReceiver is an https server on 127.0.0.1 whose certificate the
// returned configuration trusts, whatever name the URL gives it (httptest's
// certificate names example.com).
func tlsReceiver(t *testing.T, h http.Handler) (*httptest.Server, *tls.Config) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return srv, &tls.Config{RootCAs: pool, ServerName: "example.com", MinVersion: tls.VersionTLS12}
}

func TestIsPublic(t *testing.T) {
	t.Parallel()
	for addr, public := range map[string]bool{
		"93.184.215.14": true, "1.1.1.1": true, "2606:4700:4700::1111": true, "100.128.0.1": true, "172.32.0.1": true,
		"127.0.0.1": false, "127.8.9.10": false, "10.1.2.3": false, "172.16.0.1": false, "172.31.255.255": false,
		"192.168.1.1": false, "169.254.169.254": false, "0.0.0.0": false, "0.1.2.3": false, "100.64.0.1": false,
		"100.127.255.254": false, "192.0.2.1": false, "198.18.0.1": false, "224.0.0.1": false, "240.0.0.1": false,
		"255.255.255.255": false, "::1": false, "::": false, "fc00::1": false, "fd12:3456::1": false, "fe80::1": false,
		"ff02::1": false, "::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false, "::ffff:8.8.8.8": true,
		"64:ff9b::a00:1": false, "2002:7f00:1::": false, "2001:db8::1": false, "2001:0:4136:e378::": false,
	} {
		require.Equal(t, public, webhook.IsPublic(netip.MustParseAddr(addr)), addr)
	}
}

// TestClientRefusesPrivateAddresses: literal private addresses, a name that
// resolves to loopback (localhost, as a rebinding name would at connect
// time) and plain http are refused before anything is sent; the receiver,
// listening on 127.0.0.1, is reached only when private addresses are
// allowed.
func TestClientRefusesPrivateAddresses(t *testing.T) {
	t.Parallel()
	var reached atomic.Int64
	srv, trust := tlsReceiver(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		reached.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	safe := webhook.NewClient(webhook.ClientOptions{TLS: trust})
	for _, url := range []string{
		srv.URL,                    // https://127.0.0.1:port
		"https://localhost" + port, // a name resolving to 127.0.0.1 (and ::1)
		"https://[::1]" + port,
		"https://10.0.0.1" + port,
		"https://169.254.169.254/latest/meta-data/",
		"https://0.0.0.0" + port,
		"https://[::ffff:127.0.0.1]" + port,
	} {
		res, err := safe.Post(url, "application/json", strings.NewReader(`{}`))
		if err == nil {
			_ = res.Body.Close()
		}
		require.ErrorIs(t, err, webhook.ErrPrivateAddress, url)
	}
	res, err := safe.Post(strings.Replace(srv.URL, "https", "http", 1), "application/json", strings.NewReader(`{}`))
	if err == nil {
		_ = res.Body.Close()
	}
	require.ErrorIs(t, err, webhook.ErrInsecureURL)
	require.Zero(t, reached.Load(), "nothing reached the receiver")

	allowed := webhook.NewClient(webhook.ClientOptions{TLS: trust, AllowPrivate: true})
	res, err = allowed.Post("https://localhost"+port, "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	require.Equal(t, int64(1), reached.Load())
}

// TestClientDoesNotFollowRedirects: a redirect is the answer; its target is
// never requested.
func TestClientDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	var followed atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("/hook", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, _ *http.Request) {
		followed.Store(true)
		w.WriteHeader(http.StatusOK)
	})
	srv, trust := tlsReceiver(t, mux)
	client := webhook.NewClient(webhook.ClientOptions{TLS: trust, AllowPrivate: true})
	res, err := client.Post(srv.URL+"/hook", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	require.NoError(t, res.Body.Close())
	require.Equal(t, http.StatusTemporaryRedirect, res.StatusCode)
	require.False(t, followed.Load())
}

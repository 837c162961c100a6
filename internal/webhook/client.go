package webhook

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// Timeout bounds one delivery attempt, from dialling to the end of the
// response's headers and the part of its body that is kept.
const Timeout = 15 * time.Second

// MaxResponseBody is how much of a response's body an attempt keeps for the
// delivery log.
const MaxResponseBody = 1024

var (
	// ErrPrivateAddress is returned for a connection to an address that is
	// not public (loopback, private, link-local, CGNAT, reserved ...),
	// refused unless the operator allows private addresses.
	ErrPrivateAddress = errors.New("webhook target is not a public address")
	// ErrInsecureURL is returned for a URL that is not https, refused
	// unless the operator allows private addresses.
	ErrInsecureURL = errors.New("webhook URL is not https")
)

// ClientOptions configure the HTTP client of deliveries.
type ClientOptions struct {
	// AllowPrivate allows http URLs and private addresses: for development
	// and tests, never for a server that takes URLs from its tenants.
	AllowPrivate bool
	// TLS, when set, is the TLS configuration (tests trust their own
	// certificate authority with it).
	TLS *tls.Config
}

// NewClient returns the HTTP client deliveries go through. Unless
// opts.AllowPrivate, it sends only to https URLs and connects only to
// public addresses: the address is checked as the socket connects, after
// every DNS resolution, so a name that resolved to a public address when
// the endpoint was created and resolves to 127.0.0.1 now (DNS rebinding)
// is refused all the same. It never follows redirects (the redirect is the
// attempt's answer), never uses a proxy from the environment (the check
// would then judge the proxy, not the target) and gives up after Timeout.
func NewClient(opts ClientOptions) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !opts.AllowPrivate {
		dialer.Control = refusePrivate
	}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       opts.TLS,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: Timeout,
	}
	return &http.Client{
		Transport:     schemeCheck{next: transport, allowHTTP: opts.AllowPrivate},
		Timeout:       Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// schemeCheck refuses URLs other than https (and http when allowed).
type schemeCheck struct {
	next      http.RoundTripper
	allowHTTP bool
}

var _ http.RoundTripper = schemeCheck{}

func (s schemeCheck) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" && (!s.allowHTTP || req.URL.Scheme != "http") {
		if req.Body != nil {
			_ = req.Body.Close() // a RoundTripper closes the body, even on error
		}
		return nil, fmt.Errorf("%w: %s", ErrInsecureURL, req.URL.Redacted())
	}
	return s.next.RoundTrip(req)
}

// refusePrivate is the dialer's Control: it runs for each address the
// dialer connects to, after resolution and before connect(2).
func refusePrivate(network, address string, _ syscall.RawConn) error {
	addrPort, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s %q", ErrPrivateAddress, network, address)
	}
	if !IsPublic(addrPort.Addr()) {
		return fmt.Errorf("%w: %s", ErrPrivateAddress, addrPort.Addr())
	}
	return nil
}

// nonPublic are the ranges beyond netip's loopback, private, link-local,
// multicast and unspecified that no webhook may reach: each reaches this
// host, its network, its provider's network or nowhere (RFC 6890's special
// purpose registries), or embeds an IPv4 address that could be any of
// those (NAT64, 6to4, Teredo).
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT, shared address space
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and the broadcast address
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local NAT64
	netip.MustParsePrefix("100::/64"),        // discard
	netip.MustParsePrefix("2001::/32"),       // Teredo
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("2002::/16"),       // 6to4
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated, still routed by some)
}

// IsPublic reports whether addr is a public unicast address a webhook may
// be sent to. IPv4-mapped IPv6 addresses (::ffff:10.0.0.1) are judged as
// the IPv4 address they carry.
func IsPublic(addr netip.Addr) bool {
	addr = addr.Unmap()
	if !addr.IsValid() || addr.IsLoopback() || addr.IsPrivate() || addr.IsUnspecified() ||
		addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() || addr.IsInterfaceLocalMulticast() || addr.IsMulticast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// readSnippet reads up to MaxResponseBody bytes of a response's body for
// the log, then a little more so a short answer leaves the connection
// reusable; the caller closes the body.
func readSnippet(res *http.Response) string {
	snippet, _ := io.ReadAll(io.LimitReader(res.Body, MaxResponseBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	// The log is a text column: PostgreSQL refuses invalid UTF-8 (a rune
	// cut at the limit, a binary answer) and NUL bytes.
	return strings.ReplaceAll(strings.ToValidUTF8(string(snippet), "\uFFFD"), "\x00", "")
}

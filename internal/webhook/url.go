package webhook

import (
	"net/netip"
	"net/url"
	"strings"

	"github.com/pulse-analytics/pulse/ent/webhookendpoint"
	"github.com/pulse-analytics/pulse/internal/invalid"
)

const maxURL = 2048

// checkURL validates the URL of an endpoint of kind when it is saved. It
// refuses what is wrong whatever DNS says; the delivery's dialer checks
// every address it connects to, so a name that resolves to a private
// address later is refused then.
func checkURL(raw string, kind webhookendpoint.Kind, allowPrivate bool) error {
	const field = "input.url"
	if len(raw) > maxURL {
		return invalid.Field(field, "must be at most %d bytes", maxURL)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return invalid.Field(field, "must be an absolute URL such as https://example.com/webhooks")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowPrivate:
	case u.Scheme == "http":
		return invalid.Field(field, "must be https (http is allowed only when the operator allows private addresses)")
	default:
		return invalid.Field(field, "must be an https URL, not %s", u.Scheme)
	}
	if u.User != nil {
		// Anyone with a READ key can read the URL.
		return invalid.Field(field, "must not carry a user or password")
	}
	if u.Fragment != "" || strings.HasSuffix(raw, "#") {
		return invalid.Field(field, "must not have a fragment")
	}
	if !allowPrivate && privateHost(u.Hostname()) {
		return invalid.Field(field, "must be a public address, not %s (the operator may allow private addresses for development)", u.Hostname())
	}
	if kind == webhookendpoint.KindSEGMENT_TRACK {
		return checkTrackingBase(u)
	}
	return nil
}

// checkTrackingBase requires the base URL of a Segment HTTP Tracking API
// (or its /v1/batch): delivery posts to its /v1/batch (see batchURL).
func checkTrackingBase(u *url.URL) error {
	const field = "input.url"
	if u.RawQuery != "" {
		return invalid.Field(field, "must be the base URL of a Segment HTTP Tracking API, without a query")
	}
	path := strings.TrimRight(u.Path, "/")
	if strings.HasSuffix(path, "/v1/batch") {
		return nil
	}
	for _, call := range []string{"/v1/track", "/v1/identify", "/v1/page", "/v1/screen", "/v1/group", "/v1/alias", "/v1"} {
		if strings.HasSuffix(path, call) {
			return invalid.Field(field, "must be the base URL of a Segment HTTP Tracking API, such as https://api.segment.io, without %s: Pulse posts to <url>/v1/batch", call)
		}
	}
	return nil
}

// privateHost reports whether host is an address or a name that can only
// mean this machine or a private network.
func privateHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return false // a name: checked when it is dialled
	}
	return !IsPublic(addr)
}

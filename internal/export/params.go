package export

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pulse-analytics/pulse/internal/invalid"
)

// parameters are the query parameters each export takes; any other is
// refused, so that a typo (trait=plan) is never a silently different file.
var parameters = map[subject][]string{
	membersOf: {"at", "traits"},
	changesOf: {"traits"},
}

// parseRequest reads the path's id and the query parameters of r.
func parseRequest(r *http.Request, of subject, format Format) (Request, error) {
	t := tables[of]
	id, err := idOf(r, t.table, t.what)
	if err != nil {
		return Request{}, err
	}
	req := Request{Format: format}
	if of == membersOf {
		req.SegmentID = id
	} else {
		req.RunID = id
	}
	// url.Values from r.URL.Query() drops what it cannot parse; a request
	// is either read whole or refused.
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return Request{}, invalid.Field("", "the query string is malformed: %v", err)
	}
	for name := range query {
		if !slices.Contains(parameters[of], name) {
			return Request{}, invalid.Field(name, "is not a parameter of this export, which takes %s", strings.Join(parameters[of], " and "))
		}
	}
	if values, ok := query["at"]; ok {
		at, err := parseAt(values)
		if err != nil {
			return Request{}, err
		}
		req.At = &at
	}
	if values, ok := query["traits"]; ok {
		if req.Traits, err = parseTraits(values); err != nil {
			return Request{}, err
		}
	}
	return req, nil
}

// parseAt reads at: one RFC 3339 instant.
func parseAt(values []string) (time.Time, error) {
	if len(values) != 1 {
		return time.Time{}, invalid.Field("at", "give one instant, not %d", len(values))
	}
	raw := values[0]
	at, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil && len(raw) > len("2006-01-02T15:04:05") && strings.Contains(raw[len("2006-01-02T15:04:05"):], " ") {
		// A "+01:00" offset sent unencoded arrives as " 01:00".
		at, err = time.Parse(time.RFC3339Nano, strings.Replace(raw, " ", "+", 1))
	}
	if err != nil {
		return time.Time{}, invalid.Field("at", "an RFC 3339 instant such as 2026-03-01T12:00:00Z (an offset's + encoded as %%2B), got %q", raw)
	}
	return at, nil
}

// parseTraits reads the traits named by every traits parameter, each a
// comma-separated list: in order, each once, spaces around names trimmed.
// An empty list names no trait. The list is refused as soon as it names
// more than MaxTraitColumns, before more of it is read.
func parseTraits(values []string) ([]string, error) {
	names := []string{}
	seen := map[string]bool{}
	for _, v := range values {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.TrimSpace(name)
			switch {
			case name == "" || seen[name]:
				continue
			case len(name) > MaxTraitNameBytes:
				return nil, invalid.Field("traits", "a trait name is at most %d bytes; %q… is longer", MaxTraitNameBytes, name[:32])
			case !utf8.ValidString(name) || strings.ContainsRune(name, 0):
				return nil, invalid.Field("traits", "%q is not a trait name: a name is UTF-8 text without NUL characters", name)
			case len(names) == MaxTraitColumns:
				return nil, invalid.Field("traits", "names more than %d traits; an export has at most %d", MaxTraitColumns, MaxTraitColumns)
			}
			seen[name] = true
			names = append(names, name)
		}
	}
	return names, nil
}

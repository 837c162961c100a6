package doctest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// GraphQLSpec is what a GraphQL block's info string says about running it:
//
//	```graphql admin id=$SEGMENT_ID afterSeq=0 set:RUN_ID=recomputeSegment.id
//
// Words are: the role whose key sends it (ingest, read or admin: the
// PULSE_<ROLE>_KEY shell variable); NAME=$VAR, the operation's variable NAME
// from shell variable VAR (a string); NAME=JSON, a literal value;
// set:VAR=PATH, a shell variable for later blocks taken from the response's
// data at PATH (dot-separated, numbers index lists); until:PATH=VALUE, send
// it again until the data at PATH is VALUE (a result a job computes); and
// error=CODE, the block shows an error whose extensions.code is CODE.
type GraphQLSpec struct {
	Role  string
	Vars  map[string]string // name: "$VAR" or a JSON literal
	Set   map[string]string // shell variable: path
	Until *Until
	Error string
}

// Until is a condition a block is retried for.
type Until struct{ Path, Value string }

var (
	specName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	roles    = map[string]bool{"ingest": true, "read": true, "admin": true}
)

// ParseGraphQLSpec parses a GraphQL block's info words.
func ParseGraphQLSpec(info []string) (GraphQLSpec, error) {
	spec := GraphQLSpec{Vars: map[string]string{}, Set: map[string]string{}}
	for _, w := range info {
		switch {
		case roles[w]:
			if spec.Role != "" {
				return spec, fmt.Errorf("two roles in the info string: %s and %s", spec.Role, w)
			}
			spec.Role = w
		case strings.HasPrefix(w, "set:"):
			name, path, ok := strings.Cut(strings.TrimPrefix(w, "set:"), "=")
			if !ok || !specName.MatchString(name) || path == "" {
				return spec, fmt.Errorf("%q: want set:VAR=path.in.data", w)
			}
			spec.Set[name] = path
		case strings.HasPrefix(w, "until:"):
			path, value, ok := strings.Cut(strings.TrimPrefix(w, "until:"), "=")
			if !ok || path == "" {
				return spec, fmt.Errorf("%q: want until:path.in.data=VALUE", w)
			}
			spec.Until = &Until{Path: path, Value: value}
		case strings.HasPrefix(w, "error="):
			spec.Error = strings.TrimPrefix(w, "error=")
		default:
			name, value, ok := strings.Cut(w, "=")
			if !ok || !specName.MatchString(name) {
				return spec, fmt.Errorf("unknown word %q in a GraphQL block's info string: want a role (ingest, read, admin), NAME=$VAR, NAME=JSON, set:VAR=PATH, until:PATH=VALUE or error=CODE", w)
			}
			if !strings.HasPrefix(value, "$") && !json.Valid([]byte(value)) {
				return spec, fmt.Errorf("%q: the value is neither $VAR nor JSON", w)
			}
			spec.Vars[name] = value
		}
	}
	if spec.Role == "" {
		return spec, fmt.Errorf("a GraphQL block names the role whose key sends it: ```graphql ingest|read|admin")
	}
	return spec, nil
}

// Variables resolves the block's variables, looking shell variables up
// with env.
func (s GraphQLSpec) Variables(env func(string) (string, bool)) (map[string]any, error) {
	vars := map[string]any{}
	for name, raw := range s.Vars {
		if ref, ok := strings.CutPrefix(raw, "$"); ok {
			v, ok := env(ref)
			if !ok || v == "" {
				return nil, fmt.Errorf("variable %s: shell variable %s is not set by an earlier block", name, ref)
			}
			vars[name] = v
			continue
		}
		var v any
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			return nil, fmt.Errorf("variable %s: %w", name, err)
		}
		vars[name] = v
	}
	return vars, nil
}

// Lookup returns the value at a dot-separated path of decoded JSON.
func Lookup(data any, path string) (any, error) {
	cur := data
	for _, part := range strings.Split(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[part]
			if !ok {
				return nil, fmt.Errorf("%s: no field %q", path, part)
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(v) {
				return nil, fmt.Errorf("%s: %q does not index a list of %d", path, part, len(v))
			}
			cur = v[i]
		default:
			return nil, fmt.Errorf("%s: %q is below a scalar", path, part)
		}
	}
	return cur, nil
}

// Scalar renders a looked-up value as a shell variable's text.
func Scalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	}
	raw, _ := json.Marshal(v) // decoded JSON always re-encodes
	return string(raw)
}

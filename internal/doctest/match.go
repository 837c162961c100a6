package doctest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Ellipsis in an expected string stands for any text: "pk_read_…" is any
// READ key, "…" any value.
const Ellipsis = "…"

// errNotJSON is a line that is not JSON output at all.
var errNotJSON = errors.New("the output line is not JSON")

// ExpectedOutput returns the output a shell block shows in comments: each
// comment line holding JSON (`# {"data":…}`), or an SSE data line
// (`# data: {…}`), in order.
func ExpectedOutput(body string) []string {
	var out []string
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		text, ok := strings.CutPrefix(line, "# ")
		if !ok {
			continue
		}
		if strings.HasPrefix(text, "{") || strings.HasPrefix(text, "[") || strings.HasPrefix(text, "data: ") {
			out = append(out, text)
		}
	}
	return out
}

// MatchOutput checks that every expected line matches a line of actual, in
// order (other output lines may come between).
func MatchOutput(expected []string, actual string) error {
	lines := strings.Split(actual, "\n")
	i := 0
	for _, want := range expected {
		var last error
		found := false
		for ; i < len(lines); i++ {
			err := MatchLine(want, lines[i])
			if err == nil {
				found = true
				i++
				break
			}
			if !errors.Is(err, errNotJSON) {
				last = err // the closest miss says more than a non-JSON line
			}
		}
		if !found && last != nil {
			return fmt.Errorf("no output line matches %s (last mismatch: %w)\noutput:\n%s", want, last, actual)
		}
		if !found {
			return fmt.Errorf("no output line matches %s\noutput:\n%s", want, actual)
		}
	}
	return nil
}

// MatchLine compares one expected line with one actual line: both must be
// JSON (after the same "data: " prefix, if any) of the same substance.
func MatchLine(want, got string) error {
	if w, ok := strings.CutPrefix(want, "data: "); ok {
		g, ok := strings.CutPrefix(strings.TrimSpace(got), "data: ")
		if !ok {
			return fmt.Errorf("%w: not a data: line", errNotJSON)
		}
		want, got = w, g
	}
	return MatchJSON(want, got)
}

// MatchJSON reports whether got is the JSON want shows: objects with the
// same keys, lists of the same length, equal scalars; a string of want
// containing … matches any text in its place.
func MatchJSON(want, got string) error {
	var w, g any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		return fmt.Errorf("the expected output is not JSON: %w: %s", err, want)
	}
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		return fmt.Errorf("%w: %w", errNotJSON, err)
	}
	return matchValue("$", w, g)
}

func matchValue(path string, want, got any) error {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object, got %s", path, show(got))
		}
		if wk, gk := keys(w), keys(g); strings.Join(wk, ",") != strings.Join(gk, ",") {
			return fmt.Errorf("%s: want keys %v, got %v", path, wk, gk)
		}
		for k, wv := range w {
			if err := matchValue(path+"."+k, wv, g[k]); err != nil {
				return err
			}
		}
		return nil
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("%s: want a list of %d, got %s", path, len(w), show(got))
		}
		for i := range w {
			if err := matchValue(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); err != nil {
				return err
			}
		}
		return nil
	case string:
		if w == Ellipsis {
			return nil
		}
		if strings.Contains(w, Ellipsis) {
			g, ok := got.(string)
			if !ok || !globMatch(w, g) {
				return fmt.Errorf("%s: want %q, got %s", path, w, show(got))
			}
			return nil
		}
	}
	if show(want) != show(got) {
		return fmt.Errorf("%s: want %s, got %s", path, show(want), show(got))
	}
	return nil
}

// globMatch matches s against pattern, where … is any text.
func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, Ellipsis)
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(s, p)
		}
		j := strings.Index(s, p)
		if j < 0 {
			return false
		}
		s = s[j+len(p):]
	}
	return true
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func show(v any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(raw)
}

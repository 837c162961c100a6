package doctest

import (
	"regexp"
	"strconv"
	"strings"
)

// Link is a relative Markdown link: a file of the repository, an anchor
// of it, or both.
type Link struct {
	Line   int
	Path   string // empty: the document itself
	Anchor string // without '#'
}

var (
	linkPattern    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	headingPattern = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
	slugDrop       = regexp.MustCompile(`[^\p{L}\p{N}\s_-]`)
)

// Links returns the relative links of a document outside its code blocks:
// not http(s) or mailto links.
func Links(markdown string) []Link {
	var out []Link
	inCode := false
	for i, line := range strings.Split(markdown, "\n") {
		if fence.MatchString(line) {
			inCode = !inCode
			continue
		}
		if inCode {
			continue
		}
		for _, m := range linkPattern.FindAllStringSubmatch(line, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			out = append(out, Link{Line: i + 1, Path: path, Anchor: anchor})
		}
	}
	return out
}

// Anchors returns the anchors GitHub gives a document's headings: lower
// case, punctuation dropped, spaces as hyphens, repeats numbered.
func Anchors(markdown string) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	inCode := false
	for _, line := range strings.Split(markdown, "\n") {
		if fence.MatchString(line) {
			inCode = !inCode
			continue
		}
		m := headingPattern.FindStringSubmatch(line)
		if inCode || m == nil {
			continue
		}
		slug := strings.ToLower(slugDrop.ReplaceAllString(m[1], ""))
		slug = strings.ReplaceAll(strings.TrimSpace(slug), " ", "-")
		if n := seen[slug]; n > 0 {
			anchors[slug+"-"+strconv.Itoa(n)] = true
		} else {
			anchors[slug] = true
		}
		seen[slug]++
	}
	return anchors
}

package export

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxFileNameRunes bounds the name part of a download's file name.
const maxFileNameRunes = 120

// ContentDisposition is the Content-Disposition header of a download of
// name with extension ext: an attachment whose filename is ASCII (what
// every client reads) and, when the name is not, RFC 6266's filename* with
// the name in UTF-8, which browsers prefer. Characters that no file system
// takes or that only disguise a name (path separators, control and
// bidirectional formatting characters) become "_".
func ContentDisposition(name, ext string) string {
	file := safeFileName(name) + "." + ext
	ascii := strings.Map(func(r rune) rune {
		// Some clients percent-decode a filename: "%" would not survive.
		if r > '~' || r == '%' {
			return '_'
		}
		return r
	}, file)
	header := `attachment; filename="` + ascii + `"`
	if ascii != file {
		header += "; filename*=UTF-8''" + extValue(file)
	}
	return header
}

// safeFileName is name with what a file name cannot hold replaced, trimmed
// of the spaces and dots Windows drops, at most maxFileNameRunes long.
func safeFileName(name string) string {
	name = strings.ToValidUTF8(name, "_")
	safe := strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) || strings.ContainsRune(`/\:*?"<>|`, r) {
			return '_'
		}
		return r
	}, name)
	if utf8.RuneCountInString(safe) > maxFileNameRunes {
		safe = string([]rune(safe)[:maxFileNameRunes])
	}
	safe = strings.Trim(safe, " .")
	if safe == "" {
		return "export"
	}
	return safe
}

// extValue percent-encodes s as an RFC 8187 (was 5987) value: UTF-8 bytes,
// all but attr-char escaped.
func extValue(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < utf8.RuneSelf && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("!#$&+-.^_`|~", c) >= 0) {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// PostgreSQL stores text in UTF-8 and refuses what UTF-8 cannot hold or
// what it will not store: a NUL character (raw, or escaped as \u0000 in
// JSON, which jsonb refuses as an "unsupported Unicode escape sequence"),
// bytes that are not UTF-8, and a UTF-16 surrogate escaped alone (\ud800
// without its pair). JSON decoders accept all three, so such a message
// would fail its whole batch at the COPY. Instead the message is rejected
// alone, naming the field, before it reaches the database.
//
// The check is on the raw JSON of each message, so every field is covered,
// the stored properties included, whatever its depth: utf8.Valid and
// bytes.IndexByte run over the bytes at memory speed, and only escapes
// are looked at one by one. Where the fault is, is only worked out for a
// message that has one.

// Reasons a text is refused, as a rejection's reason says them.
const (
	reasonNUL       = `contains a NUL character (\u0000), which cannot be stored`
	reasonSurrogate = "contains a lone UTF-16 surrogate %s (half of a surrogate pair), which is not a character"
	reasonUTF8      = "contains bytes that are not UTF-8 (0x%02x)"
)

// textFault finds the first NUL, invalid UTF-8 or lone surrogate escape in
// raw JSON: its byte offset and the reason, or -1 when raw has none.
func textFault(raw []byte) (int, string) {
	if i := bytes.IndexByte(raw, 0); i >= 0 {
		return i, reasonNUL
	}
	if !utf8.Valid(raw) {
		i := invalidUTF8(raw)
		return i, fmt.Sprintf(reasonUTF8, raw[i])
	}
	for i := 0; ; {
		j := bytes.IndexByte(raw[i:], '\\')
		if j < 0 {
			return -1, ""
		}
		i += j
		if i+6 > len(raw) || raw[i+1] != 'u' {
			i += 2 // an escape of one character, maybe a backslash
			continue
		}
		r := hex4(raw[i+2 : i+6])
		switch {
		case r == 0:
			return i, reasonNUL
		case r >= 0xd800 && r < 0xdc00 && i+12 <= len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u':
			if low := hex4(raw[i+8 : i+12]); low >= 0xdc00 && low < 0xe000 {
				i += 12
				continue
			}
			return i, fmt.Sprintf(reasonSurrogate, raw[i:i+6])
		case r >= 0xd800 && r < 0xe000:
			return i, fmt.Sprintf(reasonSurrogate, raw[i:i+6])
		}
		i += 6
	}
}

// invalidUTF8 is the offset of the first byte of raw that is not UTF-8.
func invalidUTF8(raw []byte) int {
	for i := 0; i < len(raw); {
		r, size := utf8.DecodeRune(raw[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(raw)
}

// hex4 decodes four hex digits; -1 when they are not.
func hex4(b []byte) rune {
	n, err := strconv.ParseUint(string(b), 16, 16)
	if err != nil {
		return -1
	}
	return rune(n)
}

// textFaultField names where offset is in the JSON object raw (valid
// JSON): the path of the member, such as "properties.items[2].name", and
// whether the offset is in the member's key rather than its value.
func textFaultField(raw []byte, offset int) (path string, inKey bool) {
	return locate(raw, offset, "")
}

func locate(value []byte, offset int, path string) (string, bool) {
	found, inKey, done := path, false, false
	switch value[skipSpace(value, 0)] {
	case '{':
		keyStart := 0
		scanMembers(value, func(key, rest []byte) int {
			start, n := len(value)-len(rest), valueEnd(rest, 0)
			if !done && offset < start+n {
				name := joinPath(path, string(key))
				if done = true; offset < start {
					found, inKey = name, offset >= keyStart
				} else {
					found, inKey = locate(rest[:n], offset-start, name)
				}
			}
			keyStart = start + n
			return n
		})
	case '[':
		index := 0
		scanElements(value, func(rest []byte) int {
			start, n := len(value)-len(rest), valueEnd(rest, 0)
			if !done && offset < start+n {
				done = true
				found, inKey = locate(rest[:n], offset-start, path+"["+strconv.Itoa(index)+"]")
			}
			index++
			return n
		})
	}
	return found, inKey
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// rejectBadText rejects the item at index of b when its raw JSON has a
// text PostgreSQL cannot store, reporting whether it did.
func (b *parsedBatch) rejectBadText(index int, messageID string, raw []byte) bool {
	offset, reason := textFault(raw)
	if offset < 0 {
		return false
	}
	field, inKey := textFaultField(raw, offset)
	if inKey {
		reason = strings.Replace(reason, "contains", "has a key that contains", 1)
	}
	if field == "" {
		field = "message"
	}
	b.reject(index, messageID, field, "%s", reason)
	return true
}

// stringFault is the reason s cannot be stored as text, "" when it can.
// Ids and names are short and nearly always ASCII: one loop over the bytes
// costs less than a search and a validation would.
func stringFault(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == 0 || c >= utf8.RuneSelf {
			return nonASCIIFault(s)
		}
	}
	return ""
}

func nonASCIIFault(s string) string {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return reasonNUL
	case !utf8.ValidString(s):
		return fmt.Sprintf(reasonUTF8, s[invalidUTF8([]byte(s))])
	}
	return ""
}

// valueFault finds a string (keys included) or a number that cannot be
// stored in a decoded JSON value: the path below v and the reason, or
// reason "".
func valueFault(v any, path string) (string, string) {
	switch v := v.(type) {
	case string:
		return path, stringFault(v)
	case json.Number:
		if numberFault([]byte(v)) {
			return path, reasonNumber
		}
	case map[string]any:
		for k, x := range v {
			if reason := stringFault(k); reason != "" {
				return joinPath(path, k), strings.Replace(reason, "contains", "has a key that contains", 1)
			}
			if field, reason := valueFault(x, joinPath(path, k)); reason != "" {
				return field, reason
			}
		}
	case []any:
		for i, x := range v {
			if field, reason := valueFault(x, path+"["+strconv.Itoa(i)+"]"); reason != "" {
				return field, reason
			}
		}
	}
	return path, ""
}

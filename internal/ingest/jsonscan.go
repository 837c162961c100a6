package ingest

import (
	"bytes"
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// The Segment endpoints carry nearly all of Pulse's traffic, so their bodies
// are taken apart by the small scanner below instead of being decoded into
// maps. Decoding with encoding/json walks every byte once more for each
// level it decodes (the body, each message, each field) and allocates every
// value, which made parsing cost more than storing. Here validJSON checks
// the whole body once; afterwards these functions only find where each
// member or element of valid JSON starts and ends, and only the few fields
// Pulse reads are decoded. Keys match exactly, as the Segment spec spells
// them (encoding/json would also match "USERID" to a userId field).

// maxFastNesting bounds the brackets of a body validated by gjson: its
// validator recurses per level, where encoding/json's refuses more than
// 10,000 levels. A body with no more opening brackets than that cannot be
// nested deeper.
const maxFastNesting = 10_000

// validJSON reports whether data is one valid JSON value, exactly as
// json.Valid does (a differential fuzz test holds them together). gjson's
// validator, which River already brings in, is about four times faster;
// json.Valid's share of ingesting an event was larger than the COPY's
// per-row cost in Go.
func validJSON(data []byte) bool {
	if bytes.Count(data, []byte{'{'})+bytes.Count(data, []byte{'['}) > maxFastNesting {
		return json.Valid(data)
	}
	return gjson.ValidBytes(data)
}

// scanMembers walks the JSON object at the start of raw, which is valid
// JSON from there on and may go on after the object (the rest of an
// array, say). For each member it calls fn with the key, decoded and only
// valid during the call, and raw from the member's value on; fn returns the
// length of the value, having read it or measured it with valueEnd. So a
// value is walked once, by whoever reads it. scanMembers returns the length
// of raw up to the end of the object, or -1 when raw does not start with
// an object.
func scanMembers(raw []byte, fn func(key, rest []byte) int) int {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return -1
	}
	if i = skipSpace(raw, i+1); raw[i] == '}' {
		return i + 1
	}
	for {
		keyEnd := stringEnd(raw, i)
		key := raw[i+1 : keyEnd-1]
		if !plainString(key) {
			decoded, _ := jsonString(raw[i:keyEnd])
			key = []byte(decoded)
		}
		i = skipSpace(raw, skipSpace(raw, keyEnd)+1) // past the colon
		i = skipSpace(raw, i+fn(key, raw[i:]))
		if raw[i] == '}' {
			return i + 1
		}
		i = skipSpace(raw, i+1) // past the comma
	}
}

// scanElements walks the JSON array at the start of raw like scanMembers
// walks an object: fn gets raw from each element on and returns its length.
func scanElements(raw []byte, fn func(rest []byte) int) int {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return -1
	}
	if i = skipSpace(raw, i+1); raw[i] == ']' {
		return i + 1
	}
	for {
		i = skipSpace(raw, i+fn(raw[i:]))
		if raw[i] == ']' {
			return i + 1
		}
		i = skipSpace(raw, i+1)
	}
}

// members calls fn with each key and raw value of the JSON object raw
// (valid JSON), in order, and reports whether raw is an object.
func members(raw []byte, fn func(key, value []byte)) bool {
	return scanMembers(raw, func(key, rest []byte) int {
		n := valueEnd(rest, 0)
		fn(key, rest[:n])
		return n
	}) >= 0
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// valueEnd returns the index just past the valid JSON value starting at i.
// Strings are skipped inline, byte by byte: nearly all are a few bytes
// long, shorter than what a vectorised search pays to start.
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch b[i] {
			case '"':
				for i++; b[i] != '"'; i++ {
					if b[i] == '\\' {
						i++
					}
				}
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
	}
	// A number, true, false or null: it ends at the first delimiter.
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\n' && b[i] != '\r' && b[i] != '\t' {
		i++
	}
	return i
}

// stringEnd returns the index just past the JSON string starting at i.
func stringEnd(b []byte, i int) int {
	for i++; b[i] != '"'; i++ {
		if b[i] == '\\' {
			i++ // the escaped byte, which may be a quote
		}
	}
	return i + 1
}

// jsonString decodes raw when it is a JSON string. Strings without escapes
// (nearly all) are sliced out without a decoder; invalid UTF-8 goes through
// encoding/json too, so it is replaced exactly as a decoder would.
func jsonString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if inner := raw[1 : len(raw)-1]; plainString(inner) {
		return string(inner), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// plainString reports whether the inside of a JSON string is its value
// as well: no escapes, valid UTF-8.
func plainString(inner []byte) bool {
	return bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner)
}

// isNull reports whether raw is absent (nil) or JSON null.
func isNull(raw []byte) bool { return raw == nil || raw[0] == 'n' }

// textValue is raw when it is a JSON string, else "".
func textValue(raw []byte) string {
	s, _ := jsonString(raw)
	return s
}

// idValue returns an id as a string: SDKs send numeric ids too, and
// Segment stores them as strings (a number keeps its literal). Null or
// absent is "". It reports false for anything else.
func idValue(raw []byte) (string, bool) {
	switch {
	case isNull(raw):
		return "", true
	case raw[0] == '"':
		return jsonString(raw)
	case raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9':
		return string(raw), true
	}
	return "", false
}

// timestampValue parses raw like parseTimestamp parses a decoded value.
func timestampValue(raw []byte) (time.Time, error) {
	if isNull(raw) {
		return time.Time{}, nil
	}
	s, ok := jsonString(raw)
	if !ok {
		return parseTimestamp(raw) // not a string: refused as one
	}
	return parseTimestamp(s)
}

// jsonKind names the kind of the valid JSON value in raw, as encoding/json
// names them in its errors.
func jsonKind(raw []byte) string {
	switch raw[skipSpace(raw, 0)] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

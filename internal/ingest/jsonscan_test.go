package ingest

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// scanSeeds are JSON documents whose members and elements the scanner must
// split exactly as encoding/json does; the fuzz test grows from them.
var scanSeeds = []string{
	`{}`, `[]`, ` { } `, `null`, `"x"`, `12`, `-1.5e3`, `true`, `[1,"a",null,{"b":[2]}]`,
	`{"type":"track","userId":"ann","properties":{"a":[1,2,{"b":"}"}],"c":"\"]"},"n":null,"t":true,"f":false}`,
	"{\n\t\"a\" : 1 ,\r\n \"b\":[ ] , \"c\" : { }\n}",
	`{"k\"ey":"v\\","\u00e9":"\ud83d\ude00","a":"\\\"","a":2}`,
	`{"bad utf8":"` + "\xff\xfe" + `","` + "\xc3" + `":1}`,
	`[{"batch":[{"x":"\\\\"},[[[]]],-0,1E+2]}]`,
}

// invalidSeeds start the fuzz test's comparison of validJSON with
// json.Valid on what is not JSON.
var invalidSeeds = []string{
	`{"a":1,}`, `[1,]`, `01`, `1.`, `-`, `.5`, `"\q"`, "\"\x01\"", `{"a" 1}`, `tru`, "{}\x00", `"\u12"`, `1e`, `[1 2]`,
}

func FuzzScanMatchesEncodingJSON(f *testing.F) {
	for _, s := range append(scanSeeds, invalidSeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		require.Equal(t, json.Valid(data), validJSON(data), "%q", data)
		if !json.Valid(data) {
			return
		}
		checkMembers(t, data)
		checkElements(t, data)
	})
}

func TestScanSeeds(t *testing.T) {
	t.Parallel()
	for _, s := range scanSeeds {
		require.True(t, validJSON([]byte(s)), s)
		checkMembers(t, []byte(s))
		checkElements(t, []byte(s))
	}
}

func TestValidJSON(t *testing.T) {
	t.Parallel()
	for _, s := range []string{`{"a":[1,2,{"b":null}]}`, ` "x" `, `1e5`, `{"a":1,}`, `[1,]`, `01`, `"\q"`, "\"\x01\"", `{"a" 1}`, `tru`, `[] []`, ``} {
		require.Equal(t, json.Valid([]byte(s)), validJSON([]byte(s)), "%q", s)
	}
	deep := strings.Repeat("[", 10_001) + strings.Repeat("]", 10_001)
	require.False(t, validJSON([]byte(deep)), "deeper than encoding/json allows")
	many := "[" + strings.TrimSuffix(strings.Repeat("[],", 10_001), ",") + "]"
	require.True(t, validJSON([]byte(many)), "many brackets, shallow")
}

// checkMembers compares members with decoding into a map of raw values
// (the last of a repeated key wins in both) and every string value with
// decoding into a string.
func checkMembers(t *testing.T, data []byte) {
	var want map[string]json.RawMessage
	wantErr := json.Unmarshal(data, &want)
	got := map[string]json.RawMessage{}
	isObject := members(data, func(key, value []byte) {
		got[string(key)] = value
		checkValue(t, value)
	})
	require.Equal(t, wantErr == nil && want != nil, isObject, "%s", data)
	if isObject {
		require.Equal(t, want, got, "%s", data)
		requireLength(t, data, scanMembers)
	}
}

// requireLength checks that scan measures the value at the start of data
// when more JSON follows it, as in an array.
func requireLength(t *testing.T, data []byte, scan func([]byte, func([]byte, []byte) int) int) {
	t.Helper()
	value := bytes.TrimRight(data, " \t\r\n")
	followed := append(append([]byte{}, data...), `, {"next": [1]}]`...)
	require.Equal(t, len(value), scan(followed, func(_, rest []byte) int { return valueEnd(rest, 0) }), "%s", data)
}

// elements calls fn with each raw element of the JSON array raw, in order,
// and reports whether raw is an array.
func elements(raw []byte, fn func(value []byte)) bool {
	return scanElements(raw, func(rest []byte) int {
		n := valueEnd(rest, 0)
		fn(rest[:n])
		return n
	}) >= 0
}

func checkElements(t *testing.T, data []byte) {
	var want []json.RawMessage
	wantErr := json.Unmarshal(data, &want)
	var got []json.RawMessage
	isArray := elements(data, func(value []byte) {
		got = append(got, value)
		checkValue(t, value)
	})
	require.Equal(t, wantErr == nil && want != nil, isArray, "%s", data)
	if isArray {
		requireLength(t, data, func(raw []byte, fn func(_, rest []byte) int) int {
			return scanElements(raw, func(rest []byte) int { return fn(nil, rest) })
		})
		require.Len(t, got, len(want), "%s", data)
		for i := range want {
			require.Equal(t, string(want[i]), string(got[i]), "%s", data)
		}
	}
}

// checkValue compares the typed readers and jsonKind with what decodeJSON
// gives for one member or element, and recurses into containers.
func checkValue(t *testing.T, value []byte) {
	var want any
	require.NoError(t, decodeJSON(value, &want))
	require.False(t, bytes.ContainsAny(value[:1], " \t\r\n"), "values start at their first byte")
	str, isString := jsonString(value)
	id, isID := idValue(value)
	require.Equal(t, want == nil, isNull(value))
	switch w := want.(type) {
	case map[string]any:
		require.Equal(t, "object", jsonKind(value))
		checkMembers(t, value)
	case []any:
		require.Equal(t, "array", jsonKind(value))
		checkElements(t, value)
	case string:
		require.True(t, isString)
		require.Equal(t, w, str)
		require.Equal(t, w, textValue(value))
		require.Equal(t, w, id)
	case json.Number:
		require.Equal(t, "number", jsonKind(value))
		require.True(t, isID)
		require.Equal(t, w.String(), id)
	case bool:
		require.Equal(t, "bool", jsonKind(value))
		require.False(t, isID)
	case nil:
		require.Equal(t, "null", jsonKind(value))
		require.True(t, isID)
		require.Empty(t, id)
	}
	if _, ok := want.(string); !ok {
		require.False(t, isString)
		require.Empty(t, textValue(value))
	}
}

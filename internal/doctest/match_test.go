package doctest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMatchJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, want, got string
		err             string // empty: it matches
	}{
		{"equal", `{"a":1,"b":"x"}`, `{"b":"x","a":1}`, ""},
		{"ellipsis is any value", `{"id":"…"}`, `{"id":12}`, ""},
		{"ellipsis in a string", `{"k":"pk_read_…"}`, `{"k":"pk_read_abc"}`, ""},
		{"prefix differs", `{"k":"pk_read_…"}`, `{"k":"pk_admin_abc"}`, `$.k: want "pk_read_…"`},
		{"middle ellipsis", `{"s":"a…c"}`, `{"s":"abbbc"}`, ""},
		{"middle ellipsis, wrong suffix", `{"s":"a…c"}`, `{"s":"abbbd"}`, "want"},
		{"a missing key", `{"a":1,"b":2}`, `{"a":1}`, "want keys [a b], got [a]"},
		{"an extra key", `{"a":1}`, `{"a":1,"errors":[]}`, "want keys [a], got [a errors]"},
		{"another number", `{"size":2}`, `{"size":3}`, "$.size: want 2, got 3"},
		{"a list of another length", `{"l":[1]}`, `{"l":[1,2]}`, "want a list of 1"},
		{"null is not an empty list", `{"l":[]}`, `{"l":null}`, "want a list of 0, got null"},
		{"nested", `{"data":{"x":[{"id":"…","n":"ann"}]}}`, `{"data":{"x":[{"id":"5","n":"bob"}]}}`, `$.data.x[0].n: want "ann", got "bob"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := MatchJSON(tt.want, tt.got)
			if tt.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.err)
		})
	}
}

func TestExpectedOutput(t *testing.T) {
	t.Parallel()
	body := `# gql KEY QUERY: a comment, not output
curl -s $PULSE_URL/v1/track -d '{}'
# {"success":true}
curl -N -s $PULSE_URL/graphql
# event: next
# data: {"data":{"x":1}}
`
	require.Equal(t, []string{`{"success":true}`, `data: {"data":{"x":1}}`}, ExpectedOutput(body))
}

func TestMatchOutput(t *testing.T) {
	t.Parallel()
	out := ":\n\nevent: next\ndata: {\"data\":{\"x\":1}}\n\n{\"ok\":true}\n"
	require.NoError(t, MatchOutput([]string{`data: {"data":{"x":1}}`, `{"ok":true}`}, out))
	require.Error(t, MatchOutput([]string{`{"ok":true}`, `data: {"data":{"x":1}}`}, out), "in order")
	err := MatchOutput([]string{`data: {"data":{"x":2}}`}, out)
	require.ErrorContains(t, err, "$.data.x: want 2, got 1", "the closest miss is reported")
}

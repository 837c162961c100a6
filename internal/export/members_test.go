package export_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/export"
)

// awkward are users whose external ids and traits hold everything CSV must
// quote, and traits of every JSON kind.
var awkward = []user{
	{externalID: "ann", traits: `{"plan": "pro", "country": "FR", "seats": 3, "beta": true}`},
	{externalID: `bob, "the builder"`, traits: `{"plan": "free, for now", "note": "line one\nline two\r\nline three\rend", "tags": ["a", "b,c"], "address": {"city": "Zürich", "zip": "8001"}}`},
	{externalID: "", traits: `{"plan": null, "country": " leading space", "emoji": "🦀 \"crab\""}`},
	{externalID: "line\nbreak", traits: `{}`},
	{externalID: "=HYPERLINK(\"x\")", traits: `{"score": 1.50, "big": 123456789012345678901234567890}`},
}

// enteredAt reads the current interval's start of each member.
func (b *bundle) enteredAt(t *testing.T, segmentID int) map[string]string {
	t.Helper()
	rows, err := b.db.Query(`SELECT user_id, entered_at FROM segment_members WHERE segment_id = $1`, segmentID)
	require.NoError(t, err)
	defer func() { _ = rows.Close() }()
	out := map[string]string{}
	for rows.Next() {
		var id int64
		var at time.Time
		require.NoError(t, rows.Scan(&id, &at))
		out[strconv.FormatInt(id, 10)] = at.UTC().Format(time.RFC3339Nano)
	}
	require.NoError(t, rows.Err())
	return out
}

func TestMembersCSV(t *testing.T) {
	t.Parallel()
	b := setup(t, nil, export.Options{})
	ids := b.createUsers(t, awkward...)
	seg := b.createSegment(t, "Power users")
	b.addMembers(t, seg, ids)
	entered := b.enteredAt(t, seg)

	res := b.get(t, fmt.Sprintf("/v1/segments/%d/members.csv", seg), b.project.Read.Secret)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, `attachment; filename="Power users-members.csv"`, res.Header.Get("Content-Disposition"))
	require.Equal(t, "no-store", res.Header.Get("Cache-Control"))

	records := b.readCSV(t, fmt.Sprintf("/v1/segments/%d/members.csv", seg))
	// With no traits named, one column per trait key of the members, in
	// byte order.
	require.Equal(t, []string{"id", "externalId", "enteredAt", "traits.address", "traits.beta", "traits.big", "traits.country",
		"traits.emoji", "traits.note", "traits.plan", "traits.score", "traits.seats", "traits.tags"}, records[0])
	id := func(i int) string { return strconv.FormatInt(ids[i], 10) }
	require.Equal(t, [][]string{
		{id(0), "ann", entered[id(0)], "", "true", "", "FR", "", "", "pro", "", "3", ""},
		{id(1), `bob, "the builder"`, entered[id(1)], `{"zip": "8001", "city": "Zürich"}`, "", "", "", "",
			"line one\nline two\nline three\rend", "free, for now", "", "", `["a", "b,c"]`},
		{id(2), "", entered[id(2)], "", "", "", " leading space", `🦀 "crab"`, "", "", "", "", ""},
		{id(3), "line\nbreak", entered[id(3)], "", "", "", "", "", "", "", "", "", ""},
		{id(4), `=HYPERLINK("x")`, entered[id(4)], "", "", "123456789012345678901234567890", "", "", "", "", "1.50", "", ""},
	}, records[1:], "encoding/csv reads \\r\\n inside a field as \\n; everything else comes back as stored")

	named := b.readCSV(t, fmt.Sprintf("/v1/segments/%d/members.csv?traits=plan,%%20country%%20,plan,missing", seg))
	require.Equal(t, []string{"id", "externalId", "enteredAt", "traits.plan", "traits.country", "traits.missing"}, named[0],
		"named traits in the order given, each once, trimmed")
	require.Equal(t, []string{id(0), "ann", entered[id(0)], "pro", "FR", ""}, named[1])
	require.Len(t, named, len(awkward)+1)

	none := b.readCSV(t, fmt.Sprintf("/v1/segments/%d/members.csv?traits=", seg))
	require.Equal(t, []string{"id", "externalId", "enteredAt"}, none[0], "an empty list names no trait")
	require.Equal(t, []string{id(1), `bob, "the builder"`, entered[id(1)]}, none[2])
}

func TestMembersNDJSON(t *testing.T) {
	t.Parallel()
	b := setup(t, nil, export.Options{})
	ids := b.createUsers(t, awkward...)
	seg := b.createSegment(t, "Power users")
	b.addMembers(t, seg, ids)
	entered := b.enteredAt(t, seg)

	lines := b.readNDJSON(t, fmt.Sprintf("/v1/segments/%d/members.ndjson", seg))
	require.Len(t, lines, len(awkward))
	for i, line := range lines {
		id := strconv.FormatInt(ids[i], 10)
		var traits map[string]any
		dec := json.NewDecoder(strings.NewReader(awkward[i].traits))
		dec.UseNumber()
		require.NoError(t, dec.Decode(&traits))
		want := map[string]any{"id": id, "enteredAt": entered[id], "traits": traits, "externalId": awkward[i].externalID}
		if awkward[i].externalID == "" {
			want["externalId"] = nil
		}
		require.Equal(t, want, line, "line %d", i)
	}

	named := b.readNDJSON(t, fmt.Sprintf("/v1/segments/%d/members.ndjson?traits=plan,address,missing", seg))
	require.Equal(t, map[string]any{"plan": "pro"}, named[0]["traits"])
	require.Equal(t, map[string]any{"plan": "free, for now", "address": map[string]any{"city": "Zürich", "zip": "8001"}}, named[1]["traits"])
	require.Equal(t, map[string]any{"plan": nil}, named[2]["traits"], "a null trait is there, a missing one is not")
	require.Equal(t, map[string]any{}, named[3]["traits"])
}

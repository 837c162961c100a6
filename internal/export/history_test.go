package export_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/export"
)

// history is a STATIC segment moved by three runs, with instants between
// them:
//
//	before: nobody
//	run 1 (afterRun[0]): ann, bob, cat enter
//	run 2 (afterRun[1]): bob exits, dan enters
//	run 3 (afterRun[2]): ann exits, bob enters again
type history struct {
	*bundle
	segment  int
	before   time.Time
	afterRun [3]time.Time
	runs     [3]int
	ids      map[string]string // external id → user id
}

func setupHistory(t *testing.T) *history {
	t.Helper()
	b := setup(t, nil, export.Options{})
	h := &history{bundle: b, ids: map[string]string{}}
	users := []user{
		{externalID: "ann", traits: `{"plan": "pro"}`},
		{externalID: "bob", traits: `{"plan": "free"}`},
		{externalID: "cat", traits: `{"plan": "pro", "country": "DE"}`},
		{externalID: "dan"},
	}
	for i, id := range b.createUsers(t, users...) {
		h.ids[users[i].externalID] = strconv.FormatInt(id, 10)
	}
	h.segment = b.createSegment(t, "History")
	h.before = time.Now()
	h.runs[0] = b.change(t, h.segment, false, "ann", "bob", "cat")
	h.afterRun[0] = time.Now()
	h.runs[1] = b.change(t, h.segment, true, "bob")
	b.change(t, h.segment, false, "dan") // the same instant, for the exports, as run 2
	h.afterRun[1] = time.Now()
	h.runs[2] = b.change(t, h.segment, true, "ann")
	b.change(t, h.segment, false, "bob")
	h.afterRun[2] = time.Now()
	return h
}

// members exports the members at (now when zero) as CSV and returns their
// external ids and enteredAt.
func (h *history) members(t *testing.T, at time.Time) [][2]string {
	t.Helper()
	path := fmt.Sprintf("/v1/segments/%d/members.csv?traits=", h.segment)
	if !at.IsZero() {
		path += "&at=" + url.QueryEscape(at.Format(time.RFC3339Nano))
	}
	records := h.readCSV(t, path)
	out := [][2]string{}
	for _, r := range records[1:] {
		require.Equal(t, h.ids[r[1]], r[0], "the id of %s", r[1])
		out = append(out, [2]string{r[1], r[2]})
	}
	return out
}

// intervalStarts are the entered_at of every interval of the segment, by
// external id, oldest first.
func (h *history) intervalStarts(t *testing.T) map[string][]string {
	t.Helper()
	rows, err := h.db.Query(`SELECT u.external_id, m.entered_at FROM segment_memberships m JOIN users u ON u.id = m.user_id
		WHERE m.segment_id = $1 ORDER BY m.entered_at`, h.segment)
	require.NoError(t, err)
	defer func() { _ = rows.Close() }()
	out := map[string][]string{}
	for rows.Next() {
		var ext string
		var at time.Time
		require.NoError(t, rows.Scan(&ext, &at))
		out[ext] = append(out[ext], at.UTC().Format(time.RFC3339Nano))
	}
	require.NoError(t, rows.Err())
	return out
}

func TestMembersAt(t *testing.T) {
	t.Parallel()
	h := setupHistory(t)
	starts := h.intervalStarts(t)
	require.Len(t, starts["bob"], 2, "bob entered twice")

	require.Empty(t, h.members(t, h.before))
	require.Equal(t, [][2]string{{"ann", starts["ann"][0]}, {"bob", starts["bob"][0]}, {"cat", starts["cat"][0]}}, h.members(t, h.afterRun[0]))
	require.Equal(t, [][2]string{{"ann", starts["ann"][0]}, {"cat", starts["cat"][0]}, {"dan", starts["dan"][0]}}, h.members(t, h.afterRun[1]))
	third := [][2]string{{"bob", starts["bob"][1]}, {"cat", starts["cat"][0]}, {"dan", starts["dan"][0]}}
	require.Equal(t, third, h.members(t, h.afterRun[2]), "bob's second interval")
	require.Equal(t, third, h.members(t, time.Time{}), "now is the last instant")

	// An offset other than Z, and its + sent unencoded (a space).
	at := h.afterRun[0].In(time.FixedZone("", 2*3600)).Format(time.RFC3339Nano)
	records := h.readCSV(t, fmt.Sprintf("/v1/segments/%d/members.csv?at=%s", h.segment, at))
	require.Len(t, records, 4, at)
	records = h.readCSV(t, fmt.Sprintf("/v1/segments/%d/members.csv?at=%s", h.segment, url.QueryEscape(at)))
	require.Len(t, records, 4, at)

	// The traits at an instant are today's: traits have no history.
	lines := h.readNDJSON(t, fmt.Sprintf("/v1/segments/%d/members.ndjson?at=%s", h.segment, url.QueryEscape(h.afterRun[0].Format(time.RFC3339Nano))))
	require.Len(t, lines, 3)
	require.Equal(t, map[string]any{"id": h.ids["cat"], "externalId": "cat", "enteredAt": starts["cat"][0],
		"traits": map[string]any{"plan": "pro", "country": "DE"}}, lines[2])
}

func TestRunChanges(t *testing.T) {
	t.Parallel()
	h := setupHistory(t)
	starts := h.intervalStarts(t)
	exitedAt := func(ext string) string {
		var at time.Time
		require.NoError(t, h.db.QueryRow(`SELECT m.exited_at FROM segment_memberships m JOIN users u ON u.id = m.user_id
			WHERE m.segment_id = $1 AND u.external_id = $2 AND m.exited_at IS NOT NULL`, h.segment, ext).Scan(&at))
		return at.UTC().Format(time.RFC3339Nano)
	}

	res := h.get(t, fmt.Sprintf("/v1/runs/%d/changes.csv", h.runs[0]), h.project.Read.Secret)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, `attachment; filename="History-run-1-changes.csv"`, res.Header.Get("Content-Disposition"))

	records := h.readCSV(t, fmt.Sprintf("/v1/runs/%d/changes.csv", h.runs[0]))
	require.Equal(t, [][]string{
		{"change", "id", "externalId", "enteredAt", "exitedAt", "traits.country", "traits.plan"},
		{"ENTERED", h.ids["ann"], "ann", starts["ann"][0], "", "", "pro"},
		{"ENTERED", h.ids["bob"], "bob", starts["bob"][0], "", "", "free"},
		{"ENTERED", h.ids["cat"], "cat", starts["cat"][0], "", "DE", "pro"},
	}, records, "a run's entered users, though they left since")

	records = h.readCSV(t, fmt.Sprintf("/v1/runs/%d/changes.csv?traits=plan", h.runs[1]))
	require.Equal(t, [][]string{
		{"change", "id", "externalId", "enteredAt", "exitedAt", "traits.plan"},
		{"EXITED", h.ids["bob"], "bob", starts["bob"][0], exitedAt("bob"), "free"},
	}, records)

	lines := h.readNDJSON(t, fmt.Sprintf("/v1/runs/%d/changes.ndjson", h.runs[2]))
	require.Equal(t, []map[string]any{{
		"change": "EXITED", "id": h.ids["ann"], "externalId": "ann", "enteredAt": starts["ann"][0], "exitedAt": exitedAt("ann"),
		"traits": map[string]any{"plan": "pro"},
	}}, lines)

	// A run not completed yet has no changes to give.
	var pending int
	require.NoError(t, h.db.QueryRow(`INSERT INTO segment_runs (project_id, segment_id, trigger, status, created_at, entered_count, exited_count)
		VALUES ($1, $2, 'MANUAL', 'PENDING', now(), 0, 0) RETURNING id`, h.projectID(), h.segment).Scan(&pending))
	e := h.refused(t, fmt.Sprintf("/v1/runs/%d/changes.csv", pending), h.project.Read.Secret, http.StatusConflict)
	require.Equal(t, "CONFLICT", e.Error.Code)
	require.Contains(t, e.Error.Message, "is PENDING")
}

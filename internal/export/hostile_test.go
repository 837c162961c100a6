package export_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/export"
	"github.com/pulse-analytics/pulse/internal/ingest"
)

// pythonCSV parses a CSV file with Python's csv module, the reader most
// data tools are built on, and returns its records.
func pythonCSV(t *testing.T, raw []byte) [][]string {
	t.Helper()
	python, err := exec.LookPath("python3")
	require.NoError(t, err, "this test parses CSV with Python's csv module: apt-get install -y python3")
	file := filepath.Join(t.TempDir(), "export.csv")
	require.NoError(t, os.WriteFile(file, raw, 0o600))
	out, err := exec.Command(python, "-c", `import csv, json, sys
with open(sys.argv[1], newline="", encoding="utf-8", errors="strict") as f:
    json.dump(list(csv.reader(f, strict=True)), sys.stdout)`, file).Output()
	require.NoError(t, err)
	var records [][]string
	require.NoError(t, json.Unmarshal(out, &records))
	return records
}

// TestHostileText sends what PostgreSQL cannot store (a NUL, bytes that
// are not UTF-8) and what CSV must quote through the Segment API, as a
// client would, then exports: the refused messages are nowhere, the rest
// comes back exactly, read by Python's csv module, and nothing is a 500.
func TestHostileText(t *testing.T) {
	t.Parallel()
	b := setup(t, nil, export.Options{})
	ingestAPI := httptest.NewServer(ingest.NewHTTPHandler(auth.NewKeys(b.client), ingest.NewWriter(b.db), slog.New(slog.DiscardHandler)))
	t.Cleanup(ingestAPI.Close)
	batch := []byte(`{"batch":[
		{"type":"identify","userId":"nul\u0000id","traits":{"plan":"x"},"messageId":"h1"},
		{"type":"identify","userId":"nul-trait","traits":{"plan":"a\u0000b"},"messageId":"h2"},
		{"type":"identify","userId":"bad-utf8","traits":{"plan":"` + "\xff\xfe" + `"},"messageId":"h3"},
		{"type":"identify","userId":"` + "bad\xc3" + `","traits":{},"messageId":"h4"},
		{"type":"identify","userId":"awkward,\"one\"\r\ntwo","traits":{"plan":"pro","we,ird \"key\"\n":"v","":"empty key",
			"text":"tab\there\u2028sep \u202eevil\r\nwindows\rmac\nunix","deep":{"a":[1,{"b":null}]}},"messageId":"h5"},
		{"type":"identify","userId":"=1+2 \"x\"","traits":{"plan":"  ","n":-0.0e0},"messageId":"h6"}
	]}`)
	req, err := http.NewRequest(http.MethodPost, ingestAPI.URL+"/v1/batch", bytes.NewReader(batch))
	require.NoError(t, err)
	req.SetBasicAuth(b.project.Ingest.Secret, "")
	req.Header.Set("Content-Type", "application/json")
	res, err := ingestAPI.Client().Do(req)
	require.NoError(t, err)
	defer func() { _ = res.Body.Close() }()
	var accepted struct {
		Accepted int `json:"accepted"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&accepted))
	require.Equal(t, 2, accepted.Accepted, "the four messages PostgreSQL cannot store are rejected alone")

	var ids []int64
	rows, err := b.db.Query(`SELECT id FROM users WHERE project_id = $1 ORDER BY id`, b.projectID())
	require.NoError(t, err)
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	seg := b.createSegment(t, "Hostile")
	b.addMembers(t, seg, ids)

	file := b.get(t, fmt.Sprintf("/v1/segments/%d/members.csv", seg), b.project.Read.Secret)
	require.Equal(t, http.StatusOK, file.StatusCode)
	records := pythonCSV(t, []byte(file.Body))
	require.Equal(t, []string{"id", "externalId", "enteredAt", "traits.", "traits.deep", "traits.n", "traits.plan", "traits.text",
		"traits.we,ird \"key\"\n"}, records[0])
	require.Len(t, records, 3)
	byExternalID := map[string][]string{}
	for _, r := range records[1:] {
		byExternalID[r[1]] = r
	}
	awkward := byExternalID["awkward,\"one\"\r\ntwo"]
	require.NotNil(t, awkward, "Python reads the external id back exactly")
	require.Equal(t, []string{"empty key", `{"a": [1, {"b": null}]}`, "", "pro", "tab\there\u2028sep \u202eevil\r\nwindows\rmac\nunix", "v"}, awkward[3:])
	formula := byExternalID[`=1+2 "x"`]
	require.NotNil(t, formula, "verbatim: a spreadsheet's formula is the user's to escape")
	require.Equal(t, []string{"", "", "0", "  ", "", ""}, formula[3:])

	lines := b.readNDJSON(t, fmt.Sprintf("/v1/segments/%d/members.ndjson", seg))
	require.Len(t, lines, 2)
	i := slices.IndexFunc(lines, func(l map[string]any) bool { return l["externalId"] == "awkward,\"one\"\r\ntwo" })
	require.GreaterOrEqual(t, i, 0)
	traits := lines[i]["traits"].(map[string]any)
	require.Equal(t, "tab\there\u2028sep \u202eevil\r\nwindows\rmac\nunix", traits["text"])
	require.Equal(t, "v", traits["we,ird \"key\"\n"])
	keys := make([]string, 0, len(traits))
	for k := range traits {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	require.Equal(t, []string{"", "deep", "plan", "text", "we,ird \"key\"\n"}, keys)
}

package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/recompute"
)

// TestExportMatchesGraphQL checks, through "pulse serve", that the CSV of a
// segment of 100,000 members, read by encoding/csv and by Python's csv
// module, is exactly the segment's members as GraphQL pages them (ids,
// external ids, traits, and the memberships' enteredAt), and the NDJSON
// too.
func TestExportMatchesGraphQL(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	base := serveInProcess(t, dsn, io.Discard, "--no-workers", "--log-level", "warn")
	project := createProject(t, dsn, "Exports")
	const users = 100_000
	seg := seedMembers(t, dsn, base, project, users)

	members := graphqlMembers(t, base, project.Keys.Read, seg)
	require.Len(t, members, users)

	raw := download(t, base+"/v1/segments/"+seg+"/members.csv?traits=plan,n,note,missing", project.Keys.Read)
	records, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"id", "externalId", "enteredAt", "traits.plan", "traits.n", "traits.note", "traits.missing"}, records[0])
	require.Len(t, records, users+1)
	for i, m := range members {
		want := []string{m.ID, m.ExternalID, m.EnteredAt, cell(t, m.Traits["plan"]), cell(t, m.Traits["n"]), cell(t, m.Traits["note"]), ""}
		require.Equal(t, want, records[i+1], "member %d", i)
	}
	require.Equal(t, records, pythonRecords(t, raw), "Python's csv module reads the same file")

	raw = download(t, base+"/v1/segments/"+seg+"/members.ndjson", project.Keys.Read)
	lines := bytes.Split(bytes.TrimSuffix(raw, []byte("\n")), []byte("\n"))
	require.Len(t, lines, users)
	for i, m := range members {
		var line struct {
			ID, ExternalID, EnteredAt string
			Traits                    map[string]json.RawMessage
		}
		require.NoError(t, json.Unmarshal(lines[i], &line))
		require.Equal(t, m.ID, line.ID)
		require.Equal(t, m.ExternalID, line.ExternalID)
		require.Equal(t, m.EnteredAt, line.EnteredAt)
		require.Len(t, line.Traits, len(m.Traits))
		for k, v := range m.Traits {
			require.JSONEq(t, string(v), string(line.Traits[k]))
		}
	}
}

// seedMembers creates a STATIC segment through GraphQL and makes n users,
// stored directly (awkward traits included), its members as one run.
func seedMembers(t *testing.T, dsn, base string, project projectCreated, n int) string {
	t.Helper()
	var created struct {
		Data struct {
			CreateSegment struct{ ID string }
		}
	}
	require.NoError(t, json.Unmarshal(graphqlPost(t, base, project.Keys.Admin,
		`mutation { createSegment(input: {name: "Exported", kind: STATIC}) { id } }`, nil), &created))
	segID, err := strconv.Atoi(created.Data.CreateSegment.ID)
	require.NoError(t, err)
	projectID, err := strconv.Atoi(project.Project.ID)
	require.NoError(t, err)
	db, err := database.Open(context.Background(), dsn)
	require.NoError(t, err)
	defer func() { _ = db.Close() }()
	rows, err := db.Query(`INSERT INTO users (project_id, external_id, traits, created_at, updated_at)
		SELECT $1, CASE WHEN g % 1000 = 0 THEN NULL ELSE 'user ' || g || CASE WHEN g % 7 = 0 THEN ', "seven"' ELSE '' END END,
			jsonb_build_object('plan', CASE WHEN g % 3 = 0 THEN 'pro' ELSE 'free' END, 'n', g,
				'note', 'a, "b"' || chr(10) || 'c', 'tags', jsonb_build_array('x', g)),
			now(), now()
		FROM generate_series(1, $2) g ORDER BY g RETURNING id`, projectID, n)
	require.NoError(t, err)
	ids := make([]int64, 0, n)
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	_, err = recompute.AddStaticUsers(context.Background(), db, projectID, segID, ids)
	require.NoError(t, err)
	return created.Data.CreateSegment.ID
}

// member is a member as GraphQL gives it.
type member struct {
	ID, ExternalID, EnteredAt string
	Traits                    map[string]json.RawMessage
}

// graphqlMembers pages a segment's members and their memberships' enteredAt
// from GraphQL.
func graphqlMembers(t *testing.T, base, key, seg string) []member {
	t.Helper()
	var members []member
	for after := ""; ; {
		var page struct {
			Data struct {
				Node struct {
					Members struct {
						PageInfo struct {
							HasNextPage bool
							EndCursor   string
						}
						Edges []struct {
							Node struct {
								ID         string
								ExternalID *string
								Traits     map[string]json.RawMessage
							}
						}
					}
				}
			}
		}
		vars := map[string]any{"id": seg}
		if after != "" {
			vars["after"] = after
		}
		require.NoError(t, json.Unmarshal(graphqlPost(t, base, key, `query($id: ID!, $after: Cursor) { node(id: $id) { ... on Segment {
			members(first: 1000, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id externalId traits } } } } } }`, vars), &page))
		for _, e := range page.Data.Node.Members.Edges {
			m := member{ID: e.Node.ID, Traits: e.Node.Traits}
			if e.Node.ExternalID != nil {
				m.ExternalID = *e.Node.ExternalID
			}
			members = append(members, m)
		}
		if !page.Data.Node.Members.PageInfo.HasNextPage {
			break
		}
		after = page.Data.Node.Members.PageInfo.EndCursor
	}
	entered := map[string]string{}
	for after := ""; ; {
		var page struct {
			Data struct {
				Node struct {
					Memberships struct {
						PageInfo struct {
							HasNextPage bool
							EndCursor   string
						}
						Edges []struct {
							Node struct {
								EnteredAt string
								User      struct{ ID string }
							}
						}
					}
				}
			}
		}
		vars := map[string]any{"id": seg}
		if after != "" {
			vars["after"] = after
		}
		require.NoError(t, json.Unmarshal(graphqlPost(t, base, key, `query($id: ID!, $after: Cursor) { node(id: $id) { ... on Segment {
			memberships(first: 1000, after: $after, where: {exitedAtIsNil: true}) { pageInfo { hasNextPage endCursor } edges { node { enteredAt user { id } } } } } } }`, vars), &page))
		for _, e := range page.Data.Node.Memberships.Edges {
			entered[e.Node.User.ID] = e.Node.EnteredAt
		}
		if !page.Data.Node.Memberships.PageInfo.HasNextPage {
			break
		}
		after = page.Data.Node.Memberships.PageInfo.EndCursor
	}
	for i := range members {
		members[i].EnteredAt = entered[members[i].ID]
		require.NotEmpty(t, members[i].EnteredAt, "member %s has a current membership", members[i].ID)
	}
	return members
}

// cell is a trait as a CSV cell: a string as it is, anything else as JSON.
func cell(t *testing.T, v json.RawMessage) string {
	t.Helper()
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

// download GETs an export, which must answer 200.
func download(t *testing.T, url, key string) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = res.Body.Close() }()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", raw[:min(len(raw), 1000)])
	return raw
}

// pythonRecords parses CSV with Python's csv module.
func pythonRecords(t *testing.T, raw []byte) [][]string {
	t.Helper()
	python, err := exec.LookPath("python3")
	require.NoError(t, err, "this test reads CSV with Python's csv module: apt-get install -y python3")
	file := filepath.Join(t.TempDir(), "members.csv")
	require.NoError(t, os.WriteFile(file, raw, 0o600))
	out, err := exec.Command(python, "-c", `import csv, json, sys
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    json.dump(list(csv.reader(f, strict=True)), sys.stdout)`, file).Output()
	require.NoError(t, err)
	var records [][]string
	require.NoError(t, json.Unmarshal(out, &records))
	return records
}

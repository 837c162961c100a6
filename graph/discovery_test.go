package graph_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent/user"
	"github.com/pulse-analytics/pulse/internal/discovery"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

const discoverMutation = `mutation($k: Int, $days: Int) {
  discoverSegments(k: $k, withinDays: $days, seed: 5) { id status requestedK withinDays seed jobId clusters { index } }
}`

// discoveryRunQuery asks for every field of a run (the README's query and
// suggestedSize).
const discoveryRunQuery = `query($id: ID!) { discoveryRun(id: $id) {
  status error k users silhouette kScores { k silhouette }
  clusters { index size share description suggestedRuleText suggestedRule suggestedSize precision recall
    centre { recencyDays events activeDays distinctEvents mobileShare nps npsShare } }
} }`

const fromClusterMutation = `mutation($run: ID!, $cluster: Int!, $name: String!, $kind: SegmentKind) {
  createSegmentFromCluster(runId: $run, cluster: $cluster, name: $name, kind: $kind) {
    id name kind description rule size status
    members(first: 100) { totalCount edges { node { externalId } } }
    runs(first: 5) { edges { node { trigger status } } }
  }
}`

// plantUsers gives p two groups through the real ingest path: "daily-*"
// users active on mobile every one of the last 5 days, "rare-*" users seen
// once on desktop 10 days ago.
func plantUsers(t *testing.T, p *testProject) (daily, rare []string) {
	t.Helper()
	now := time.Now().Add(-time.Hour)
	var msgs []ingest.Message
	track := func(userID, device string, at time.Time) {
		msgs = append(msgs, ingest.Message{Type: ingest.TypeTrack, UserID: userID, Event: "open", Timestamp: at,
			Context: ingest.Context{DeviceType: device}, MessageID: fmt.Sprintf("%s-%d", userID, at.UnixNano())})
	}
	for i := range 12 {
		id := fmt.Sprintf("daily-%02d", i)
		daily = append(daily, id)
		for d := range 5 {
			track(id, "mobile", now.Add(-time.Duration(d)*24*time.Hour))
		}
	}
	for i := range 6 {
		id := fmt.Sprintf("rare-%02d", i)
		rare = append(rare, id)
		track(id, "desktop", now.Add(-10*24*time.Hour))
	}
	res, err := ingest.NewWriter(pgtest.DB(t)).Write(tenant.NewContext(p.ctx, tenant.Scope{ProjectID: p.ID, Role: tenant.RoleIngest}), msgs)
	require.NoError(t, err)
	require.Empty(t, res.Rejected)
	return daily, rare
}

// discover queues a discovery of p with its ADMIN key and works its job
// here: the handler under test only inserts jobs (the discovery package
// tests the worker under River), and a working client would also run other
// tests' recompute jobs, which they expect to stay PENDING.
func discover(t *testing.T, b *testBundle, p *testProject, k *int) int {
	t.Helper()
	var out struct {
		DiscoverSegments struct {
			ID, Status string
			JobID      *int64
		}
	}
	b.query(t, p.Admin, discoverMutation, map[string]any{"k": k, "days": 14}, &out)
	require.Equal(t, "PENDING", out.DiscoverSegments.Status)
	require.NotNil(t, out.DiscoverSegments.JobID)
	runID, err := strconv.Atoi(out.DiscoverSegments.ID)
	require.NoError(t, err)
	job := &river.Job[discovery.Args]{JobRow: &rivertype.JobRow{ID: *out.DiscoverSegments.JobID},
		Args: discovery.Args{RunID: runID, ProjectID: p.ID}}
	if err := discovery.NewWorker(pgtest.DB(t)).Work(p.ctx, job); err != nil {
		// Too few users is final: River cancels the job; the run says FAILED.
		var cancelled *river.JobCancelError
		require.ErrorAs(t, err, &cancelled)
	}
	return runID
}

type discoveredRun struct {
	DiscoveryRun struct {
		Status   string
		K, Users int
		Error    *string
		KScores  []struct{ K int }
		Clusters []struct {
			Index, Size, SuggestedSize int
			Share, Precision, Recall   float64
			Description                string
			SuggestedRule              json.RawMessage
			SuggestedRuleText          string
			Centre                     struct {
				ActiveDays, MobileShare, NpsShare float64
				Nps                               *float64
			}
		}
	}
}

func TestDiscoverSegments(t *testing.T) {
	t.Parallel()
	b := setup(t)
	plantUsers(t, b.project)
	two := 2
	runID := discover(t, b, b.project, &two)

	var got discoveredRun
	b.query(t, b.project.Read, discoveryRunQuery, map[string]any{"id": gid(runID)}, &got)
	run := got.DiscoveryRun
	require.Equal(t, "COMPLETED", run.Status)
	require.Equal(t, 2, run.K)
	require.Equal(t, 18, run.Users)
	require.Nil(t, run.Error)
	require.Empty(t, run.KScores, "k was given")
	require.Len(t, run.Clusters, 2)
	daily, rare := run.Clusters[0], run.Clusters[1]
	require.Equal(t, 12, daily.Size)
	require.InDelta(t, 12.0/18, daily.Share, 1e-9)
	require.Equal(t, "active 5 of 14 days, last seen under a day ago, 5 events, 1 distinct event, 100% mobile", daily.Description)
	require.InDelta(t, 5, daily.Centre.ActiveDays, 1e-9)
	require.Equal(t, 1.0, daily.Centre.MobileShare)
	require.Nil(t, daily.Centre.Nps)
	require.Equal(t, 6, rare.Size)
	require.Contains(t, rare.Description, "active 1 of 14 days, last seen 10 days ago")
	for _, c := range run.Clusters {
		require.Equal(t, 1.0, c.Precision, "rule %s", c.SuggestedRuleText)
		require.Equal(t, 1.0, c.Recall)
		require.Equal(t, c.Size, c.SuggestedSize)
		require.NotEmpty(t, c.SuggestedRuleText)
	}

	// Without k the silhouette picks it, with every score kept.
	auto := discover(t, b, b.project, nil)
	b.query(t, b.project.Read, discoveryRunQuery, map[string]any{"id": gid(auto)}, &got)
	require.Equal(t, 2, got.DiscoveryRun.K)
	require.Len(t, got.DiscoveryRun.KScores, discovery.MaxK-discovery.MinK+1)

	var list struct {
		DiscoveryRuns struct {
			TotalCount int
			Edges      []struct{ Node struct{ ID, Status string } }
		}
	}
	b.query(t, b.project.Read, `{ discoveryRuns(first: 10, orderBy: {field: CREATED_AT, direction: DESC}) { totalCount edges { node { id status } } } }`, nil, &list)
	require.Equal(t, 2, list.DiscoveryRuns.TotalCount)
	require.Equal(t, gid(auto), list.DiscoveryRuns.Edges[0].Node.ID)
}

func TestCreateSegmentFromCluster(t *testing.T) {
	t.Parallel()
	b := setup(t)
	daily, rare := plantUsers(t, b.project)
	two := 2
	runID := discover(t, b, b.project, &two)
	var run discoveredRun
	b.query(t, b.project.Read, discoveryRunQuery, map[string]any{"id": gid(runID)}, &run)

	type segmentOut struct {
		CreateSegmentFromCluster struct {
			ID, Name, Kind, Description, Status string
			Rule                                json.RawMessage
			Size                                int
			Members                             struct {
				TotalCount int
				Edges      []struct{ Node struct{ ExternalID string } }
			}
			Runs struct {
				Edges []struct {
					Node struct{ Trigger, Status string }
				}
			}
		}
	}
	var dynamic segmentOut
	b.query(t, b.project.Admin, fromClusterMutation, map[string]any{"run": gid(runID), "cluster": 0, "name": "Daily mobile"}, &dynamic)
	seg := dynamic.CreateSegmentFromCluster
	require.Equal(t, "DYNAMIC", seg.Kind)
	require.Equal(t, "Daily mobile", seg.Name)
	require.JSONEq(t, string(run.DiscoveryRun.Clusters[0].SuggestedRule), string(seg.Rule))
	require.Equal(t, run.DiscoveryRun.Clusters[0].Description+fmt.Sprintf(" (cluster 0 of discovery run %d)", runID), seg.Description)
	require.Len(t, seg.Runs.Edges, 1, "its first computation is queued")
	require.Equal(t, "DEFINITION_CHANGE", seg.Runs.Edges[0].Node.Trigger)
	require.Equal(t, "PENDING", seg.Runs.Edges[0].Node.Status)

	var static segmentOut
	b.query(t, b.project.Admin, fromClusterMutation, map[string]any{"run": gid(runID), "cluster": 1, "name": "Rare desktop", "kind": "STATIC"}, &static)
	seg = static.CreateSegmentFromCluster
	require.Equal(t, "STATIC", seg.Kind)
	require.Equal(t, "READY", seg.Status)
	require.Equal(t, 6, seg.Size)
	require.Equal(t, 6, seg.Members.TotalCount)
	var members []string
	for _, e := range seg.Members.Edges {
		members = append(members, e.Node.ExternalID)
	}
	slices.Sort(members)
	require.Equal(t, rare, members)
	require.Equal(t, "MANUAL", seg.Runs.Edges[0].Node.Trigger)
	require.Equal(t, "COMPLETED", seg.Runs.Edges[0].Node.Status)
	require.NotContains(t, members, daily[0])

	// A run that has not finished, a cluster that does not exist.
	_, res := b.do(t, b.project.Admin, discoverMutation, map[string]any{"k": 2, "days": 14})
	require.Empty(t, res.Errors)
	var pending struct{ DiscoverSegments struct{ ID string } }
	require.NoError(t, json.Unmarshal(res.Data, &pending))
	_, res = b.do(t, b.project.Admin, fromClusterMutation, map[string]any{"run": pending.DiscoverSegments.ID, "cluster": 0, "name": "x"})
	require.Equal(t, "BAD_USER_INPUT", res.code())
	require.Equal(t, "runId", res.Errors[0].Extensions["field"])
	require.Contains(t, res.Errors[0].Message, "is PENDING")
	_, res = b.do(t, b.project.Admin, fromClusterMutation, map[string]any{"run": gid(runID), "cluster": 2, "name": "x"})
	require.Equal(t, "BAD_USER_INPUT", res.code())
	require.Equal(t, "cluster", res.Errors[0].Extensions["field"])
	require.Contains(t, res.Errors[0].Message, "run "+gid(runID)+" has clusters 0 to 1, not 2")
	_, res = b.do(t, b.project.Admin, fromClusterMutation, map[string]any{"run": gid(runID), "cluster": 0, "name": " "})
	require.Equal(t, "BAD_USER_INPUT", res.code())
	require.Equal(t, "input.name", res.Errors[0].Extensions["field"])
}

func TestDiscoveryValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		k, days any
		field   string
	}{
		{1, 14, "k"},
		{21, 14, "k"},
		{nil, 0, "withinDays"},
		{nil, 366, "withinDays"},
	}
	for _, tt := range tests {
		_, res := b.do(t, b.project.Admin, discoverMutation, map[string]any{"k": tt.k, "days": tt.days})
		require.Equal(t, "BAD_USER_INPUT", res.code(), "k %v days %v", tt.k, tt.days)
		require.Equal(t, tt.field, res.Errors[0].Extensions["field"])
	}
	n, err := b.client.DiscoveryRun.Query().Count(b.project.ctx)
	require.NoError(t, err)
	require.Zero(t, n)
}

// TestDiscoveryRolesAndTenants: ADMIN keys discover and create segments,
// READ keys read runs, INGEST keys neither; another project's runs do not
// exist for a caller, by id, in the list, or as a source of segments.
func TestDiscoveryRolesAndTenants(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := b.newProject(t, t.Name()+" B")
	plantUsers(t, other)
	two := 2
	theirs := discover(t, b, other, &two)
	mine := discover(t, b, b.project, &two) // no users: FAILED, visible as such

	for _, key := range []string{b.project.Ingest, b.project.Read} {
		_, res := b.do(t, key, discoverMutation, map[string]any{"k": 2, "days": 14})
		require.Equal(t, "FORBIDDEN", res.code())
		_, res = b.do(t, key, fromClusterMutation, map[string]any{"run": gid(mine), "cluster": 0, "name": "x"})
		require.Equal(t, "FORBIDDEN", res.code())
	}
	_, res := b.do(t, b.project.Ingest, discoveryRunQuery, map[string]any{"id": gid(mine)})
	require.Equal(t, "FORBIDDEN", res.code())

	var got discoveredRun
	b.query(t, b.project.Read, discoveryRunQuery, map[string]any{"id": gid(mine)}, &got)
	require.Equal(t, "FAILED", got.DiscoveryRun.Status)
	require.Contains(t, *got.DiscoveryRun.Error, "0 users were active in the last 14 days")
	require.Empty(t, got.DiscoveryRun.Clusters)

	for _, query := range []string{discoveryRunQuery, `query($id: ID!) { node(id: $id) { id } }`} {
		_, res = b.do(t, b.project.Admin, query, map[string]any{"id": gid(theirs)})
		require.Equal(t, "NOT_FOUND", res.code())
	}
	var list struct{ DiscoveryRuns struct{ TotalCount int } }
	b.query(t, b.project.Read, `{ discoveryRuns { totalCount } }`, nil, &list)
	require.Equal(t, 1, list.DiscoveryRuns.TotalCount)

	_, res = b.do(t, b.project.Admin, fromClusterMutation, map[string]any{"run": gid(theirs), "cluster": 0, "name": "stolen", "kind": "STATIC"})
	require.Equal(t, "NOT_FOUND", res.code())
	n, err := b.client.Segment.Query().Count(b.project.ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	// B's run is intact and B can use it.
	b.query(t, other.Admin, fromClusterMutation, map[string]any{"run": gid(theirs), "cluster": 1, "name": "rare", "kind": "STATIC"}, nil)
	users, err := b.client.User.Query().Where(user.HasSegments()).Count(other.ctx)
	require.NoError(t, err)
	require.Equal(t, 6, users)
}

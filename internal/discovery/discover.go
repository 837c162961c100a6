package discovery

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/ent/schema/schematype"
	"github.com/pulse-analytics/pulse/internal/segment"
)

// ErrTooFewUsers is returned when the window has fewer active users than
// the clustering needs; running again on the same data cannot help.
var ErrTooFewUsers = errors.New("too few active users to cluster")

// Params is what a discovery run is asked for.
type Params struct {
	ProjectID  int
	WithinDays int
	// K is the number of clusters; 0 chooses it by silhouette.
	K    int
	Seed uint64
	Now  time.Time
}

// Result is what a discovery run found.
type Result struct {
	K          int
	Users      int
	Silhouette float64
	// KScores holds the silhouette of every k tried when K was chosen.
	KScores  []schematype.DiscoveryKScore
	Clusters []schematype.DiscoveredCluster
	// Members holds the user ids of each cluster, in cluster order.
	Members [][]int
}

// Discover measures the users active in the window, clusters them and
// describes each cluster with a suggested rule. Everything, the rules'
// precision and recall included, is read in one repeatable-read snapshot, so
// users and rules are judged on the same data.
func Discover(ctx context.Context, db *sql.DB, p Params) (*Result, error) {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("begin discovery: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	// Per-user aggregates over the window spill to disk with the default
	// work_mem on large projects (as a segment recompute's do).
	if _, err := tx.ExecContext(ctx, `SET LOCAL work_mem = '128MB'`); err != nil {
		return nil, fmt.Errorf("tune discovery: %w", err)
	}
	w := window{projectID: p.ProjectID, days: p.WithinDays, now: p.Now}
	if w.location, err = projectLocation(ctx, tx, p.ProjectID); err != nil {
		return nil, err
	}
	users, err := loadFeatures(ctx, tx, w)
	if err != nil {
		return nil, err
	}
	res, err := cluster(users, p)
	if err != nil {
		return nil, err
	}
	for i := range res.Clusters {
		if err := evaluate(ctx, tx, w, &res.Clusters[i], res.Members[i]); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// cluster standardises and clusters users and describes each cluster with
// its centre and suggested rule (precision and recall come later, from the
// database).
func cluster(users []Features, p Params) (*Result, error) {
	need := max(p.K, MinK) + 1
	if len(users) < need {
		return nil, fmt.Errorf("%d users were active in the last %d days; clustering needs at least %d: %w",
			len(users), p.WithinDays, need, ErrTooFewUsers)
	}
	points := Standardise(users)
	res := &Result{K: p.K, Users: len(users)}
	if res.K == 0 {
		res.K, res.KScores = ChooseK(points, p.Seed)
	}
	c := KMeans(points, res.K, p.Seed)
	rng := rand.New(rand.NewPCG(p.Seed, 0x5851f42d4c957f2d))
	res.Silhouette = Silhouette(points, c.Labels, c.K, sampleIndexes(len(points), MaxSilhouetteSample, rng))
	byCluster := make([][]int, c.K)
	for i, l := range c.Labels {
		byCluster[l] = append(byCluster[l], i)
	}
	for index, members := range byCluster {
		// Fewer distinct users than k leaves clusters empty; they are
		// numbered last and left out.
		if len(members) == 0 {
			break
		}
		inCluster := make([]bool, len(users))
		ids := make([]int, len(members))
		for j, m := range members {
			inCluster[m] = true
			ids[j] = users[m].UserID
		}
		centre := centre(users, members)
		rule := suggest(users, inCluster, members, p.WithinDays, centre.NpsShare)
		raw, err := rule.Encode()
		if err != nil {
			return nil, err
		}
		res.Clusters = append(res.Clusters, schematype.DiscoveredCluster{
			Index: index, Size: len(members), Share: float64(len(members)) / float64(len(users)),
			Centre: centre, Description: describe(centre, p.WithinDays),
			SuggestedRule: raw, SuggestedRuleText: segment.Text(rule),
		})
		res.Members = append(res.Members, ids)
	}
	res.K = len(res.Clusters)
	return res, nil
}

// evaluate runs a cluster's suggested rule as a segment would and measures
// it against the cluster's members.
func evaluate(ctx context.Context, tx *sql.Tx, w window, c *schematype.DiscoveredCluster, members []int) error {
	rule, err := segment.Decode(c.SuggestedRule)
	if err != nil {
		return err
	}
	q, err := segment.Compile(rule, segment.Env{ProjectID: w.projectID, Now: w.now, Location: w.location})
	if err != nil {
		return fmt.Errorf("compile rule of cluster %d: %w", c.Index, err)
	}
	ids := make([]int64, len(members))
	for i, id := range members {
		ids[i] = int64(id)
	}
	var selected, hits int
	memberArg := fmt.Sprintf("$%d", len(q.Args)+1)
	err = tx.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE id = ANY(`+memberArg+`::bigint[])) FROM (`+q.SQL+`) r`,
		append(q.Args, pq.Array(ids))...).Scan(&selected, &hits)
	if err != nil {
		return fmt.Errorf("evaluate rule of cluster %d: %w", c.Index, err)
	}
	c.SuggestedSize = selected
	if selected > 0 {
		c.Precision = float64(hits) / float64(selected)
	}
	c.Recall = float64(hits) / float64(len(members))
	return nil
}

func projectLocation(ctx context.Context, tx *sql.Tx, projectID int) (*time.Location, error) {
	var name string
	if err := tx.QueryRowContext(ctx, `SELECT timezone FROM projects WHERE id = $1`, projectID).Scan(&name); err != nil {
		return nil, fmt.Errorf("load project %d: %w", projectID, err)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("project time zone %q: %w", name, err)
	}
	return loc, nil
}

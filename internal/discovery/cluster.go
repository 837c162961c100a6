package discovery

import (
	"context"
	"fmt"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/discoveryrun"
	"github.com/pulse-analytics/pulse/ent/schema/schematype"
	entsegment "github.com/pulse-analytics/pulse/ent/segment"
	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/segment"
)

// Cluster is one cluster of a completed run, ready to become a segment.
type Cluster struct {
	schematype.DiscoveredCluster
	RunID int
	// UserIDs are the cluster's users when the run ended.
	UserIDs []int64
}

// LoadCluster returns cluster index of run runID of the caller's project
// (the tenant filter of client). The run must be COMPLETED.
func LoadCluster(ctx context.Context, client *ent.Client, runID, index int) (*Cluster, error) {
	run, err := client.DiscoveryRun.Query().Where(discoveryrun.ID(runID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, &invalid.Error{Field: "runId", Message: fmt.Sprintf("discovery run %d not found", runID), Err: invalid.ErrNotFound}
	}
	if err != nil {
		return nil, fmt.Errorf("load discovery run %d: %w", runID, err)
	}
	if run.Status != discoveryrun.StatusCOMPLETED {
		return nil, invalid.Field("runId", "discovery run %d is %s; only a COMPLETED run has clusters", runID, run.Status)
	}
	if index < 0 || index >= len(run.Clusters) || index >= len(run.Members) {
		return nil, invalid.Field("cluster", "run %d has clusters 0 to %d, not %d", runID, len(run.Clusters)-1, index)
	}
	ids := make([]int64, len(run.Members[index]))
	for i, id := range run.Members[index] {
		ids[i] = int64(id)
	}
	return &Cluster{DiscoveredCluster: run.Clusters[index], RunID: runID, UserIDs: ids}, nil
}

// Definition is the segment the cluster becomes: DYNAMIC segments take the
// suggested rule, STATIC ones no rule (their members are the cluster's
// users). The description is the cluster's, with where it came from.
func (c *Cluster) Definition(name string, kind entsegment.Kind) (segment.Definition, error) {
	def := segment.Definition{
		Name:        name,
		Kind:        kind,
		Description: fmt.Sprintf("%s (cluster %d of discovery run %d)", c.Description, c.Index, c.RunID),
	}
	if kind == entsegment.KindDYNAMIC {
		rule, err := segment.Decode(c.SuggestedRule)
		if err != nil {
			return segment.Definition{}, fmt.Errorf("cluster %d of run %d: %w", c.Index, c.RunID, err)
		}
		def.Rule = rule
	}
	return def, nil
}

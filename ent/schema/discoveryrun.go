package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/pulse-analytics/pulse/ent/schema/schematype"
)

// DiscoveryRun is one segment discovery: a River job that clusters the
// project's active users by behaviour and describes each cluster with a
// suggested rule.
type DiscoveryRun struct {
	ent.Schema
}

// Mixin of the DiscoveryRun.
func (DiscoveryRun) Mixin() []ent.Mixin {
	return []ent.Mixin{TenantMixin{}, TimeMixin{}}
}

// Fields of the DiscoveryRun.
func (DiscoveryRun) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("status").Values("PENDING", "RUNNING", "COMPLETED", "FAILED").Default("PENDING").
			Annotations(entgql.OrderField("STATUS")),
		field.Int("requested_k").Optional().Nillable().Immutable().
			Comment("the number of clusters asked for; null: chosen by silhouette over 2..8"),
		field.Int("within_days").Positive().Immutable().
			Comment("the window, in days up to now, the behaviour is measured over"),
		field.Int64("seed").Immutable().
			Comment("the seed of k-means++: the same data and seed give the same clusters"),
		field.Int64("job_id").Optional().Nillable().
			Annotations(entgql.MapsTo("jobId")).
			Comment("the River job that executes the run"),
		field.Time("started_at").Optional().Nillable(),
		field.Time("finished_at").Optional().Nillable(),
		field.Text("error").Optional().Nillable(),
		field.Int("k").Optional().Nillable().
			Comment("the number of clusters found"),
		field.Int("users").Optional().Nillable().
			Comment("how many users were clustered: those active in the window"),
		field.Float("silhouette").Optional().Nillable().
			Comment("mean silhouette of the clustering (-1..1, higher is better separated), on a sample when users are many"),
		field.JSON("k_scores", []schematype.DiscoveryKScore{}).Optional().
			Annotations(entgql.Type("[DiscoveryKScore!]")).
			Comment("the silhouette of every k tried when k was chosen"),
		field.JSON("clusters", []schematype.DiscoveredCluster{}).Optional().
			Annotations(entgql.Type("[DiscoveredCluster!]")).
			Comment("the clusters, largest first"),
		field.JSON("members", [][]int{}).Optional().
			Annotations(entgql.Skip()).
			Comment("user ids of each cluster, in cluster order, for createSegmentFromCluster"),
	}
}

// Edges of the DiscoveryRun.
func (DiscoveryRun) Edges() []ent.Edge {
	return []ent.Edge{projectEdge("discovery_runs")}
}

// Indexes of the DiscoveryRun.
func (DiscoveryRun) Indexes() []ent.Index {
	return []ent.Index{index.Fields("project_id", "created_at")}
}

// Annotations of the DiscoveryRun.
func (DiscoveryRun) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField().Directives(hasRole("READ")),
		entgql.RelayConnection(),
		entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
	}
}

package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// SegmentRun is one recomputation of a segment, from the request to its
// result. Committed runs get a per-segment sequence number that live
// subscribers resume from.
type SegmentRun struct {
	ent.Schema
}

// Mixin of the SegmentRun.
func (SegmentRun) Mixin() []ent.Mixin {
	return []ent.Mixin{TenantMixin{}}
}

// Fields of the SegmentRun.
func (SegmentRun) Fields() []ent.Field {
	return []ent.Field{
		field.Int("segment_id").Immutable().Annotations(entgql.Skip(entgql.SkipType)),
		field.Enum("trigger").Values("MANUAL", "SCHEDULE", "DEFINITION_CHANGE", "INGEST", "ERASURE").Immutable().
			Comment("why the run was made: MANUAL (recomputeSegment, static member changes), SCHEDULE, DEFINITION_CHANGE, INGEST (real-time passes) or ERASURE (deleteUser took members out)"),
		field.Int64("job_id").Optional().Nillable().
			Annotations(entgql.MapsTo("jobId")).
			Comment("the River job that executes the run"),
		field.Enum("status").Values("PENDING", "RUNNING", "COMPLETED", "FAILED").Default("PENDING").
			Annotations(entgql.OrderField("STATUS")),
		field.Time("created_at").Default(time.Now).Immutable().
			Annotations(entgql.OrderField("CREATED_AT")),
		field.Time("started_at").Optional().Nillable(),
		field.Time("finished_at").Optional().Nillable(),
		field.Int("entered_count").Default(0).NonNegative(),
		field.Int("exited_count").Default(0).NonNegative(),
		field.Int("size_after").Optional().Nillable(),
		field.Int("duration_ms").Optional().Nillable(),
		field.Text("error").Optional().Nillable(),
		field.Int("drift").Optional().Nillable().
			Comment("full recomputes: how many users it moved that the incremental path had not"),
		field.Int("seq").Optional().Nillable().
			Annotations(entgql.OrderField("SEQ")).
			Comment("per-segment sequence of committed runs, set when the run commits"),
	}
}

// Edges of the SegmentRun.
func (SegmentRun) Edges() []ent.Edge {
	return []ent.Edge{
		projectEdge("segment_runs"),
		edge.From("segment", Segment.Type).Ref("runs").Field("segment_id").
			Unique().Required().Immutable(),
	}
}

// Indexes of the SegmentRun.
func (SegmentRun) Indexes() []ent.Index {
	return []ent.Index{
		// Replay for subscribers: committed runs of a segment after a seq.
		index.Fields("segment_id", "seq").Unique().
			Annotations(entsql.IndexWhere("seq IS NOT NULL")),
		// segment.runs, newest first.
		index.Fields("segment_id", "created_at"),
		// segment.runs in its default order (id), which reads only the
		// rows of a page: see nestedOrderIndex.
		nestedOrderIndex("segment_id"),
		// Runs not yet finished, few among all the runs ever made: the
		// periodic reconciler reads them all, the scheduler and follow-up
		// lookups those of one segment.
		index.Fields("segment_id").
			// PostgreSQL's own spelling of status IN ('PENDING', 'RUNNING'),
			// so the migration generator finds the index unchanged.
			Annotations(entsql.IndexWhere("((status)::text = ANY ((ARRAY['PENDING'::character varying, 'RUNNING'::character varying])::text[]))")).
			StorageKey("segmentrun_unfinished"),
	}
}

// Annotations of the SegmentRun.
func (SegmentRun) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
	}
}

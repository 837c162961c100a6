package graph_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const freshnessQuery = `query { segments(first: 10) { edges { node { name realtime freshness { mode reason } } } } }`

// TestFreshness: a new DYNAMIC segment is REALTIME with no lag; switched
// off for the segment or the project it is SCHEDULED and says why; a
// STATIC segment is SCHEDULED. Only ADMIN keys change the project.
func TestFreshness(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := b.project
	var created struct{ CreateSegment segmentOut }
	b.query(t, p.Admin, createSegment, map[string]any{"input": map[string]any{
		"name": "exporters", "rule": map[string]any{"event": map[string]any{"name": "export"}}}}, &created)
	b.query(t, p.Admin, createSegment, map[string]any{"input": map[string]any{
		"name": "scheduled", "realtime": false, "rule": map[string]any{"event": map[string]any{"name": "export"}}}}, &created)
	b.query(t, p.Admin, createSegment, map[string]any{"input": map[string]any{"name": "hand-picked", "kind": "STATIC"}}, &created)
	b.requireData(t, p.Read, freshnessQuery, nil, `{"segments":{"edges":[
		{"node":{"name":"exporters","realtime":true,"freshness":{"mode":"REALTIME","reason":null}}},
		{"node":{"name":"scheduled","realtime":false,"freshness":{"mode":"SCHEDULED","reason":"real time is off for this segment (Segment.realtime)"}}},
		{"node":{"name":"hand-picked","realtime":true,"freshness":{"mode":"SCHEDULED","reason":"a STATIC segment's members change only when they are edited"}}}]}}`)

	// Nothing computes the segments here (no worker): their definitions
	// are changes waiting, and the lag says since when.
	var lag struct {
		Segments struct {
			Edges []struct {
				Node struct{ Freshness struct{ LagSeconds float64 } }
			}
		}
	}
	b.query(t, p.Read, `query { segments(first: 1) { edges { node { freshness { lagSeconds } } } } }`, nil, &lag)
	require.Greater(t, lag.Segments.Edges[0].Node.Freshness.LagSeconds, 0.0)
	require.Less(t, lag.Segments.Edges[0].Node.Freshness.LagSeconds, 60.0)

	status, res := b.do(t, p.Read, `mutation { updateProject(input: {realtime: false}) { realtime } }`, nil)
	require.Equal(t, 200, status)
	require.Len(t, res.Errors, 1)
	require.Equal(t, "FORBIDDEN", res.Errors[0].Extensions["code"])

	b.requireData(t, p.Admin, `mutation { updateProject(input: {realtime: false}) { realtime } }`, nil, `{"updateProject":{"realtime":false}}`)
	b.requireData(t, p.Read, `query { segments(first: 1) { edges { node { freshness { mode reason } } } } }`, nil,
		`{"segments":{"edges":[{"node":{"freshness":{"mode":"SCHEDULED","reason":"real time is off for the project (Project.realtime)"}}}]}}`)
	b.requireData(t, p.Admin, `mutation { updateProject(input: {realtime: true}) { realtime } }`, nil, `{"updateProject":{"realtime":true}}`)
	b.requireData(t, p.Read, `query { segments(first: 1) { edges { node { freshness { mode } } } } }`, nil,
		`{"segments":{"edges":[{"node":{"freshness":{"mode":"REALTIME"}}}]}}`)
}

package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/event"
	"github.com/pulse-analytics/pulse/graph"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// BenchmarkReadShapes serves the query shapes of "pulse bench reads" in
// process, without HTTP clients or a floor, and reports besides the time
// the CPU time of the whole process per request (cpu-ns/op: the handler,
// the driver and the garbage collector) and its allocations: what to
// profile (-cpuprofile, -memprofile) when the benchmark's ratio moves.
// The data: 100 users with traits in a segment, the first 20 with 12
// events each.
func BenchmarkReadShapes(b *testing.B) {
	ctx := context.Background()
	db, err := database.OpenGraphQLPool(ctx, pgtest.DSN(b), 10)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	client := ent.NewClient(ent.Driver(entsql.OpenDB(dialect.Postgres, db)))
	keys := auth.NewKeys(client)
	listening, stop := context.WithCancel(ctx)
	b.Cleanup(stop)
	if err := keys.Listen(listening, auth.ListenConfig{DSN: pgtest.DSN(b)}); err != nil {
		b.Fatal(err)
	}
	project, err := auth.CreateProject(ctx, client, b.Name())
	if err != nil {
		b.Fatal(err)
	}
	segmentID, userID := seedReadShapes(b, client, tenant.ForProject(ctx, project.Project.ID))
	handler := graph.NewHandler(db, client, graph.Options{Keys: keys})

	shapes := []struct {
		name, query string
		vars        map[string]any
	}{
		{"user list", `{ users(first: 20) { edges { node { id externalId lastSeenAt } } } }`, nil},
		{"users with events", `{ users(first: 20) { edges { node { id externalId
		  events(first: 5, orderBy: {field: TIMESTAMP, direction: DESC}) { totalCount edges { node { id name timestamp } } } } } } }`, nil},
		{"segment members", `query($id: ID!) { node(id: $id) { ... on Segment {
		  members(first: 100) { totalCount edges { node { id externalId traits } } } } } }`, map[string]any{"id": fmt.Sprint(segmentID)}},
		{"segment by id", `query($id: ID!) { node(id: $id) { ... on Segment { id name size } } }`, map[string]any{"id": fmt.Sprint(segmentID)}},
		{"typename", `{ __typename }`, nil},
		{"user by id", `query($id: ID!) { node(id: $id) { ... on User { id externalId traits lastSeenAt } } }`, map[string]any{"id": fmt.Sprint(userID)}},
	}
	for _, shape := range shapes {
		body, err := json.Marshal(map[string]any{"query": shape.query, "variables": shape.vars})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(shape.name, func(b *testing.B) {
			b.ReportAllocs()
			before := processCPU(b)
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+project.Read.Secret)
				rec := httptest.NewRecorder()
				handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || bytes.Contains(rec.Body.Bytes(), []byte(`"errors"`)) {
					b.Fatal(rec.Body.String())
				}
			}
			b.ReportMetric(float64((processCPU(b)-before).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

func seedReadShapes(b *testing.B, client *ent.Client, ctx context.Context) (segmentID, userID int) {
	b.Helper()
	seg, err := client.Segment.Create().SetName("members").SetSize(100).Save(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 100 {
		u, err := client.User.Create().SetExternalID(fmt.Sprintf("user-%06d", i)).SetLastSeenAt(time.Now()).
			SetTraits(json.RawMessage(fmt.Sprintf(`{"plan": "pro", "country": "FR", "seats": %d, "email": "user%d@example.com"}`, i%40, i))).
			Save(ctx)
		if err != nil {
			b.Fatal(err)
		}
		userID = u.ID
		if err := client.SegmentMember.Create().SetSegmentID(seg.ID).SetUserID(u.ID).Exec(ctx); err != nil {
			b.Fatal(err)
		}
		for j := range 12 * min(1, max(0, 20-i)) {
			err := client.Event.Create().SetUserID(u.ID).SetName("login").SetTimestamp(time.Now().Add(-time.Duration(j) * time.Minute)).
				SetPlatform(event.PlatformDESKTOP).SetMessageID(fmt.Sprintf("m-%d-%d", i, j)).Exec(ctx)
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	return seg.ID, userID
}

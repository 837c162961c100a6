package ingest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/pgtest"
	"github.com/pulse-analytics/pulse/internal/privacy"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// BenchmarkWriteBatch writes batches of 500 track events of 100 known
// users, the writer's steady state: users from its cache, the events
// COPYed, one rollup statement.
func BenchmarkWriteBatch(b *testing.B) { benchmarkWriteBatch(b, 0) }

// BenchmarkWriteBatchSuppressing is BenchmarkWriteBatch in a project that
// suppresses 1,000 ids (none of the batch's): every message's ids are
// hashed and looked up.
func BenchmarkWriteBatchSuppressing(b *testing.B) { benchmarkWriteBatch(b, 1000) }

func benchmarkWriteBatch(b *testing.B, suppressed int) {
	db := pgtest.DB(b)
	created, err := auth.CreateProject(context.Background(), database.NewClient(db), b.Name())
	if err != nil {
		b.Fatal(err)
	}
	ctx := tenant.NewContext(context.Background(), tenant.Scope{ProjectID: created.Project.ID, Role: tenant.RoleIngest})
	if suppressed > 0 {
		ids := make([]string, suppressed)
		for i := range ids {
			ids[i] = fmt.Sprintf("objected-%d", i)
		}
		admin := tenant.ForProject(context.Background(), created.Project.ID)
		if _, err := privacy.NewEraser(db).Erase(admin, privacy.Request{ExternalIDs: ids, Suppress: true}); err != nil {
			b.Fatal(err)
		}
	}
	writer := ingest.NewWriter(db)
	batch := func(n int) []ingest.Message {
		msgs := make([]ingest.Message, 500)
		at := time.Now().Add(-time.Hour).UTC()
		for i := range msgs {
			msgs[i] = ingest.Message{Type: ingest.TypeTrack, UserID: fmt.Sprintf("user-%03d", i%100), Event: "dashboard_viewed",
				MessageID: fmt.Sprintf("bench-%d-%d", n, i), Timestamp: at.Add(time.Duration(i) * time.Millisecond),
				RawProperties: []byte(`{"plan":"team","path":"/app/reports","items":12}`)}
		}
		return msgs
	}
	if _, err := writer.Write(ctx, batch(-1)); err != nil { // users created, caches warm
		b.Fatal(err)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		res, err := writer.Write(ctx, batch(n))
		if err != nil || res.Accepted != 500 {
			b.Fatal(err, res)
		}
		n++
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(n*500), "µs/event")
}

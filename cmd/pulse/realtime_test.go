package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/pgtest"
)

// TestEventMovesSegmentWithinSeconds: two real processes ingest and work
// jobs at once. One event sent to /v1/batch, as the README's curl does,
// reaches a subscriber of the segment it moves within seconds, with no
// interval to wait for. A stream through both processes afterwards leaves
// nothing for the reconciling full recompute to fix: drift 0.
func TestEventMovesSegmentWithinSeconds(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	binary := buildPulse(t)
	project := createProject(t, dsn, "Real time")
	a := startPulse(t, binary, dsn)
	b := startPulse(t, binary, dsn)

	var created struct {
		Data struct{ CreateSegment struct{ ID string } }
	}
	require.NoError(t, json.Unmarshal(graphqlPost(t, a.base, project.Keys.Admin,
		`mutation { createSegment(input: {name: "exporters", rule: {event: {name: "export", count: {op: GTE, value: 2}}}}) { id } }`, nil), &created))
	segmentID := created.Data.CreateSegment.ID
	sub := subscribe(t, a.base, project.Keys.Read, segmentID)
	require.Contains(t, readNext(t, sub), `"seq":1`, "the first full recompute")

	// Twice: the first right after start (River elects the leader that
	// runs the sweep), then in the steady state.
	for i, user := range []string{"ann", "bob"} {
		batch(t, b.base, project.Keys.Ingest, track(user, "export", user+"-1"), track(user, "export", user+"-2"))
		sent := time.Now()
		msg := readNext(t, sub)
		elapsed := time.Since(sent)
		require.Contains(t, msg, fmt.Sprintf(`"size":%d`, i+1))
		require.Contains(t, msg, `"enteredCount":1`)
		require.Less(t, elapsed, 5*time.Second, "the event moved the segment within seconds (took %s)", elapsed)
		t.Logf("event to subscriber: %s", elapsed)
	}

	// A stream through both processes at once.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, p := range []*process{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 20 {
				var msgs []map[string]any
				for k := range 10 {
					user := fmt.Sprintf("u%d", (n*7+k*3+i)%25)
					msgs = append(msgs, track(user, []string{"export", "open"}[(n+k)%2], fmt.Sprintf("p%d-%d-%d", i, n, k)))
				}
				if err := postBatch(p.base, project.Keys.Ingest, msgs...); err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	// Once the marks are taken, a reconciling recompute moves nobody.
	deadline := time.Now().Add(30 * time.Second)
	for lag := 1.0; lag > 0; {
		require.True(t, time.Now().Before(deadline), "the segment never caught up")
		var fresh struct {
			Data struct {
				Node struct{ Freshness struct{ LagSeconds float64 } }
			}
		}
		require.NoError(t, json.Unmarshal(graphqlPost(t, a.base, project.Keys.Read,
			`query($id: ID!) { node(id: $id) { ... on Segment { freshness { lagSeconds } } } }`, map[string]any{"id": segmentID}), &fresh))
		lag = fresh.Data.Node.Freshness.LagSeconds
		time.Sleep(50 * time.Millisecond)
	}
	var queued struct {
		Data struct{ RecomputeSegment struct{ ID string } }
	}
	require.NoError(t, json.Unmarshal(graphqlPost(t, b.base, project.Keys.Admin, `mutation($id: ID!) { recomputeSegment(id: $id) { id } }`,
		map[string]any{"id": segmentID}), &queued))
	run := waitRunCompleted(t, a.base, project.Keys.Read, queued.Data.RecomputeSegment.ID)
	require.NotNil(t, run.Drift)
	require.Zero(t, *run.Drift)
	require.Zero(t, run.Entered+run.Exited)
}

func track(user, event, messageID string) map[string]any {
	return map[string]any{"type": "track", "userId": user, "event": event, "messageId": messageID,
		"timestamp": time.Now().Add(-time.Minute).Format(time.RFC3339Nano)}
}

// batch posts messages to the Segment-compatible /v1/batch with the
// ingest key as the write key.
func batch(t *testing.T, base, key string, msgs ...map[string]any) {
	t.Helper()
	require.NoError(t, postBatch(base, key, msgs...))
}

func postBatch(base, key string, msgs ...map[string]any) error {
	body, err := json.Marshal(map[string]any{"batch": msgs})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, base+"/v1/batch", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(key, "")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("batch: HTTP %d: %s", res.StatusCode, out.String())
	}
	return nil
}

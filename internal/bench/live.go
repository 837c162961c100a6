package bench

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/pulse-analytics/pulse/internal/recompute"
)

// LiveConfig is one run of the live benchmark against running servers.
type LiveConfig struct {
	// BaseURLs are the servers subscribers are spread over, round robin.
	BaseURLs []string
	ReadKey  string
	// DB commits the runs, as a worker would.
	DB          *sql.DB
	ProjectID   int
	SegmentID   int
	Subscribers int
	// Runs is how many runs are measured; each moves MovedUsers users in or
	// out of the segment, so every message carries a real delta.
	Runs       int
	MovedUsers []string
	// RSS reports the resident memory of each server process, to measure
	// what an idle subscriber costs.
	RSS func() ([]int64, error)
}

// LiveReport is what one run measured.
type LiveReport struct {
	Subscribers, Processes     int
	Delivered, Expected        int
	P50, P99, Max              time.Duration
	BytesPerIdleSubscriber     float64
	SubscribeTime, MeasureTime time.Duration
}

// Print writes the report.
func (r LiveReport) Print(w io.Writer) {
	fmt.Fprintf(w, "subscribers:           %d over %d processes (connected in %s)\n", r.Subscribers, r.Processes, r.SubscribeTime.Round(time.Millisecond))
	fmt.Fprintf(w, "delivered/expected:    %d/%d\n", r.Delivered, r.Expected)
	fmt.Fprintf(w, "p50:                   %.1f ms\n", ms(r.P50))
	fmt.Fprintf(w, "p99:                   %.1f ms\n", ms(r.P99))
	fmt.Fprintf(w, "max:                   %.1f ms\n", ms(r.Max))
	fmt.Fprintf(w, "memory/idle subscriber: %.1f KiB\n", r.BytesPerIdleSubscriber/1024)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// liveSubscription follows the segment from seq 0: nothing committed after
// it connects can be missed, however soon.
const liveSubscription = `subscription($id: ID!) { segmentMembershipChanged(segmentId: $id, afterSeq: 0) { seq enteredCount exitedCount entered { externalId } exited { externalId } } }`

// RunLive connects the subscribers, measures the memory they hold while
// idle, then commits runs one after another and records, for each run and
// subscriber, the time from just before the run's transaction to the
// message's receipt (so each figure includes the run's own commit).
func RunLive(ctx context.Context, cfg LiveConfig) (LiveReport, error) {
	report := LiveReport{Subscribers: cfg.Subscribers, Processes: len(cfg.BaseURLs), Expected: cfg.Subscribers * cfg.Runs}
	before, err := cfg.RSS()
	if err != nil {
		return report, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	started := time.Now()
	receipts := newReceipts(cfg.Subscribers, cfg.Runs+1)
	var wg sync.WaitGroup
	errs := make(chan error, cfg.Subscribers)
	conns := make([]*websocket.Conn, 0, cfg.Subscribers)
	// The receivers end when their connections are closed, at the end.
	var over atomic.Bool
	defer func() {
		over.Store(true)
		for _, conn := range conns {
			_ = conn.CloseNow()
		}
		wg.Wait()
	}()
	for i := range cfg.Subscribers {
		conn, err := dialSubscriber(ctx, cfg.BaseURLs[i%len(cfg.BaseURLs)], cfg.ReadKey, cfg.SegmentID)
		if err != nil {
			return report, fmt.Errorf("subscriber %d: %w", i, err)
		}
		conns = append(conns, conn)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- receive(conn, i, receipts, &over)
		}()
	}
	// Run 1 is the warm-up: once every subscriber has it, all are live.
	if _, err := commitRun(ctx, cfg, 0); err != nil {
		return report, err
	}
	if err := receipts.waitRun(ctx, 1); err != nil {
		return report, fmt.Errorf("warm-up run: %w", err)
	}
	report.SubscribeTime = time.Since(started)
	after, err := cfg.RSS()
	if err != nil {
		return report, err
	}
	report.BytesPerIdleSubscriber = float64(sum(after)-sum(before)) / float64(cfg.Subscribers)

	measureStart := time.Now()
	for run := 1; run <= cfg.Runs; run++ {
		committedAt, err := commitRun(ctx, cfg, run)
		if err != nil {
			return report, err
		}
		receipts.started(run+1, committedAt)
		if err := receipts.waitRun(ctx, run+1); err != nil {
			break // reported as undelivered
		}
	}
	report.MeasureTime = time.Since(measureStart)
	report.Delivered, report.P50, report.P99, report.Max = receipts.summary(2, cfg.Runs+1)
	return report, nil
}

// commitRun moves the users in (even runs) or out (odd runs) of the static
// segment as one committed run, and returns when it started.
func commitRun(ctx context.Context, cfg LiveConfig, run int) (time.Time, error) {
	start := time.Now()
	_, err := recompute.ChangeStatic(ctx, cfg.DB, cfg.ProjectID, cfg.SegmentID, cfg.MovedUsers, run%2 == 1)
	if err != nil {
		return start, fmt.Errorf("commit run %d: %w", run, err)
	}
	return start, nil
}

func dialSubscriber(ctx context.Context, base, key string, segmentID int) (*websocket.Conn, error) {
	dialCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dialCtx, "ws"+strings.TrimPrefix(base, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(16 << 20)
	if err := subscribe(dialCtx, conn, key, segmentID); err != nil {
		_ = conn.CloseNow() // the subscription failed: the error above is the one to report
		return nil, err
	}
	return conn, nil
}

// subscribe opens a graphql-transport-ws session on conn and subscribes to
// the segment's membership changes.
func subscribe(ctx context.Context, conn *websocket.Conn, key string, segmentID int) error {
	if err := wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": map[string]any{"apiKey": key}}); err != nil {
		return fmt.Errorf("connection_init: %w", err)
	}
	var ack map[string]any
	if err := wsjson.Read(ctx, conn, &ack); err != nil {
		return fmt.Errorf("connection_init: %w", err)
	}
	if ack["type"] != "connection_ack" {
		return fmt.Errorf("connection_init: answered %v", ack)
	}
	if err := wsjson.Write(ctx, conn, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": liveSubscription, "variables": map[string]any{"id": segmentID},
	}}); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	return nil
}

// receive records the receipt time of every run a subscriber gets. It
// reads only what it needs of each message (its type and seq) rather than
// decoding it: the clients share the machine with the servers they
// measure, and five thousand full decodes per run would slow the servers
// down as much as the work being measured.
// Reads have no context to watch (watching one costs each read a
// registration): they end when the connection is closed.
func receive(conn *websocket.Conn, subscriber int, r *receipts, over *atomic.Bool) error {
	for {
		_, msg, err := conn.Read(context.Background())
		if over.Load() {
			return nil //nolint:nilerr // the benchmark is over: the read was cut short on purpose
		}
		if err != nil {
			return err
		}
		if !bytes.Contains(msg, []byte(`"type":"next"`)) {
			if bytes.Contains(msg, []byte(`"type":"error"`)) {
				return fmt.Errorf("subscription error: %s", msg)
			}
			continue
		}
		seq, ok := seqOf(msg)
		if !ok {
			return fmt.Errorf("a message without a seq: %.200s", msg)
		}
		r.received(seq, subscriber, time.Now())
	}
}

// seqOf finds the number after the first "seq": in a message.
func seqOf(msg []byte) (int, bool) {
	_, rest, ok := bytes.Cut(msg, []byte(`"seq":`))
	if !ok {
		return 0, false
	}
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	seq, err := strconv.Atoi(string(rest[:end]))
	return seq, err == nil
}

// receipts are the receipt times of each seq by each subscriber.
type receipts struct {
	mu      sync.Mutex
	changed *sync.Cond
	starts  []time.Time
	at      [][]time.Time // [seq][subscriber]
	counts  []int
	n       int
}

func newReceipts(subscribers, runs int) *receipts {
	r := &receipts{starts: make([]time.Time, runs+1), at: make([][]time.Time, runs+1), counts: make([]int, runs+1), n: subscribers}
	for i := range r.at {
		r.at[i] = make([]time.Time, subscribers)
	}
	r.changed = sync.NewCond(&r.mu)
	return r
}

func (r *receipts) started(seq int, at time.Time) {
	r.mu.Lock()
	r.starts[seq] = at
	r.mu.Unlock()
}

func (r *receipts) received(seq, subscriber int, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if seq <= 0 || seq >= len(r.at) || !r.at[seq][subscriber].IsZero() {
		return
	}
	r.at[seq][subscriber] = at
	r.counts[seq]++
	if r.counts[seq] == r.n {
		r.changed.Broadcast()
	}
}

// waitRun blocks until every subscriber has seq, or 30 s pass.
func (r *receipts) waitRun(ctx context.Context, seq int) error {
	timer := time.AfterFunc(30*time.Second, func() {
		r.mu.Lock()
		r.changed.Broadcast()
		r.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(30 * time.Second)
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.counts[seq] < r.n {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("run %d reached %d of %d subscribers", seq, r.counts[seq], r.n)
		}
		r.changed.Wait()
	}
	return nil
}

func (r *receipts) summary(from, to int) (delivered int, p50, p99, max time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var latencies []time.Duration
	for seq := from; seq <= to; seq++ {
		for _, at := range r.at[seq] {
			if !at.IsZero() {
				latencies = append(latencies, at.Sub(r.starts[seq]))
			}
		}
	}
	if len(latencies) == 0 {
		return 0, 0, 0, 0
	}
	slices.Sort(latencies)
	pick := func(q float64) time.Duration { return latencies[int(q*float64(len(latencies)-1))] }
	return len(latencies), pick(0.50), pick(0.99), latencies[len(latencies)-1]
}

func sum(xs []int64) int64 {
	var s int64
	for _, x := range xs {
		s += x
	}
	return s
}

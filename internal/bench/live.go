package bench

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

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
	// ServerPIDs are the servers' processes, whose CPU time is reported.
	ServerPIDs []int
}

// LiveReport is what one run measured.
type LiveReport struct {
	Subscribers, Processes int
	Delivered, Expected    int
	// P50, P99 and Max are measured to each message's arrival in its
	// client's socket (the kernel's receive timestamp; on systems without
	// one, as read); the Read ones to the client's read of it, which also
	// waits for the clients' own turn on the machine.
	P50, P99, Max              time.Duration
	ReadP50, ReadP99, ReadMax  time.Duration
	BytesPerIdleSubscriber     float64
	SubscribeTime, MeasureTime time.Duration
	// Sent and SlowConsumers are the servers' own counts, from /metrics,
	// and ServerFanOutP99 the upper bound of the bucket of their fan-out
	// histogram that holds the 99th percentile (notification to write,
	// without the commit before it nor the client after it).
	Sent, SlowConsumers int
	ServerFanOutP99     time.Duration
	// The CPU time the servers and this process (the clients) spent over
	// the measured runs, and the machine's busy time meanwhile: what is
	// left of it is what other work took from the measurement.
	ServerCPU, ClientCPU, MachineBusy time.Duration
	// CommitP50 is the median time of a run's own transaction, which every
	// latency includes.
	CommitP50 time.Duration
	// Err is what ended the measurement early, if anything did; what was
	// not delivered is counted in Delivered.
	Err error
}

// Print writes the report, ending with a row for docs/BENCHMARKS.md's
// table.
func (r LiveReport) Print(w io.Writer) {
	fmt.Fprintf(w, "subscribers:            %d over %d processes (connected in %s)\n", r.Subscribers, r.Processes, r.SubscribeTime.Round(time.Millisecond))
	fmt.Fprintf(w, "delivered/expected:     %d/%d\n", r.Delivered, r.Expected)
	fmt.Fprintf(w, "arrival p50:            %.1f ms (of which the run's commit: %.1f ms)\n", ms(r.P50), ms(r.CommitP50))
	fmt.Fprintf(w, "arrival p99:            %.1f ms\n", ms(r.P99))
	fmt.Fprintf(w, "arrival max:            %.1f ms\n", ms(r.Max))
	fmt.Fprintf(w, "read p50/p99/max:       %.1f / %.1f / %.1f ms\n", ms(r.ReadP50), ms(r.ReadP99), ms(r.ReadMax))
	fmt.Fprintf(w, "memory/idle subscriber: %.1f KiB\n", r.BytesPerIdleSubscriber/1024)
	fmt.Fprintf(w, "servers sent:           %d messages, %d slow consumers dropped, fan-out p99 <= %.0f ms\n",
		r.Sent, r.SlowConsumers, ms(r.ServerFanOutP99))
	if messages := r.Delivered; messages > 0 {
		fmt.Fprintf(w, "CPU per message:        %.1f µs in the servers, %.1f µs in the clients\n",
			float64(r.ServerCPU.Microseconds())/float64(messages), float64(r.ClientCPU.Microseconds())/float64(messages))
	}
	if r.MeasureTime > 0 {
		fmt.Fprintf(w, "machine busy:           %.0f%% of its cores over %s (servers %.0f%%, clients %.0f%%; the rest is PostgreSQL and other work)\n",
			share(r.MachineBusy, r.MeasureTime), r.MeasureTime.Round(time.Millisecond), share(r.ServerCPU, r.MeasureTime), share(r.ClientCPU, r.MeasureTime))
	}
	if r.Err != nil {
		fmt.Fprintf(w, "ended early:            %v\n", r.Err)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| subscribers | processes | delivered | p50 | p99 | max | p99 as read | memory per idle subscriber |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- |")
	fmt.Fprintf(w, "| %d | %d | %d/%d | %.0f ms | %.0f ms | %.0f ms | %.0f ms | %.1f KiB |\n", r.Subscribers, r.Processes,
		r.Delivered, r.Expected, ms(r.P50), ms(r.P99), ms(r.Max), ms(r.ReadP99), r.BytesPerIdleSubscriber/1024)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// share is busy over wall as a percentage of the machine's cores.
func share(busy, wall time.Duration) float64 {
	return 100 * float64(busy) / float64(wall) / float64(runtime.NumCPU())
}

// liveSubscription follows the segment from seq 0: nothing committed after
// it connects can be missed, however soon.
const liveSubscription = `subscription($id: ID!) { segmentMembershipChanged(segmentId: $id, afterSeq: 0) { seq enteredCount exitedCount entered { externalId } exited { externalId } } }`

// RunLive connects the subscribers, measures the memory they hold while
// idle, then commits runs one after another and records, for each run and
// subscriber, the time from just before the run's transaction to the
// message's receipt (so each figure includes the run's own commit).
func RunLive(ctx context.Context, cfg LiveConfig) (report LiveReport, err error) {
	report = LiveReport{Subscribers: cfg.Subscribers, Processes: len(cfg.BaseURLs), Expected: cfg.Subscribers * cfg.Runs}
	before, err := cfg.RSS()
	if err != nil {
		return report, err
	}
	started := time.Now()
	receipts := newReceipts(cfg.Subscribers, cfg.Runs+1)
	subs := make([]*liveSubscriber, 0, cfg.Subscribers)
	defer func() {
		for _, s := range subs {
			// The benchmark is over: nothing to do if these fail.
			_ = s.conn.Close()
			if s.file != nil {
				_ = s.file.Close()
			}
		}
	}()
	for i := range cfg.Subscribers {
		s, err := dialLiveSubscriber(ctx, cfg.BaseURLs[i%len(cfg.BaseURLs)], cfg.ReadKey, cfg.SegmentID, i)
		if err != nil {
			return report, fmt.Errorf("subscriber %d: %w", i, err)
		}
		subs = append(subs, s)
	}
	reader, err := newSocketReader(subs)
	if err != nil {
		return report, err
	}
	go reader.run(receipts)
	defer func() {
		if readErr := reader.Close(); readErr != nil && report.Err == nil {
			report.Err = readErr
		}
	}()
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
	serverCPU, clientCPU := cpuOf(cfg.ServerPIDs), cpuOf([]int{os.Getpid()})
	machine, _ := machineBusy()
	commits := make([]time.Duration, 0, cfg.Runs)
	for run := 1; run <= cfg.Runs; run++ {
		committedAt, err := commitRun(ctx, cfg, run)
		if err != nil {
			return report, err
		}
		commits = append(commits, time.Since(committedAt))
		receipts.started(run+1, committedAt)
		if err := receipts.waitRun(ctx, run+1); err != nil {
			report.Err = err
			break // the rest is reported as undelivered
		}
	}
	report.MeasureTime = time.Since(measureStart)
	slices.Sort(commits)
	report.CommitP50 = commits[len(commits)/2]
	report.ServerCPU, report.ClientCPU = cpuOf(cfg.ServerPIDs)-serverCPU, cpuOf([]int{os.Getpid()})-clientCPU
	if busy, ok := machineBusy(); ok {
		report.MachineBusy = busy - machine
	}
	report.Delivered, report.P50, report.P99, report.Max = receipts.summary(2, cfg.Runs+1, false)
	_, report.ReadP50, report.ReadP99, report.ReadMax = receipts.summary(2, cfg.Runs+1, true)
	buckets := map[float64]float64{}
	for _, base := range cfg.BaseURLs {
		samples, err := scrapeMetrics(ctx, base+"/metrics")
		if err != nil {
			return report, err
		}
		report.Sent += int(samples["pulse_live_messages_sent_total"])
		report.SlowConsumers += int(samples["pulse_live_slow_consumers_total"])
		for name, v := range samples {
			if le, ok := strings.CutPrefix(name, `pulse_live_fanout_seconds_bucket{le="`); ok {
				if bound, err := strconv.ParseFloat(strings.TrimSuffix(le, `"}`), 64); err == nil {
					buckets[bound] += v
				}
			}
		}
	}
	report.ServerFanOutP99 = histogramQuantile(buckets, 0.99)
	return report, nil
}

// histogramQuantile is the upper bound of the Prometheus histogram bucket
// (cumulative counts by upper bound) that holds quantile q.
func histogramQuantile(buckets map[float64]float64, q float64) time.Duration {
	bounds := slices.Sorted(maps.Keys(buckets))
	if len(bounds) == 0 {
		return 0
	}
	total := buckets[bounds[len(bounds)-1]]
	for _, bound := range bounds {
		if buckets[bound] >= q*total {
			return time.Duration(bound * float64(time.Second))
		}
	}
	return 0
}

// scrapeMetrics reads a /metrics page into its samples, by name with
// labels.
func scrapeMetrics(ctx context.Context, url string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer res.Body.Close()
	samples := map[string]float64{}
	scanner := bufio.NewScanner(res.Body)
	for scanner.Scan() {
		line := scanner.Text()
		i := strings.LastIndexByte(line, ' ')
		if strings.HasPrefix(line, "#") || i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			samples[line[:i]] = v
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	return samples, nil
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

// receipts are the receipt times of each seq by each subscriber.
type receipts struct {
	mu      sync.Mutex
	changed *sync.Cond
	starts  []time.Time
	// at is when each message arrived in its subscriber's socket (the
	// kernel's receive timestamp, where there is one), read when the
	// client read it; [seq][subscriber].
	at, read [][]time.Time
	counts   []int
	n        int
	err      error
}

func newReceipts(subscribers, runs int) *receipts {
	r := &receipts{starts: make([]time.Time, runs+1), at: make([][]time.Time, runs+1), read: make([][]time.Time, runs+1),
		counts: make([]int, runs+1), n: subscribers}
	for i := range r.at {
		r.at[i], r.read[i] = make([]time.Time, subscribers), make([]time.Time, subscribers)
	}
	r.changed = sync.NewCond(&r.mu)
	return r
}

// fail stops the waiting: a subscriber will receive nothing more.
func (r *receipts) fail(err error) {
	r.mu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.changed.Broadcast()
	r.mu.Unlock()
}

func (r *receipts) started(seq int, at time.Time) {
	r.mu.Lock()
	r.starts[seq] = at
	r.mu.Unlock()
}

func (r *receipts) received(seq, subscriber int, arrived, read time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if seq <= 0 || seq >= len(r.at) || !r.at[seq][subscriber].IsZero() {
		return
	}
	r.at[seq][subscriber], r.read[seq][subscriber] = arrived, read
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
		if r.err != nil {
			return r.err
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("run %d reached %d of %d subscribers", seq, r.counts[seq], r.n)
		}
		r.changed.Wait()
	}
	return nil
}

// summary is the latencies of seqs from..to, by arrival or (read) by
// the client's read.
func (r *receipts) summary(from, to int, read bool) (delivered int, p50, p99, max time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	times := r.at
	if read {
		times = r.read
	}
	var latencies []time.Duration
	for seq := from; seq <= to; seq++ {
		for _, at := range times[seq] {
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

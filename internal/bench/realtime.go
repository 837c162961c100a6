package bench

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/lib/pq"

	"github.com/pulse-analytics/pulse/internal/database"
	"github.com/pulse-analytics/pulse/internal/recompute"
)

// RealtimeConfig is one run of the real-time benchmark, against a Pulse
// server (with its workers) at BaseURL over DB.
type RealtimeConfig struct {
	BaseURL                      string
	IngestKey, ReadKey, AdminKey string
	DB                           *sql.DB
	ProjectID                    int
	// Users and Events are the dataset loaded first (60 days).
	Users, Events int
	// Rate is the offered rate of events per second, Duration how long.
	Rate     int
	Duration time.Duration
}

// RealtimeReport is what the real-time benchmark measured.
type RealtimeReport struct {
	Segments int
	// Offered and Accepted events, in Duration; Failed requests (an error
	// or no answer within 30 s) are counted, not retried.
	Offered, Accepted, Failed int
	Duration                  time.Duration
	// Delays are, for each membership change caused by the stream, the
	// time from the HTTP 200 of the batch that caused it to its message on
	// a subscriber.
	Delays []time.Duration
	// Passes and PassBusy are the incremental jobs of the stream: how many
	// and how long they ran in all.
	Passes   int
	PassBusy time.Duration
	// JobsCPU is the CPU time PostgreSQL spent on the connections of the
	// jobs' pool during the stream (the passes, the sweeps and River's own
	// statements: no full recompute is due then), MachineBusy the whole
	// machine's busy time over the same interval, Cores its cores.
	JobsCPU, MachineBusy time.Duration
	Cores                int
	// Drift is the total drift of a full recompute of every segment at the
	// end.
	Drift int
	// Incremental is a pass over IncrementalUsers dirty users, Full a full
	// recompute of the same segment.
	Incremental, Full time.Duration
	IncrementalUsers  int
}

// Percentile is the p-th percentile (0-100) of the delays.
func (r RealtimeReport) Percentile(p float64) time.Duration {
	if len(r.Delays) == 0 {
		return 0
	}
	d := slices.Clone(r.Delays)
	slices.Sort(d)
	i := int(float64(len(d)-1) * p / 100)
	return d[i]
}

// Print writes the report; the last line is "p99 X ms".
func (r RealtimeReport) Print(w io.Writer) {
	fmt.Fprintf(w, "segments: %d\n", r.Segments)
	fmt.Fprintf(w, "events/s: %.0f offered, %.0f accepted (%d events in %s; %d requests failed)\n",
		float64(r.Offered)/r.Duration.Seconds(), float64(r.Accepted)/r.Duration.Seconds(), r.Accepted, r.Duration.Round(time.Millisecond), r.Failed)
	fmt.Fprintf(w, "membership changes: %d; delay from the batch's 200 to the subscriber: p50 %.0f ms, p99 %.0f ms, max %.0f ms\n",
		len(r.Delays), ms(r.Percentile(50)), ms(r.Percentile(99)), ms(r.Percentile(100)))
	fmt.Fprintf(w, "incremental passes: %d, running %.1f s in all (%.0f%% of the stream's time on one worker)\n",
		r.Passes, r.PassBusy.Seconds(), 100*r.PassBusy.Seconds()/r.Duration.Seconds())
	if r.MachineBusy > 0 && r.Cores > 0 {
		fmt.Fprintf(w, "CPU of the incremental jobs: %.1f s in PostgreSQL, %.0f%% of the machine's busy time, %.0f%% of its %d cores\n",
			r.JobsCPU.Seconds(), 100*r.JobsCPU.Seconds()/r.MachineBusy.Seconds(),
			100*r.JobsCPU.Seconds()/(r.Duration.Seconds()*float64(r.Cores)), r.Cores)
	}
	fmt.Fprintf(w, "drift of the full recompute of every segment: %d\n", r.Drift)
	fmt.Fprintf(w, "incremental ratio: %.3f (a pass over %d dirty users %s, a full recompute %s)\n",
		r.Incremental.Seconds()/r.Full.Seconds(), r.IncrementalUsers, r.Incremental.Round(time.Millisecond), r.Full.Round(time.Millisecond))
	fmt.Fprintf(w, "p99 %.0f ms\n", ms(r.Percentile(99)))
}

// realtimeRules are the benchmark's segments: the templates' kinds and
// event counts, did-not, activity, platform, trait, feedback and nested
// rules.
var realtimeRules = []string{
	benchRule, // the incremental ratio's segment: bench segments' mixed rule
	`{"event":{"name":"report_exported","count":{"op":"GTE","value":3},"withinDays":30}}`,
	`{"event":{"name":"chart_created","count":{"op":"GTE","value":2},"withinDays":7}}`,
	`{"event":{"name":"invite_sent","withinDays":14}}`,
	`{"event":{"name":"search_performed","count":{"op":"GTE","value":5}}}`,
	`{"not":{"event":{"name":"dashboard_viewed","withinDays":3}}}`,
	`{"not":{"event":{"name":"task_completed","withinDays":7}}}`,
	`{"activity":{"activeDays":{"op":"GTE","value":5},"withinDays":14}}`,
	`{"activity":{"activeDays":{"op":"LTE","value":1},"withinDays":28}}`,
	`{"platform":{"platform":"MOBILE","minShare":0.6,"withinDays":28}}`,
	`{"platform":{"platform":"DESKTOP","minShare":0.8,"withinDays":14}}`,
	`{"lastSeen":{"withinDays":1}}`,
	`{"lastSeen":{"moreThanDaysAgo":14}}`,
	`{"firstSeen":{"withinDays":7}}`,
	`{"trait":{"key":"plan","op":"EQ","value":"pro"}}`,
	`{"and":[{"trait":{"key":"plan","op":"IN","values":["pro","team"]}},{"event":{"name":"file_uploaded","withinDays":30}}]}`,
	`{"feedback":{"npsCategory":"DETRACTOR","withinDays":90}}`,
	`{"feedback":{"count":{"op":"GTE","value":2}}}`,
}

// RunRealtime creates the segments, subscribes to every change of the
// project, offers the stream at cfg.Rate for cfg.Duration and measures each
// membership change's delay, then the drift of a full recompute of every
// segment and an incremental pass against a full recompute.
func RunRealtime(ctx context.Context, cfg RealtimeConfig, progress io.Writer) (RealtimeReport, error) {
	var rep RealtimeReport
	fmt.Fprintf(progress, "loading %d events for %d users...\n", cfg.Events, cfg.Users)
	if err := load(ctx, SegmentsConfig{DB: cfg.DB, ProjectID: cfg.ProjectID, Users: cfg.Users, Events: cfg.Events}); err != nil {
		return rep, err
	}
	// A project's tables in their steady state: autovacuum has set the
	// visibility map of old rows, which passes read through index-only
	// scans; a bulk load has not yet.
	if _, err := cfg.DB.ExecContext(ctx, `VACUUM ANALYZE events, users, user_daily_activities`); err != nil {
		return rep, fmt.Errorf("vacuum the dataset: %w", err)
	}
	fmt.Fprintln(progress, "creating the segments and their first full recomputes...")
	ids, err := createRealtimeSegments(ctx, cfg)
	if err != nil {
		return rep, err
	}
	rep.Segments = len(ids)
	if err := waitComputed(ctx, cfg.DB, ids); err != nil {
		return rep, err
	}
	conn, err := subscribeAll(ctx, cfg)
	if err != nil {
		return rep, err
	}
	defer func() { _ = conn.CloseNow() }()
	changes := make(chan change, 1<<16)
	readCtx, stopReading := context.WithCancel(ctx)
	readDone := make(chan error, 1)
	go func() { readDone <- readChanges(readCtx, conn, changes) }()

	fmt.Fprintf(progress, "streaming %d events/s for %s...\n", cfg.Rate, cfg.Duration)
	jobsBefore, err := jobsBackendsCPU(ctx, cfg.DB)
	if err != nil {
		stopReading()
		return rep, err
	}
	busyBefore, _ := machineBusy()
	started := time.Now()
	acks, offered, accepted, failed, err := stream(ctx, cfg)
	if err != nil {
		stopReading()
		return rep, err
	}
	rep.Duration, rep.Offered, rep.Accepted, rep.Failed = time.Since(started), offered, accepted, failed
	jobsAfter, err := jobsBackendsCPU(ctx, cfg.DB)
	if err != nil {
		stopReading()
		return rep, err
	}
	if busyAfter, ok := machineBusy(); ok {
		rep.MachineBusy, rep.Cores = busyAfter-busyBefore, runtime.NumCPU()
	}
	for pid, cpu := range jobsAfter {
		rep.JobsCPU += cpu - jobsBefore[pid] // a connection opened meanwhile counts whole
	}
	// Let the last passes land before measuring.
	if err := waitClean(ctx, cfg.DB, ids, 30*time.Second); err != nil {
		stopReading()
		return rep, err
	}
	time.Sleep(2 * time.Second)
	stopReading()
	if err := <-readDone; err != nil {
		return rep, err
	}
	close(changes)
	rep.Delays = delays(acks, changes)
	var busyMS float64
	if err := cfg.DB.QueryRowContext(ctx, `SELECT count(*), COALESCE(sum(extract(epoch FROM finalized_at - attempted_at)) * 1000, 0) FROM river_job
		WHERE kind = 'segment_pass' AND attempted_at >= $1 AND finalized_at IS NOT NULL`, started).Scan(&rep.Passes, &busyMS); err != nil {
		return rep, fmt.Errorf("passes: %w", err)
	}
	rep.PassBusy = time.Duration(busyMS * float64(time.Millisecond))

	fmt.Fprintln(progress, "full recompute of every segment...")
	if rep.Drift, err = reconcileAll(ctx, cfg, ids); err != nil {
		return rep, err
	}
	fmt.Fprintln(progress, "an incremental pass against a full recompute...")
	rep.IncrementalUsers = 1000
	rep.Incremental, rep.Full, err = incrementalVersusFull(ctx, cfg, ids[0], rep.IncrementalUsers)
	return rep, err
}

func createRealtimeSegments(ctx context.Context, cfg RealtimeConfig) ([]int, error) {
	var ids []int
	for i, rule := range realtimeRules {
		id, err := createSegmentGraphQL(ctx, cfg, fmt.Sprintf("realtime %d", i), rule)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	// Nested: members of two others.
	nested, err := createSegmentGraphQL(ctx, cfg, "nested", fmt.Sprintf(`{"and":[{"inSegment":%d},{"inSegment":%d}]}`, ids[1], ids[7]))
	if err != nil {
		return nil, err
	}
	notNested, err := createSegmentGraphQL(ctx, cfg, "nested not", fmt.Sprintf(`{"and":[{"inSegment":%d},{"not":{"inSegment":%d}}]}`, ids[14], ids[11]))
	if err != nil {
		return nil, err
	}
	return append(ids, nested, notNested), nil
}

func createSegmentGraphQL(ctx context.Context, cfg RealtimeConfig, name, rule string) (int, error) {
	var out struct {
		Data struct {
			CreateSegment struct {
				ID string `json:"id"`
			} `json:"createSegment"`
		} `json:"data"`
		Errors json.RawMessage `json:"errors"`
	}
	err := graphqlCall(ctx, cfg.BaseURL, cfg.AdminKey, `mutation($name: String!, $rule: RuleInput!) { createSegment(input: {name: $name, rule: $rule}) { id } }`,
		map[string]any{"name": name, "rule": json.RawMessage(rule)}, &out)
	if err != nil {
		return 0, err
	}
	if len(out.Errors) > 0 {
		return 0, fmt.Errorf("create segment %q: %s", name, out.Errors)
	}
	var id int
	if _, err := fmt.Sscan(out.Data.CreateSegment.ID, &id); err != nil {
		return 0, fmt.Errorf("segment id %q: %w", out.Data.CreateSegment.ID, err)
	}
	return id, nil
}

func graphqlCall(ctx context.Context, base, key, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/graphql", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("graphql: HTTP %d: %s", res.StatusCode, b)
	}
	return json.NewDecoder(res.Body).Decode(out)
}

// waitComputed waits until every segment has a completed full recompute.
func waitComputed(ctx context.Context, db *sql.DB, ids []int) error {
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		var pending int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM segments WHERE id = ANY($1::bigint[]) AND last_computed_at IS NULL`, pq.Array(ids)).Scan(&pending); err != nil {
			return err
		}
		if pending == 0 {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the segments' first recomputes did not finish")
}

// waitClean waits until no segment has marks left.
func waitClean(ctx context.Context, db *sql.DB, ids []int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		var marks int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM segment_dirty_users WHERE segment_id = ANY($1::bigint[])`, pq.Array(ids)).Scan(&marks); err != nil {
			return err
		}
		if marks == 0 {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("passes did not catch up within %s", limit)
}

const realtimeSubscription = `subscription { segmentsChanged { segment { id } run { startedAt } entered { externalId } exited { externalId } } }`

func subscribeAll(ctx context.Context, cfg RealtimeConfig) (*websocket.Conn, error) {
	dialCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dialCtx, "ws"+strings.TrimPrefix(cfg.BaseURL, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(64 << 20)
	if err := wsjson.Write(dialCtx, conn, map[string]any{"type": "connection_init", "payload": map[string]any{"apiKey": cfg.ReadKey}}); err != nil {
		return nil, err
	}
	var ack map[string]any
	if err := wsjson.Read(dialCtx, conn, &ack); err != nil {
		return nil, fmt.Errorf("connection_init: %w", err)
	}
	if ack["type"] != "connection_ack" {
		return nil, fmt.Errorf("connection_init: answered %v", ack)
	}
	if err := wsjson.Write(dialCtx, conn, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": realtimeSubscription}}); err != nil {
		return nil, err
	}
	return conn, nil
}

// change is one user entering or leaving a segment, as a subscriber saw it
// (at), with the start of the run that moved it (the instant its data was
// read).
type change struct {
	segment, user string
	at, read      time.Time
}

func readChanges(ctx context.Context, conn *websocket.Conn, out chan<- change) error {
	for {
		var msg struct {
			Type    string `json:"type"`
			Payload struct {
				Data struct {
					Change struct {
						Segment struct{ ID string }
						Run     struct{ StartedAt time.Time }
						Entered []struct{ ExternalID *string }
						Exited  []struct{ ExternalID *string }
					} `json:"segmentsChanged"`
				} `json:"data"`
			} `json:"payload"`
		}
		err := wsjson.Read(ctx, conn, &msg)
		if ctx.Err() != nil {
			return nil //nolint:nilerr // the measurement is over: the read was cut short on purpose
		}
		if err != nil {
			return err
		}
		if msg.Type != "next" {
			continue
		}
		now := time.Now()
		c := msg.Payload.Data.Change
		for _, u := range append(c.Entered, c.Exited...) {
			if u.ExternalID != nil {
				out <- change{segment: c.Segment.ID, user: *u.ExternalID, at: now, read: c.Run.StartedAt}
			}
		}
	}
}

// ack is a batch the server accepted: when its 200 came and whose it was.
type ack struct {
	at    time.Time
	users []string
}

// stream offers cfg.Rate events per second for cfg.Duration in batches
// every 100 ms (each on its own request, so a slow answer does not lower
// the offered rate), with identify calls and feedback mixed in, and returns
// the acknowledged batches. A request that fails is counted and left: the
// offered rate stays what it is.
func stream(ctx context.Context, cfg RealtimeConfig) (acks []ack, offered, accepted, failed int, err error) {
	const tick = 100 * time.Millisecond
	perTick := max(1, cfg.Rate/10)
	r := rand.New(rand.NewPCG(7, 11))
	// A pool of users near the thresholds: seeded users, some active, some
	// new; a few thousand so that segments move.
	pool := make([]string, 0, 5000)
	for i := range 4000 {
		pool = append(pool, fmt.Sprintf("user-%06d", (i*7919)%cfg.Users))
	}
	for i := range 1000 {
		pool = append(pool, fmt.Sprintf("stream-new-%04d", i))
	}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	client := &http.Client{Timeout: 30 * time.Second}
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	end := time.Now().Add(cfg.Duration)
	for n := 0; time.Now().Before(end); n++ {
		msgs := make([]map[string]any, 0, perTick+2)
		users := make([]string, 0, perTick)
		for i := range perTick {
			user := pool[r.IntN(len(pool))]
			users = append(users, user)
			msgs = append(msgs, map[string]any{"type": "track", "userId": user, "event": features[r.IntN(len(features))],
				"messageId": fmt.Sprintf("rt-%d-%d", n, i), "timestamp": time.Now().UTC().Format(time.RFC3339Nano),
				"context": map[string]any{"device": map[string]any{"type": []string{"mobile", "desktop", "mobile", "tablet"}[r.IntN(4)]}}})
		}
		offered += perTick
		user := pool[r.IntN(len(pool))]
		users = append(users, user)
		msgs = append(msgs, map[string]any{"type": "identify", "userId": user, "messageId": fmt.Sprintf("rt-id-%d", n),
			"traits": map[string]any{"plan": []string{"free", "pro", "team"}[r.IntN(3)]}})
		body, _ := json.Marshal(map[string]any{"batch": msgs})
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := postBatch(ctx, client, cfg, body)
			at := time.Now()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				return
			}
			acks = append(acks, ack{at: at, users: users})
			accepted += perTick
		}()
		if n%10 == 0 {
			feedbackUser, score := pool[r.IntN(len(pool))], r.IntN(11)
			wg.Add(1)
			go func() {
				defer wg.Done()
				var out map[string]any
				err := graphqlCall(ctx, cfg.BaseURL, cfg.IngestKey, `mutation($u: String!, $s: Int!) { submitFeedback(input: {userId: $u, npsScore: $s}) { id } }`,
					map[string]any{"u": feedbackUser, "s": score}, &out)
				at := time.Now()
				mu.Lock()
				defer mu.Unlock()
				if err != nil || out["errors"] != nil {
					failed++
					return
				}
				acks = append(acks, ack{at: at, users: []string{feedbackUser}})
			}()
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil, 0, 0, 0, ctx.Err()
		case <-ticker.C:
		}
	}
	wg.Wait()
	slices.SortFunc(acks, func(a, b ack) int { return a.at.Compare(b.at) })
	return acks, offered, accepted, failed, nil
}

func postBatch(ctx context.Context, client *http.Client, cfg RealtimeConfig, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.BaseURL+"/v1/batch", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(cfg.IngestKey, "")
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("batch: HTTP %d: %s", res.StatusCode, b)
	}
	_, err = io.Copy(io.Discard, res.Body)
	return err
}

// delays attributes each change to the batch that caused it: the last
// acknowledged batch naming the user before the run that moved it read
// the data (a batch acknowledged later committed too late for that run).
// Two batches of one user read by one run count from the later: the
// delay measures the path from the data to the subscriber, not how long a
// user took to cross a threshold. Changes of users the stream never named
// before the run (a window passing) are not the stream's and are left out.
func delays(acks []ack, changes <-chan change) []time.Duration {
	byUser := map[string][]time.Time{}
	for _, a := range acks {
		for _, u := range a.users {
			byUser[u] = append(byUser[u], a.at)
		}
	}
	var out []time.Duration
	for c := range changes {
		times := byUser[c.user]
		i, _ := slices.BinarySearchFunc(times, c.read, func(at, read time.Time) int { return at.Compare(read) })
		if i == 0 {
			continue
		}
		out = append(out, c.at.Sub(times[i-1]))
	}
	return out
}

// reconcileAll recomputes every segment fully and returns the sum of their
// drifts.
func reconcileAll(ctx context.Context, cfg RealtimeConfig, ids []int) (int, error) {
	var out struct {
		Data struct {
			Runs []struct{ ID string } `json:"recomputeAllSegments"`
		} `json:"data"`
		Errors json.RawMessage `json:"errors"`
	}
	if err := graphqlCall(ctx, cfg.BaseURL, cfg.AdminKey, `mutation { recomputeAllSegments { id } }`, nil, &out); err != nil {
		return 0, err
	}
	if len(out.Errors) > 0 {
		return 0, fmt.Errorf("recompute all: %s", out.Errors)
	}
	runIDs := make([]string, len(out.Data.Runs))
	for i, r := range out.Data.Runs {
		runIDs[i] = r.ID
	}
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		var unfinished, drift int
		if err := cfg.DB.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE status <> 'COMPLETED'), COALESCE(sum(drift), 0) FROM segment_runs
			WHERE id::text = ANY($1::text[])`, pq.Array(runIDs)).Scan(&unfinished, &drift); err != nil {
			return 0, err
		}
		if unfinished == 0 {
			return drift, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return 0, fmt.Errorf("the full recomputes did not finish")
}

// incrementalVersusFull marks n users of the project dirty for the segment,
// chosen at random (the same ones each time: the workload's users are
// skewed by id, the heaviest first), and times the pass that re-evaluates
// them, then a full recompute of the segment; the fastest of three each.
func incrementalVersusFull(ctx context.Context, cfg RealtimeConfig, segmentID, n int) (incremental, full time.Duration, err error) {
	worker := recompute.NewWorker(cfg.DB)
	for range 3 {
		if _, err := cfg.DB.ExecContext(ctx, `
			INSERT INTO segment_dirty_users (project_id, segment_id, user_id, marked_at)
			SELECT $1, $2, id, now() FROM users WHERE project_id = $1 ORDER BY md5(id::text) LIMIT $3
			ON CONFLICT DO NOTHING`, cfg.ProjectID, segmentID, n); err != nil {
			return 0, 0, fmt.Errorf("mark users: %w", err)
		}
		start := time.Now()
		if err := recompute.RunPass(ctx, cfg.DB, recompute.PassArgs{SegmentID: segmentID, ProjectID: cfg.ProjectID}, time.Now()); err != nil {
			return 0, 0, err
		}
		incremental = fastest(incremental, time.Since(start))
		d, err := recomputeOnce(ctx, cfg.DB, worker, cfg.ProjectID, segmentID)
		if err != nil {
			return 0, 0, err
		}
		full = fastest(full, d)
	}
	return incremental, full, nil
}

// jobsBackendsCPU is the CPU time of each PostgreSQL backend serving the
// jobs' pool of the server (by its application name), by pid. PostgreSQL
// runs on the benchmark's machine, so its backends' /proc entries are
// readable.
func jobsBackendsCPU(ctx context.Context, db *sql.DB) (map[int]time.Duration, error) {
	rows, err := db.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`,
		database.JobsApplicationName)
	if err != nil {
		return nil, fmt.Errorf("find the jobs' connections: %w", err)
	}
	defer func() { _ = rows.Close() }()
	cpu := map[int]time.Duration{}
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			return nil, fmt.Errorf("find the jobs' connections: %w", err)
		}
		if d, ok := processCPU(pid); ok {
			cpu[pid] = d
		}
	}
	return cpu, rows.Err()
}

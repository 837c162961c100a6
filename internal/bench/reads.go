package bench

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"time"
)

// ReadsConfig is one run of the read benchmark.
type ReadsConfig struct {
	// Pool is the pool the floor reads through: Pulse's GraphQL pool.
	Pool *sql.DB
	Data ReadsData
	// GraphQLURL is Pulse's /graphql; ReadKey a READ key of the project.
	GraphQLURL string
	ReadKey    string
	// Clients is how many HTTP clients send requests concurrently, each
	// waiting for its previous response.
	Clients int
	// Duration is how long each side of each query is measured per round.
	Duration time.Duration
	// Rounds is how many times each side of each query is measured; the
	// best rate of each is kept.
	Rounds int
}

// ReadsReport is what the read benchmark measured: each query through
// Pulse and through its floor, in the same run.
type ReadsReport struct {
	Clients int
	Queries []ReadTiming
}

// ReadTiming is one query's best round on each side.
type ReadTiming struct {
	Name         string  `json:"name"`
	PulseRate    float64 `json:"pulseRequestsPerSecond"`
	PulseP99     float64 `json:"pulseP99Ms"`
	FloorRate    float64 `json:"floorRequestsPerSecond"`
	FloorP99     float64 `json:"floorP99Ms"`
	Ratio        float64 `json:"ratio"`
	pulse, floor loadResult
}

// Ratio is the worst query's ratio (Pulse ÷ floor).
func (r ReadsReport) Ratio() float64 {
	if len(r.Queries) == 0 {
		return 0
	}
	return r.Queries[len(r.Queries)-1].Ratio
}

// Print writes each query's rate and p99 on both sides and its ratio, the
// worst last, then "ratio: X".
func (r ReadsReport) Print(w io.Writer) {
	fmt.Fprintf(w, "%d concurrent clients\n", r.Clients)
	fmt.Fprintf(w, "%-50s %12s %9s %12s %9s %6s\n", "query", "Pulse req/s", "p99", "floor req/s", "p99", "ratio")
	for _, q := range r.Queries {
		fmt.Fprintf(w, "%-50s %12.0f %9s %12.0f %9s %6.2f\n", q.Name,
			q.PulseRate, q.pulse.P99.Round(10*time.Microsecond), q.FloorRate, q.floor.P99.Round(10*time.Microsecond), q.Ratio)
	}
	fmt.Fprintf(w, "ratio: %.2f\n", r.Ratio())
}

// PrintJSON writes the report as JSON, for scripts.
func (r ReadsReport) PrintJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Clients int          `json:"clients"`
		Queries []ReadTiming `json:"queries"`
		Ratio   float64      `json:"ratio"`
	}{r.Clients, r.Queries, r.Ratio()})
}

// SeedReads writes the dataset of the read benchmark into the project and
// returns what its queries ask for.
func SeedReads(ctx context.Context, db *sql.DB, projectID, users, events int) (ReadsData, error) {
	d := ReadsData{ProjectID: projectID}
	var err error
	if d.SegmentID, err = seedReads(ctx, db, projectID, users, events); err != nil {
		return d, err
	}
	rows, err := db.QueryContext(ctx, `SELECT id FROM users WHERE project_id = $1 ORDER BY id`, projectID)
	if err != nil {
		return d, fmt.Errorf("read user ids: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return d, fmt.Errorf("read user ids: %w", err)
		}
		d.UserIDs = append(d.UserIDs, id)
	}
	return d, rows.Err()
}

// RunReads serves the floor on a loopback port, checks that Pulse and the
// floor answer each query with the same data, then measures each query on
// both sides cfg.Rounds times, alternately, keeping the best round of each.
func RunReads(ctx context.Context, cfg ReadsConfig, progress io.Writer) (ReadsReport, error) {
	queries := readQueries(cfg.Data)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return ReadsReport{}, fmt.Errorf("listen: %w", err)
	}
	floorServer := &http.Server{Handler: floorHandler(cfg.Pool, queries), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = floorServer.Serve(ln) }()
	defer func() { _ = floorServer.Close() }()
	floorURL := "http://" + ln.Addr().String()

	httpClient := &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: cfg.Clients, DisableCompression: true,
	}}
	defer httpClient.CloseIdleConnections()
	sides := make([][2]requestFunc, len(queries))
	for i, q := range queries {
		sides[i] = [2]requestFunc{graphqlRequest(cfg, q), floorRequest(floorURL, i, q)}
		if err := sameData(httpClient, sides[i]); err != nil {
			return ReadsReport{}, fmt.Errorf("%s: %w", q.name, err)
		}
	}
	rep := ReadsReport{Clients: cfg.Clients, Queries: make([]ReadTiming, len(queries))}
	for round := 1; round <= cfg.Rounds; round++ {
		fmt.Fprintf(progress, "round %d of %d...\n", round, cfg.Rounds)
		for i, q := range queries {
			t := &rep.Queries[i]
			t.Name = q.name
			// Each round starts with the other side, so that neither is
			// always measured on a cache the other warmed.
			for k := range 2 {
				side := (k + round) % 2
				res, err := drive(ctx, httpClient, cfg.Clients, cfg.Duration, sides[i][side])
				if err != nil {
					return rep, fmt.Errorf("%s: %w", q.name, err)
				}
				best := &t.pulse
				if side == 1 {
					best = &t.floor
				}
				if res.Rate() > best.Rate() {
					*best = res
				}
			}
		}
	}
	stats := cfg.Pool.Stats()
	fmt.Fprintf(progress, "GraphQL pool: %d of %d connections open, %d closed past the idle limit, %d waits (%s)\n",
		stats.OpenConnections, stats.MaxOpenConnections, stats.MaxIdleClosed, stats.WaitCount, stats.WaitDuration.Round(time.Millisecond))
	for i := range rep.Queries {
		t := &rep.Queries[i]
		t.PulseRate, t.FloorRate = t.pulse.Rate(), t.floor.Rate()
		t.PulseP99, t.FloorP99 = milliseconds(t.pulse.P99), milliseconds(t.floor.P99)
		t.Ratio = t.PulseRate / t.FloorRate
	}
	slices.SortStableFunc(rep.Queries, func(a, b ReadTiming) int { return cmp.Compare(b.Ratio, a.Ratio) })
	return rep, nil
}

func graphqlRequest(cfg ReadsConfig, q readQuery) requestFunc {
	return func(r *rand.Rand) (*http.Request, error) {
		vars := map[string]any{}
		if id := q.param(r); id != 0 {
			vars["id"] = strconv.Itoa(id)
		}
		body, err := json.Marshal(map[string]any{"query": q.document, "variables": vars})
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequest(http.MethodPost, cfg.GraphQLURL, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+cfg.ReadKey)
		return req, nil
	}
}

func floorRequest(baseURL string, index int, q readQuery) requestFunc {
	return func(r *rand.Rand) (*http.Request, error) {
		return http.NewRequest(http.MethodGet, fmt.Sprintf("%s/%d?id=%d", baseURL, index, q.param(r)), nil)
	}
}

// sameData fails unless both sides answer the same request (the first of
// a client's random source) with the same data.
func sameData(httpClient *http.Client, sides [2]requestFunc) error {
	var answers [2]any
	for i, newRequest := range sides {
		req, err := newRequest(rand.New(rand.NewPCG(0, 0x5eed)))
		if err != nil {
			return err
		}
		var body bytes.Buffer
		if err := roundTrip(httpClient, req, &body); err != nil {
			return err
		}
		if err := json.Unmarshal(body.Bytes(), &answers[i]); err != nil {
			return fmt.Errorf("decode %.200s: %w", body.Bytes(), err)
		}
	}
	if !reflect.DeepEqual(answers[0], answers[1]) {
		pulse, _ := json.Marshal(answers[0])
		floor, _ := json.Marshal(answers[1])
		return errors.New("Pulse and the floor answer differently:\n  Pulse: " + truncate(pulse) + "\n  floor: " + truncate(floor))
	}
	return nil
}

func truncate(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

func milliseconds(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"
)

// loadResult is what one side of a query measured in one round.
type loadResult struct {
	Requests int
	Elapsed  time.Duration
	// Latencies are every request's, sorted.
	Latencies []time.Duration
}

// Rate is the requests completed per second.
func (r loadResult) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// requestFunc builds one request from the client's random source.
type requestFunc func(*rand.Rand) (*http.Request, error)

// errResponse is a request answered with anything but 200 and data.
var errResponse = errors.New("unexpected response")

// drive sends requests from clients concurrent loops, each waiting for
// its previous response, for d, and returns the rate and the latencies.
// Every response is read whole and must be a 200 without GraphQL errors.
func drive(ctx context.Context, httpClient *http.Client, clients int, d time.Duration, newRequest requestFunc) (loadResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	latencies := make([][]time.Duration, clients)
	errs := make([]error, clients)
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			random := rand.New(rand.NewPCG(uint64(c), 0x5eed))
			var body bytes.Buffer
			for time.Now().Before(deadline) {
				req, err := newRequest(random)
				if err != nil {
					errs[c] = err
					cancel()
					return
				}
				sent := time.Now()
				if err := roundTrip(httpClient, req.WithContext(ctx), &body); err != nil {
					if ctx.Err() == nil {
						errs[c] = err
						cancel()
					}
					return
				}
				latencies[c] = append(latencies[c], time.Since(sent))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return loadResult{}, err
	}
	all := slices.Concat(latencies...)
	if len(all) == 0 {
		return loadResult{}, fmt.Errorf("no request completed in %s", d)
	}
	slices.Sort(all)
	return loadResult{Requests: len(all), Elapsed: elapsed, Latencies: all}, nil
}

// roundTrip sends req and reads the whole response into body.
func roundTrip(httpClient *http.Client, req *http.Request, body *bytes.Buffer) error {
	res, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body.Reset()
	if _, err := io.Copy(body, res.Body); err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK || bytes.Contains(body.Bytes(), []byte(`"errors"`)) {
		return fmt.Errorf("%w: %s: %.300s", errResponse, res.Status, body.Bytes())
	}
	return nil
}

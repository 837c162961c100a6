package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/pulse-analytics/pulse/internal/webhook"
)

// hookReceiver is the benchmark's webhook receiver: a local HTTP server
// that verifies each request's Standard Webhooks signature, as a receiver
// must, before answering 204, and records when it answered.
type hookReceiver struct {
	srv    *http.Server
	url    string
	done   chan error
	mu     sync.Mutex
	secret string
	got    []delivery
	bad    int
}

// delivery is one request the receiver accepted.
type delivery struct {
	webhookID string
	at        time.Time // when its 2xx was written
	body      hookBody
}

// hookBody is the part of a message's body the benchmark reads.
type hookBody struct {
	Type string `json:"type"`
	Data struct {
		Segment struct {
			ID string `json:"id"`
		} `json:"segment"`
		Run struct {
			ID string `json:"id"`
		} `json:"run"`
		Users []struct {
			ID         string  `json:"id"`
			ExternalID *string `json:"externalId"`
		} `json:"users"`
	} `json:"data"`
}

func startHookReceiver() (*hookReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("receiver: %w", err)
	}
	rc := &hookReceiver{url: "http://" + ln.Addr().String() + "/hooks", done: make(chan error, 1)}
	rc.srv = &http.Server{Handler: http.HandlerFunc(rc.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { rc.done <- rc.srv.Serve(ln) }()
	return rc, nil
}

func (rc *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	rc.mu.Lock()
	secret := rc.secret
	rc.mu.Unlock()
	var parsed hookBody
	if err == nil {
		err = webhook.Verify(secret, r.Header, body, time.Now(), webhook.DefaultTolerance)
	}
	if err == nil {
		err = json.Unmarshal(body, &parsed)
	}
	if err != nil {
		rc.mu.Lock()
		rc.bad++
		rc.mu.Unlock()
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
	at := time.Now()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.got = append(rc.got, delivery{webhookID: r.Header.Get(webhook.HeaderID), at: at, body: parsed})
}

// setSecret gives the receiver the endpoint's secret, once it exists.
func (rc *hookReceiver) setSecret(secret string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.secret = secret
}

func (rc *hookReceiver) deliveries() (got []delivery, bad int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.got...), rc.bad
}

func (rc *hookReceiver) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := rc.srv.Shutdown(ctx)
	if serveErr := <-rc.done; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return err
}

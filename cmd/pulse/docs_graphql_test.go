package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/doctest"
)

// graphqlResponse is what /graphql answers.
type graphqlResponse struct {
	Data   any `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

var subscriptionOp = regexp.MustCompile(`^\s*(#[^\n]*\n\s*)*subscription\b`)

// runGraphQLBlock sends a GraphQL block with its role's key and checks the
// response: no errors (or the one it is marked with), the response it
// shows, the condition it waits for; then keeps what it captures.
func runGraphQLBlock(t *testing.T, sh *docShell, b doctest.Block) {
	t.Helper()
	spec, err := doctest.ParseGraphQLSpec(b.Info)
	require.NoError(t, err)
	keyVar := "PULSE_" + strings.ToUpper(spec.Role) + "_KEY"
	key, ok := sh.lookup(keyVar)
	require.True(t, ok && key != "", "%s: %s is not set by an earlier block", b.Where(), keyVar)
	vars, err := spec.Variables(sh.lookup)
	require.NoError(t, err, b.Where())

	var res graphqlResponse
	var raw []byte
	attempt := func() error {
		if subscriptionOp.MatchString(b.Body) {
			raw, err = firstSubscriptionMessage(sh, b.Body, vars, key)
		} else {
			raw, err = postGraphQL(sh.host, key, b.Body, vars)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", b.Where(), err)
		}
		return checkGraphQL(b, spec, raw, &res)
	}
	if spec.Until != nil {
		require.NoError(t, waitFor(docDeadline, attempt))
	} else {
		require.NoError(t, attempt())
	}
	for name, path := range spec.Set {
		v, err := doctest.Lookup(res.Data, path)
		require.NoError(t, err, "%s: set:%s", b.Where(), name)
		sh.set(t, name, doctest.Scalar(v))
	}
}

// checkGraphQL decodes raw into res and checks it against the block.
func checkGraphQL(b doctest.Block, spec doctest.GraphQLSpec, raw []byte, res *graphqlResponse) error {
	*res = graphqlResponse{}
	if err := json.Unmarshal(raw, res); err != nil {
		return fmt.Errorf("%s: the response is not JSON: %w: %s", b.Where(), err, raw)
	}
	switch {
	case spec.Error != "":
		if len(res.Errors) == 0 || res.Errors[0].Extensions["code"] != spec.Error {
			return fmt.Errorf("%s: want an error with code %s, got %s", b.Where(), spec.Error, raw)
		}
	case len(res.Errors) > 0:
		return fmt.Errorf("%s: GraphQL errors: %s", b.Where(), raw)
	}
	if spec.Until != nil {
		v, err := doctest.Lookup(res.Data, spec.Until.Path)
		if err != nil {
			return fmt.Errorf("%s: until: %w", b.Where(), err)
		}
		if got := doctest.Scalar(v); got != spec.Until.Value {
			return fmt.Errorf("%s: waiting for %s = %s, got %s", b.Where(), spec.Until.Path, spec.Until.Value, got)
		}
	}
	if b.Expect != "" {
		if err := doctest.MatchJSON(b.Expect, string(raw)); err != nil {
			return fmt.Errorf("%s: the response is not the one shown: %w\ngot: %s", b.Where(), err, raw)
		}
	}
	return nil
}

// postGraphQL sends one operation; any HTTP status but 200 is an error.
func postGraphQL(host, key, query string, vars map[string]any) ([]byte, error) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	req, err := http.NewRequest(http.MethodPost, "http://"+host+"/graphql", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("POST /graphql: %w", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("read the response: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d: %s", res.StatusCode, raw)
	}
	return raw, nil
}

// firstSubscriptionMessage subscribes over graphql-transport-ws and returns
// the first payload. A subscription that is not replaying history waits
// for a run: while none arrives, every segment is recomputed with the
// session's ADMIN key.
func firstSubscriptionMessage(sh *docShell, query string, vars map[string]any, key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), docDeadline)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+sh.host+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	defer conn.CloseNow()
	if err := wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + key}}); err != nil {
		return nil, fmt.Errorf("connection_init: %w", err)
	}
	var ack struct{ Type string }
	if err := wsjson.Read(ctx, conn, &ack); err != nil {
		return nil, fmt.Errorf("read connection_ack: %w", err)
	}
	if ack.Type != "connection_ack" {
		return nil, fmt.Errorf("no connection_ack: got %q", ack.Type)
	}
	if err := wsjson.Write(ctx, conn, map[string]any{"id": "1", "type": "subscribe",
		"payload": map[string]any{"query": query, "variables": vars}}); err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	msgs := make(chan json.RawMessage)
	go readSocket(ctx, conn, msgs)
	admin, _ := sh.lookup("PULSE_ADMIN_KEY")
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case raw, ok := <-msgs:
			if !ok {
				return nil, errors.New("the socket closed before a message")
			}
			var m struct {
				Type    string
				Payload json.RawMessage
			}
			if err := json.Unmarshal(raw, &m); err != nil {
				return nil, fmt.Errorf("decode %s: %w", raw, err)
			}
			switch m.Type {
			case "next":
				return m.Payload, nil
			case "error":
				return nil, fmt.Errorf("subscription refused: %s", m.Payload)
			}
		case <-tick.C:
			if _, err := postGraphQL(sh.host, admin, `mutation { recomputeAllSegments { id } }`, nil); err != nil {
				return nil, fmt.Errorf("trigger a run: %w", err)
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("no message: %w", ctx.Err())
		}
	}
}

// readSocket forwards the socket's messages until it fails.
func readSocket(ctx context.Context, conn *websocket.Conn, out chan<- json.RawMessage) {
	defer close(out)
	for {
		var raw json.RawMessage
		if err := wsjson.Read(ctx, conn, &raw); err != nil {
			return
		}
		select {
		case out <- raw:
		case <-ctx.Done():
			return
		}
	}
}

package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/pulse-analytics/pulse/internal/live"
)

// socketOperation is one operation a client started on a connection, by
// its id.
type socketOperation struct {
	conn *socketConn
	id   string
	head []byte

	once   sync.Once
	cancel context.CancelFunc
	// sub and group are a live subscription's; set by attach.
	sub   *live.Subscription
	group *renderGroup
	// resume is the seq of the last run message written (at first, the
	// afterSeq the subscription asked for): where the client resumes if the
	// connection is cut. Guarded by conn.mu, like closed and completed.
	resume    int
	closed    bool
	completed bool
}

// start begins the operation id. Its setup (parsing, validation, the
// resolver of a subscription) runs in a goroutine of its own, which ends
// there for a live subscription: the hub drives it from then on.
func (c *socketConn) start(id string, payload json.RawMessage) {
	if id == "" {
		c.refuse(closeBadRequest, "a "+c.proto.subscribe+" message needs an id")
		return
	}
	c.mu.Lock()
	if _, dup := c.ops[id]; dup || c.ended {
		c.mu.Unlock()
		if dup {
			c.refuse(closeDuplicateID, "Subscriber for "+id+" already exists")
		}
		return
	}
	ctx, cancel := context.WithCancel(c.ctx)
	op := &socketOperation{conn: c, id: id, head: operationHead(id), cancel: cancel}
	c.ops[id] = op
	c.mu.Unlock()
	started := graphql.Now()
	go op.run(ctx, started, payload)
}

// stop is the client stopping the operation id.
func (c *socketConn) stop(id string) {
	c.mu.Lock()
	op := c.ops[id]
	c.mu.Unlock()
	if op != nil {
		op.close()
		op.complete()
	}
}

func (op *socketOperation) run(ctx context.Context, started time.Time, payload json.RawMessage) {
	defer func() {
		if r := recover(); r != nil {
			op.conn.t.logger.Error("graphql: panic in a WebSocket operation", "panic", fmt.Sprint(r))
			op.sendErrors(gqlerror.List{{Message: "internal error", Extensions: map[string]any{"code": CodeInternal}}})
			op.close()
			op.complete()
		}
	}()
	exec := op.conn.exec
	params := &graphql.RawParams{}
	if err := decodeJSON(payload, params); err != nil {
		op.sendErrors(gqlerror.List{{Message: "invalid json"}})
		op.close()
		op.complete()
		return
	}
	params.ReadTime = graphql.TraceTiming{Start: started, End: graphql.Now()}
	ctx = graphql.StartOperationTrace(ctx)
	oc, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, oc), errs)
		if errcode.GetErrorKind(errs) == errcode.KindProtocol {
			op.sendErrors(resp.Errors)
		} else {
			op.sendResponse(ctx, &graphql.Response{Errors: errs})
		}
		op.close()
		op.complete()
		return
	}
	ctx = graphql.WithOperationContext(ctx, oc)
	if oc.Operation.Operation == ast.Subscription {
		ctx = context.WithValue(ctx, socketOperationKey{}, op)
	}
	responses, ctx := exec.DispatchOperation(ctx, oc)
	if op.live() {
		return
	}
	for {
		resp := responses(ctx)
		if resp == nil {
			break
		}
		op.sendResponse(ctx, resp)
	}
	op.close()
	op.complete()
}

type socketOperationKey struct{}

// socketOperationFrom is the WebSocket operation a subscription resolver
// runs for; nil on other transports.
func socketOperationFrom(ctx context.Context) *socketOperation {
	op, _ := ctx.Value(socketOperationKey{}).(*socketOperation)
	return op
}

// attach makes op a live subscription: sub delivers to it from now on.
// When the client stopped it meanwhile, sub is closed instead.
func (op *socketOperation) attach(sub *live.Subscription, group *renderGroup, resume int) {
	c := op.conn
	c.mu.Lock()
	if op.closed {
		c.mu.Unlock()
		sub.Close()
		group.release()
		return
	}
	op.sub, op.group = sub, group
	op.resume = max(op.resume, resume)
	// Nothing else needs the operation's context: it is released now
	// rather than held as long as the subscription.
	cancel := op.cancel
	op.cancel = func() {}
	c.mu.Unlock()
	cancel()
}

func (op *socketOperation) live() bool {
	op.conn.mu.Lock()
	defer op.conn.mu.Unlock()
	return op.sub != nil
}

// close stops the operation: its context, its live subscription. Never
// called from a sink's Offer or Send (closing waits for a replay in flight,
// which may be the caller); from End it is fine: the hub has let go of the
// subscription by then.
func (op *socketOperation) close() {
	op.once.Do(func() {
		c := op.conn
		c.mu.Lock()
		op.closed = true
		sub, group, cancel := op.sub, op.group, op.cancel
		c.mu.Unlock()
		cancel()
		if sub != nil {
			sub.Close()
			group.release()
		}
	})
}

// complete sends the operation's complete message, once, and forgets it.
func (op *socketOperation) complete() {
	c := op.conn
	c.mu.Lock()
	if op.completed {
		c.mu.Unlock()
		return
	}
	op.completed = true
	if c.ops[op.id] == op {
		delete(c.ops, op.id)
	}
	c.mu.Unlock()
	_ = c.enqueue(outbound{op: op, typ: "complete"}, false)
}

// forget drops the operation without a complete message (it ended with an
// error message).
func (op *socketOperation) forget() {
	c := op.conn
	c.mu.Lock()
	op.completed = true
	if c.ops[op.id] == op {
		delete(c.ops, op.id)
	}
	c.mu.Unlock()
}

// sendResponse queues one result, waiting while the queue is full: an
// operation that is not live is paced by its client.
func (op *socketOperation) sendResponse(ctx context.Context, resp *graphql.Response) {
	payload, err := json.Marshal(resp)
	if err != nil {
		payload = []byte(`{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}`)
	}
	_ = op.conn.enqueueWait(ctx, outbound{op: op, typ: op.conn.proto.data, payload: payload})
}

// sendErrors queues an error message: the operation ends with it.
func (op *socketOperation) sendErrors(errs gqlerror.List) {
	_ = op.conn.enqueue(op.errorMessage(errs), false)
}

func (op *socketOperation) errorMessage(errs gqlerror.List) outbound {
	payload, err := json.Marshal(errs)
	if err != nil {
		payload = []byte(`[{"message":"internal error"}]`)
	}
	return outbound{op: op, typ: "error", payload: payload}
}

// ended is the hub ending a live subscription: complete after a run's
// final state; otherwise an error message and, for a slow consumer, the
// connection closed with 1008 and where to resume (its queue is what
// backed up, and it is dropped with it).
func (op *socketOperation) ended(err error) {
	if err == nil {
		op.close()
		op.complete()
		return
	}
	code, msg := CodeInternal, "live updates ended"
	var slow *live.SlowConsumerError
	switch {
	case errors.As(err, &slow):
		c := op.conn
		c.mu.Lock()
		resume := op.resume
		c.mu.Unlock()
		if len(slow.AfterSeq) == 1 {
			for seg := range slow.AfterSeq {
				slow = &live.SlowConsumerError{Buffer: slow.Buffer, AfterSeq: map[int]int{seg: resume}}
			}
		}
		code, msg = CodeSlowConsumer, slow.Error()
		last := op.errorMessage(gqlerror.List{{Message: msg, Extensions: map[string]any{"code": code}}})
		op.close()
		op.forget()
		c.closeWith(closePolicyViolation, msg, &last)
		return
	case errors.Is(err, live.ErrClosed):
		msg = err.Error()
	default:
		op.conn.t.logger.Error("live: subscription ended", "err", err)
	}
	op.sendErrors(gqlerror.List{{Message: msg, Extensions: map[string]any{"code": code}}})
	op.close()
	op.forget()
}

// socketSink is a live subscription's sink on a WebSocket connection: each
// item is rendered (once per distinct operation) and queued.
type socketSink[T any] struct {
	op    *socketOperation
	group *renderGroup
}

var _ live.Sink[*live.Change] = (*socketSink[*live.Change])(nil)

func (s *socketSink[T]) message(item T) outbound {
	r := s.group.render(s.op.conn.ctx, item)
	m := outbound{op: s.op, typ: s.op.conn.proto.data, payload: r.payload}
	switch v := any(item).(type) {
	case *live.Change:
		m.seq, m.announced = v.Seq, v.Announced
	case *live.RunState:
		m.announced = v.Announced
	}
	return m
}

// Offer implements live.Sink. A closing connection takes (and drops)
// everything: its subscriptions are being closed.
func (s *socketSink[T]) Offer(item T) bool {
	return !errors.Is(s.op.conn.enqueue(s.message(item), true), errQueueFull)
}

// Send implements live.Sink.
func (s *socketSink[T]) Send(ctx context.Context, item T) error {
	return s.op.conn.enqueueWait(ctx, s.message(item))
}

// End implements live.Sink.
func (s *socketSink[T]) End(err error) { s.op.ended(err) }

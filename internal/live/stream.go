package live

import (
	"context"
	"errors"
)

// SubscribeSegment streams the committed runs of one segment of the project
// in seq order. With afterSeq, the runs committed after it are replayed
// from the database first; the stream then continues live, and a run seen
// both ways is delivered once. The caller has checked that the segment
// belongs to the project.
func (h *Hub) SubscribeSegment(ctx context.Context, projectID, segmentID int, afterSeq *int, onEnd OnEnd) (*Stream[*Change], error) {
	return h.subscribeChanges(ctx, projectID, segmentID, afterSeq, onEnd)
}

// SubscribeProject streams the committed runs of every segment of the
// project, each segment's in seq order.
func (h *Hub) SubscribeProject(ctx context.Context, projectID int, onEnd OnEnd) (*Stream[*Change], error) {
	return h.subscribeChanges(ctx, projectID, 0, nil, onEnd)
}

func (h *Hub) subscribeChanges(ctx context.Context, projectID, segmentID int, afterSeq *int, onEnd OnEnd) (*Stream[*Change], error) {
	sub := &changeSub{dropper: newDropper(), projectID: projectID, segmentID: segmentID, inbox: make(chan *Change, h.cfg.Buffer)}
	if err := h.addChange(ctx, sub); err != nil {
		return nil, err
	}
	out := make(chan *Change)
	stream := &Stream[*Change]{C: out}
	p := &changePump{hub: h, sub: sub, out: out, last: map[int]int{}}
	if afterSeq != nil {
		p.last[segmentID] = *afterSeq
	}
	go func() {
		defer close(out)
		defer h.removeChange(sub)
		stream.end(p.run(ctx), onEnd)
	}()
	return stream, nil
}

// changePump moves one subscriber's changes from its inbox to its stream:
// replay first, then live, deduplicated by seq, with gaps filled from the
// database.
type changePump struct {
	hub  *Hub
	sub  *changeSub
	out  chan<- *Change
	last map[int]int // segment → last seq delivered
}

func (p *changePump) run(ctx context.Context) error {
	if after, ok := p.last[p.sub.segmentID]; ok && p.sub.segmentID != 0 {
		if err := p.catchUp(ctx, p.sub.segmentID, after, 0); err != nil {
			return p.ended(ctx, err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-p.sub.kicked:
			return p.ended(ctx, p.sub.reason)
		case c := <-p.sub.inbox:
			if err := p.deliver(ctx, c); err != nil {
				return p.ended(ctx, err)
			}
		}
	}
}

// deliver sends c unless it was delivered already; when runs are missing
// between the last one delivered and c, they are loaded first.
func (p *changePump) deliver(ctx context.Context, c *Change) error {
	last, known := p.last[c.Segment.ID]
	if known && c.Seq <= last {
		return nil
	}
	if known && c.Seq > last+1 {
		if err := p.catchUp(ctx, c.Segment.ID, last, c.Seq-1); err != nil {
			return err
		}
	}
	return p.send(ctx, c)
}

// catchUp delivers the committed runs of a segment after seq after (up to
// upto, or all when 0) from the database, page by page.
func (p *changePump) catchUp(ctx context.Context, segmentID, after, upto int) error {
	for {
		changes, err := p.hub.load.changes(ctx, p.sub.projectID, segmentID, after, upto)
		if err != nil {
			return err
		}
		for _, c := range changes {
			if err := p.send(ctx, c); err != nil {
				return err
			}
			after = c.Seq
		}
		if len(changes) < replayPage {
			return nil
		}
	}
}

func (p *changePump) send(ctx context.Context, c *Change) error {
	select {
	case p.out <- c:
		p.last[c.Segment.ID] = c.Seq
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-p.sub.kicked:
		return p.sub.reason
	}
}

// ended turns why the pump stopped into the stream's error: nothing when
// the subscriber went away, where to resume when it was too slow.
func (p *changePump) ended(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil //nolint:nilerr // the subscriber went away: not an error of the stream
	}
	if errors.Is(err, ErrSlowConsumer) {
		return &SlowConsumerError{Buffer: p.hub.cfg.Buffer, AfterSeq: p.last}
	}
	return err
}

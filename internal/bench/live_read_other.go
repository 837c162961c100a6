//go:build !linux

package bench

import (
	"errors"
	"net"
	"sync"
	"time"
)

// socketReader reads each subscriber's socket from a goroutine of its own
// (Linux has a cheaper one, with epoll).
type socketReader struct {
	subs []*liveSubscriber
	wg   sync.WaitGroup
	mu   sync.Mutex
	err  error
	over chan struct{}
	once sync.Once
}

func newSocketReader(subs []*liveSubscriber) (*socketReader, error) {
	return &socketReader{subs: subs, over: make(chan struct{})}, nil
}

func (r *socketReader) run(rec *receipts) {
	for _, s := range r.subs {
		r.wg.Go(func() {
			buf := make([]byte, 64<<10)
			now := time.Now()
			err := s.received(nil, now, now, rec)
			for err == nil {
				var n int
				n, err = s.conn.Read(buf)
				if n > 0 {
					now := time.Now()
					err = errors.Join(err, s.received(buf[:n], now, now, rec))
				}
			}
			select {
			case <-r.over:
				return // closed at the end
			default:
			}
			if !errors.Is(err, net.ErrClosed) {
				r.mu.Lock()
				r.err = errors.Join(r.err, err)
				r.mu.Unlock()
				rec.fail(err)
			}
		})
	}
}

// Close stops run and returns its first error.
func (r *socketReader) Close() error {
	r.once.Do(func() {
		close(r.over)
		for _, s := range r.subs {
			_ = s.conn.Close()
		}
		r.wg.Wait()
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

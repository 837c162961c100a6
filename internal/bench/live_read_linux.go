//go:build linux

package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"
)

// socketReader reads every subscriber's socket from one goroutine, woken by
// epoll for the sockets that have data: five thousand clients cost one
// goroutine and one read per message, not five thousand goroutines each
// woken and reading twice (the second read finding nothing).
type socketReader struct {
	epfd int
	subs map[int32]*liveSubscriber
	stop chan struct{}
	done chan struct{}
	err  error
	once sync.Once
}

func newSocketReader(subs []*liveSubscriber) (*socketReader, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	r := &socketReader{epfd: epfd, subs: make(map[int32]*liveSubscriber, len(subs)), stop: make(chan struct{}), done: make(chan struct{})}
	for _, s := range subs {
		fd, err := socketFD(s)
		if err != nil {
			_ = syscall.Close(epfd)
			return nil, err
		}
		if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, fd, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}); err != nil {
			_ = syscall.Close(epfd)
			return nil, fmt.Errorf("epoll: %w", err)
		}
		r.subs[int32(fd)] = s
	}
	return r, nil
}

// socketFD takes the descriptor from under the subscriber's connection
// (a duplicate, non-blocking, the connection itself closed): the runtime's
// own poller then no longer hears about it each time a message arrives.
func socketFD(s *liveSubscriber) (int, error) {
	tcp, ok := s.conn.(*net.TCPConn)
	if !ok {
		return 0, errors.New("not a TCP connection")
	}
	f, err := tcp.File()
	if err != nil {
		return 0, err
	}
	if err := tcp.Close(); err != nil {
		_ = f.Close()
		return 0, err
	}
	fd := int(f.Fd())
	if err := syscall.SetNonblock(fd, true); err != nil {
		_ = f.Close()
		return 0, err
	}
	// The kernel stamps what arrives: latency is measured to the socket,
	// not to when this one goroutine got round to reading it.
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1); err != nil {
		_ = f.Close()
		return 0, fmt.Errorf("receive timestamps: %w", err)
	}
	s.file = f
	return fd, nil
}

// arrival is the receive timestamp among a read's control messages, or
// fallback.
func arrival(oob []byte, fallback time.Time) time.Time {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return fallback
	}
	for _, m := range msgs {
		if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SO_TIMESTAMPNS && len(m.Data) >= 16 {
			sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
			return time.Unix(sec, nsec)
		}
	}
	return fallback
}

// run reads until Close, recording receipts; an error (an error message,
// a closed connection) ends it and is given to rec, which stops waiting.
func (r *socketReader) run(rec *receipts) {
	defer close(r.done)
	if err := r.read(rec); err != nil {
		r.err = err
		rec.fail(err)
	}
}

func (r *socketReader) read(rec *receipts) error {
	events := make([]syscall.EpollEvent, 512)
	buf := make([]byte, 256<<10)
	oob := make([]byte, 128)
	// What a subscriber received before epoll watched it.
	for _, s := range r.subs {
		now := time.Now()
		if err := s.received(nil, now, now, rec); err != nil {
			return err
		}
	}
	for {
		select {
		case <-r.stop:
			return nil
		default:
		}
		n, err := syscall.EpollWait(r.epfd, events, 100)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("epoll: %w", err)
		}
		for _, ev := range events[:n] {
			s := r.subs[ev.Fd]
			k, oobn, _, _, err := syscall.Recvmsg(int(ev.Fd), buf, oob, 0)
			if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR) {
				continue
			}
			if err == nil && k == 0 {
				err = fmt.Errorf("subscriber %d: the server closed the connection", s.index)
			}
			if err == nil {
				read := time.Now()
				err = s.received(buf[:k], arrival(oob[:oobn], read), read, rec)
			}
			if err != nil {
				return err
			}
		}
	}
}

// Close stops run and returns its error.
func (r *socketReader) Close() error {
	r.once.Do(func() {
		close(r.stop)
		<-r.done
		_ = syscall.Close(r.epfd)
	})
	return r.err
}

package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A server frame: text, unmasked, with the 16-bit length when needed.
func serverFrame(payload string) []byte {
	n := len(payload)
	if n < 126 {
		return append([]byte{0x81, byte(n)}, payload...)
	}
	return append([]byte{0x81, 126, byte(n >> 8), byte(n)}, payload...)
}

// Messages arrive split anywhere across reads and several to a read: each
// run is recorded once, at the read that completed it.
func TestSubscriberReadsFramesAcrossReads(t *testing.T) {
	t.Parallel()
	long := `{"id":"1","type":"next","payload":{"data":{"segmentMembershipChanged":{"seq":2,"entered":[` +
		string(make([]byte, 300)) + `]}}}}`
	stream := append(serverFrame(`{"id":"1","type":"next","payload":{"data":{"segmentMembershipChanged":{"seq":1}}}}`), serverFrame(long)...)
	stream = append(stream, serverFrame(`{"type":"ka"}`)...)
	r := newReceipts(1, 3)
	s := &liveSubscriber{index: 0}
	at := time.Unix(100, 0)
	for i := 0; i < len(stream); i += 7 {
		end := min(i+7, len(stream))
		require.NoError(t, s.received(stream[i:end], at.Add(time.Duration(i)), at.Add(time.Duration(i)), r))
	}
	require.Equal(t, []int{0, 1, 1, 0}, r.counts)
	require.Nil(t, s.pending)
	require.True(t, r.at[1][0].Before(r.at[2][0]))
}

func TestSubscriberStopsOnAnErrorOrAClose(t *testing.T) {
	t.Parallel()
	r := newReceipts(1, 1)
	err := (&liveSubscriber{}).received(serverFrame(`{"id":"1","type":"error","payload":[{"message":"no"}]}`), time.Now(), time.Now(), r)
	require.ErrorContains(t, err, "subscription error")
	err = (&liveSubscriber{}).received([]byte{0x88, 2, 0x03, 0xf0}, time.Now(), time.Now(), r)
	require.ErrorContains(t, err, "closed the connection")
}

func TestSeqOf(t *testing.T) {
	t.Parallel()
	for msg, want := range map[string]int{`{"seq":17,"size":3}`: 17, `{"a":{"seq":0}}`: 0} {
		seq, ok := seqOf([]byte(msg))
		require.True(t, ok, msg)
		require.Equal(t, want, seq, msg)
	}
	_, ok := seqOf([]byte(`{"size":3}`))
	require.False(t, ok)
}

func TestHistogramQuantile(t *testing.T) {
	t.Parallel()
	buckets := map[float64]float64{0.005: 10, 0.01: 90, 0.05: 99, 0.1: 100, 1: 100}
	require.Equal(t, 50*time.Millisecond, histogramQuantile(buckets, 0.99))
	require.Equal(t, 10*time.Millisecond, histogramQuantile(buckets, 0.5))
	require.Zero(t, histogramQuantile(nil, 0.99))
}

package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWorkloadIsSortedSessionsAndDeterministic(t *testing.T) {
	t.Parallel()
	end := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	events := Workload(20_000, 2_000, 30, end, 7)
	require.Len(t, events, 20_000)
	require.Equal(t, events, Workload(20_000, 2_000, 30, end, 7))

	users := map[string]int{}
	ids := map[string]bool{}
	sameUserAsPrevious := 0
	lastOfUser := map[string]Event{}
	samePlatformAsLast := 0
	for i, e := range events {
		require.False(t, e.Timestamp.After(end))
		require.False(t, e.Timestamp.Before(end.Add(-30*24*time.Hour)))
		if i > 0 {
			require.False(t, e.Timestamp.Before(events[i-1].Timestamp), "sorted by timestamp")
		}
		require.Equal(t, fmt.Sprintf("bench-7-%08d", i), e.MessageID, "ids assigned after sorting")
		if last, ok := lastOfUser[e.UserID]; ok {
			if last.UserAgent == e.UserAgent {
				samePlatformAsLast++
			}
			if e.Timestamp.Sub(last.Timestamp) < 10*time.Minute {
				sameUserAsPrevious++
			}
		}
		lastOfUser[e.UserID] = e
		users[e.UserID]++
		ids[e.MessageID] = true
	}
	require.Len(t, ids, len(events))
	// Sessions: most events follow one of the same user minutes before,
	// on the same device.
	require.Greater(t, sameUserAsPrevious, len(events)*7/10)
	require.Greater(t, samePlatformAsLast, len(events)*8/10)
	// Skewed but broad: most users appear, the heaviest far above the mean.
	require.Greater(t, len(users), 1_000)
	heaviest := 0
	for _, n := range users {
		heaviest = max(heaviest, n)
	}
	require.Greater(t, heaviest, 5*len(events)/len(users))
}

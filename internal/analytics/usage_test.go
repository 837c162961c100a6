package analytics_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/analytics"
)

// usageRows shows FeatureUses as "name seg/share all/share lift".
func usageRows(events []analytics.FeatureUse) []string {
	out := make([]string, len(events))
	for i, e := range events {
		lift := "nil"
		if e.Lift != nil {
			lift = fmt.Sprintf("%.3f", *e.Lift)
		}
		out[i] = fmt.Sprintf("%s %d/%.2f %d/%.2f %s", e.Name, e.SegmentUsers, e.SegmentShare, e.AllUsers, e.AllShare, lift)
	}
	return out
}

// The project is in Berlin (UTC+1 in early March): the days Mar 2-3 are
// the instants from Mar 1 23:00 UTC to Mar 3 23:00 UTC.
func TestFeatureUsageInProjectTimeZone(t *testing.T) {
	t.Parallel()
	b := setup(t, "Europe/Berlin")
	m1 := b.user(t, "m1", at(t, "2026-03-01T00:00:00Z"))
	m2 := b.user(t, "m2", at(t, "2026-03-01T00:00:00Z"))
	o1 := b.user(t, "o1", at(t, "2026-03-01T00:00:00Z"))
	o2 := b.user(t, "o2", at(t, "2026-03-01T00:00:00Z"))
	idle := b.user(t, "idle", at(t, "2026-03-01T00:00:00Z"))
	for i, e := range []struct {
		user     int
		name, at string
	}{
		{m1, "export", "2026-03-02T10:00:00Z"},
		{m1, "export", "2026-03-02T11:00:00Z"},
		{m1, "share", "2026-03-03T22:30:00Z"},  // 23:30 in Berlin: in
		{m2, "export", "2026-03-01T23:30:00Z"}, // 00:30 on Mar 2 in Berlin: in
		{o1, "export", "2026-03-03T23:30:00Z"}, // 00:30 on Mar 4 in Berlin: out
		{o1, "login", "2026-03-02T12:00:00Z"},
		{o2, "share", "2026-03-01T22:30:00Z"}, // 23:30 on Mar 1 in Berlin: out
		{o2, "login", "2026-03-03T10:00:00Z"},
		{o2, "export", "2026-03-02T09:00:00Z"},
	} {
		require.NoError(t, b.client.Event.Create().SetUserID(e.user).SetName(e.name).SetTimestamp(at(t, e.at)).
			SetMessageID(fmt.Sprint("m", i)).Exec(b.admin()))
	}
	seg := b.segment(t, "m1 and m2", m1, m2)
	got, err := b.service.FeatureUsage(b.ctx, seg, day(t, "2026-03-02"), day(t, "2026-03-03"), 20)
	require.NoError(t, err)
	require.Equal(t, 2, got.SegmentUsers)
	require.Equal(t, 4, got.AllUsers)
	require.Equal(t, []string{
		"export 2/1.00 3/0.75 1.333",
		"share 1/0.50 1/0.25 2.000",
		"login 0/0.00 2/0.50 0.000",
	}, usageRows(got.Events))

	got, err = b.service.FeatureUsage(b.ctx, seg, day(t, "2026-03-02"), day(t, "2026-03-03"), 2)
	require.NoError(t, err)
	require.Equal(t, []string{"export 2/1.00 3/0.75 1.333", "share 1/0.50 1/0.25 2.000"}, usageRows(got.Events))

	// A segment with no member active: no lift.
	quiet := b.segment(t, "idle", idle)
	got, err = b.service.FeatureUsage(b.ctx, quiet, day(t, "2026-03-02"), day(t, "2026-03-03"), 1)
	require.NoError(t, err)
	require.Equal(t, []string{"export 0/0.00 3/0.75 nil"}, usageRows(got.Events))

	o := b.other(t)
	got, err = o.service.FeatureUsage(o.ctx, o.segment(t, "theirs"), day(t, "2026-03-02"), day(t, "2026-03-03"), 20)
	require.NoError(t, err)
	require.Zero(t, got.AllUsers)
	require.Empty(t, got.Events)
}

// Names go 64 to a mask: 70 names need two, and the last name of the first
// mask (bit 63, the sign bit) and the names of the second count right.
func TestFeatureUsageOfManyEventNames(t *testing.T) {
	t.Parallel()
	b := setup(t, "UTC")
	heavy := b.user(t, "heavy", at(t, "2026-03-01T00:00:00Z"))
	light := b.user(t, "light", at(t, "2026-03-01T00:00:00Z"))
	send := func(user int, name string, n int) {
		require.NoError(t, b.client.Event.Create().SetUserID(user).SetName(name).SetTimestamp(at(t, "2026-03-02T10:00:00Z")).
			SetMessageID(fmt.Sprintf("%d-%s-%d", user, name, n)).Exec(b.admin()))
	}
	for i := range 70 {
		send(heavy, fmt.Sprintf("e%02d", i), 0)
	}
	send(light, "e63", 0)
	send(light, "e69", 0)
	send(light, "e69", 1)
	seg := b.segment(t, "heavy", heavy)
	got, err := b.service.FeatureUsage(b.ctx, seg, day(t, "2026-03-02"), day(t, "2026-03-02"), 100)
	require.NoError(t, err)
	require.Equal(t, 2, got.AllUsers)
	require.Equal(t, 1, got.SegmentUsers)
	require.Len(t, got.Events, 70)
	all := map[string]int{}
	for _, e := range got.Events {
		require.Equal(t, 1, e.SegmentUsers, e.Name)
		all[e.Name] = e.AllUsers
	}
	require.Equal(t, 2, all["e63"])
	require.Equal(t, 2, all["e69"])
	require.Equal(t, 1, all["e00"])
	require.Equal(t, 1, all["e64"])
	// Ranked by members (all 1), then all users, then name.
	require.Equal(t, []string{"e63", "e69", "e00"}, []string{got.Events[0].Name, got.Events[1].Name, got.Events[2].Name})
}

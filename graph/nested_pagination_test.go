package graph_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/ent/event"
	"github.com/pulse-analytics/pulse/ent/feedback"
	"github.com/pulse-analytics/pulse/ent/segmentrun"
)

// pageConn is one parent's nested connection as the wire has it.
type pageConn struct {
	TotalCount int
	PageInfo   struct {
		HasNextPage, HasPreviousPage bool
		StartCursor, EndCursor       *string
	}
	Edges []struct {
		Cursor string
		Node   struct{ ID string }
	}
}

func (c pageConn) ids() []string {
	ids := []string{}
	for _, e := range c.Edges {
		ids = append(ids, e.Node.ID)
	}
	return ids
}

// pageFetcher runs a query of every parent's nested connection with
// pagination vars (first, after, last, before) and returns the
// connections by parent id.
type pageFetcher func(t *testing.T, vars map[string]any) map[string]pageConn

// connRows is the reference of a nested connection: all the rows of all
// parents in the connection's order, the parent of each, and the rank of
// each row's sort key (rows of equal keys, the same user in two segments,
// share a rank).
type connRows struct {
	order []string
	owner map[string]string
	rank  map[string]int
}

// checkNestedPages pages a nested connection from every position, both
// ways, and compares every parent's page with the reference. A cursor is
// a position in the order, so one parent's cursor pages every parent from
// there, which reaches every boundary: before the first row, between
// ties, past the last, in parents without rows.
func checkNestedPages(t *testing.T, fetch pageFetcher, parents []string, ref connRows) {
	t.Helper()
	order, owner, rank := ref.order, ref.owner, ref.rank
	rowsOf := func(parent string, keep func(rank int) bool) []string {
		rows := []string{}
		for _, id := range order {
			if owner[id] == parent && keep(rank[id]) {
				rows = append(rows, id)
			}
		}
		return rows
	}

	// The whole connection of every parent, and the cursor of every row.
	all := fetch(t, map[string]any{"first": 50})
	cursors := map[string]string{}
	for _, parent := range parents {
		conn := all[parent]
		require.Equal(t, rowsOf(parent, func(int) bool { return true }), conn.ids(), "all rows of %s", parent)
		for _, e := range conn.Edges {
			cursors[e.Node.ID] = e.Cursor
		}
	}
	positions := []string{""} // "": no cursor
	for _, id := range order {
		if slices.Contains(parents, owner[id]) {
			positions = append(positions, id)
		}
	}
	require.Len(t, cursors, len(positions)-1)
	for _, size := range []int{1, 2, 3} {
		for _, at := range positions {
			name := fmt.Sprintf("%d from %q", size, at)
			vars := map[string]any{"first": size}
			if at != "" {
				vars["after"] = cursors[at]
			}
			forward := fetch(t, vars)
			vars = map[string]any{"last": size}
			if at != "" {
				vars["before"] = cursors[at]
			}
			backward := fetch(t, vars)
			for _, parent := range parents {
				total := len(rowsOf(parent, func(int) bool { return true }))
				after := rowsOf(parent, func(r int) bool { return at == "" || r > rank[at] })
				want := after[:min(size, len(after))]
				checkPage(t, forward[parent], want, cursors, total, len(after) > size, at != "", "first %s of %s", name, parent)

				before := rowsOf(parent, func(r int) bool { return at == "" || r < rank[at] })
				want = before[max(0, len(before)-size):]
				checkPage(t, backward[parent], want, cursors, total, at != "", len(before) > size, "last %s of %s", name, parent)
			}
		}
	}
}

func checkPage(t *testing.T, got pageConn, want []string, cursors map[string]string, total int, hasNext, hasPrevious bool, msg string, args ...any) {
	t.Helper()
	what := fmt.Sprintf(msg, args...)
	require.Equal(t, want, got.ids(), what)
	require.Equal(t, total, got.TotalCount, "totalCount, %s", what)
	require.Equal(t, hasNext, got.PageInfo.HasNextPage, "hasNextPage, %s", what)
	require.Equal(t, hasPrevious, got.PageInfo.HasPreviousPage, "hasPreviousPage, %s", what)
	for i, id := range want {
		require.Equal(t, cursors[id], got.Edges[i].Cursor, "cursor of %s, %s", id, what)
	}
	if len(want) == 0 {
		require.Nil(t, got.PageInfo.StartCursor, what)
		return
	}
	require.Equal(t, cursors[want[0]], *got.PageInfo.StartCursor, "startCursor, %s", what)
	require.Equal(t, cursors[want[len(want)-1]], *got.PageInfo.EndCursor, "endCursor, %s", what)
}

// eventRow is a seeded event with what the orders compare.
type eventRow struct {
	id   int
	user string
	name string
	at   time.Time
}

// TestNestedEventPages pages user.events of five users in one query, by
// every order (with ties in timestamp and name), with and without a
// filter, and the same through node(id), which loads one parent without
// LATERAL.
func TestNestedEventPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	base := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	// Minutes after base and names of each user's events, created in this
	// order, so ids follow neither the times nor the names.
	plans := [][]struct {
		minute int
		name   string
	}{
		{}, // a user without events
		{{5, "login"}},
		{{3, "login"}, {1, "export"}, {3, "export"}, {3, "login"}, {2, "login"}, {9, "share"}, {1, "login"}},
		{{4, "export"}, {4, "export"}, {4, "export"}, {4, "export"}},
		{{8, "share"}, {6, "login"}, {7, "export"}, {0, "login"}, {2, "share"}},
	}
	var parents []string
	var rows []eventRow
	for i, plan := range plans {
		u, err := b.client.User.Create().SetExternalID(fmt.Sprintf("p-%d", i)).Save(b.project.ctx)
		require.NoError(t, err)
		parents = append(parents, gid(u.ID))
		for j, p := range plan {
			at := base.Add(time.Duration(p.minute) * time.Minute)
			e, err := b.client.Event.Create().SetUserID(u.ID).SetName(p.name).SetTimestamp(at).
				SetPlatform(event.PlatformDESKTOP).SetMessageID(fmt.Sprintf("p-%d-%d", i, j)).Save(b.project.ctx)
			require.NoError(t, err)
			rows = append(rows, eventRow{id: e.ID, user: gid(u.ID), name: p.name, at: at})
		}
	}
	byID := func(a, b eventRow) int { return cmp.Compare(a.id, b.id) }
	orders := []struct {
		name    string
		orderBy map[string]any
		where   map[string]any
		compare func(a, b eventRow) int
		keep    func(eventRow) bool
	}{
		{"by id", nil, nil, byID, nil},
		{"latest first", map[string]any{"field": "TIMESTAMP", "direction": "DESC"}, nil,
			func(a, b eventRow) int { return cmp.Or(b.at.Compare(a.at), -byID(a, b)) }, nil},
		{"oldest first", map[string]any{"field": "TIMESTAMP", "direction": "ASC"}, nil,
			func(a, b eventRow) int { return cmp.Or(a.at.Compare(b.at), byID(a, b)) }, nil},
		{"by name", map[string]any{"field": "NAME", "direction": "ASC"}, nil,
			func(a, b eventRow) int { return cmp.Or(cmp.Compare(a.name, b.name), byID(a, b)) }, nil},
		{"latest logins and exports", map[string]any{"field": "TIMESTAMP", "direction": "DESC"}, map[string]any{"nameIn": []string{"login", "export"}},
			func(a, b eventRow) int { return cmp.Or(b.at.Compare(a.at), -byID(a, b)) },
			func(r eventRow) bool { return r.name != "share" }},
	}
	const listQuery = `query($first: Int, $after: Cursor, $last: Int, $before: Cursor, $orderBy: EventOrder, $where: EventWhereInput) {
	  users(first: 10) { edges { node { id
	    events(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy, where: $where) {
	      totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } } } } } }`
	const nodeQuery = `query($id: ID!, $first: Int, $after: Cursor, $last: Int, $before: Cursor, $orderBy: EventOrder, $where: EventWhereInput) {
	  node(id: $id) { ... on User { id
	    events(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy, where: $where) {
	      totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } } } } }`
	for _, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			t.Parallel()
			kept := slices.DeleteFunc(slices.Clone(rows), func(r eventRow) bool { return o.keep != nil && !o.keep(r) })
			slices.SortFunc(kept, o.compare)
			ref := connRows{owner: map[string]string{}, rank: map[string]int{}}
			for i, r := range kept {
				ref.order = append(ref.order, gid(r.id))
				ref.owner[gid(r.id)], ref.rank[gid(r.id)] = r.user, i
			}
			withOrder := func(vars map[string]any) map[string]any {
				vars["orderBy"], vars["where"] = o.orderBy, o.where
				return vars
			}
			list := func(t *testing.T, vars map[string]any) map[string]pageConn {
				var out struct {
					Users struct {
						Edges []struct {
							Node struct {
								ID     string
								Events pageConn
							}
						}
					}
				}
				b.query(t, b.project.Read, listQuery, withOrder(vars), &out)
				conns := map[string]pageConn{}
				for _, e := range out.Users.Edges {
					conns[e.Node.ID] = e.Node.Events
				}
				return conns
			}
			one := func(t *testing.T, vars map[string]any) map[string]pageConn {
				conns := map[string]pageConn{}
				for _, parent := range parents[1:3] {
					var out struct {
						Node struct {
							ID     string
							Events pageConn
						}
					}
					vars["id"] = parent
					b.query(t, b.project.Read, nodeQuery, withOrder(vars), &out)
					conns[parent] = out.Node.Events
				}
				return conns
			}
			checkNestedPages(t, list, parents, ref)
			checkNestedPages(t, one, parents[1:3], ref)
		})
	}
}

// TestNestedMemberPages pages segment.members (through the membership
// table) of three segments in one query and of one segment by node, by id
// and by event count with ties, with the count stored on the segment, and
// filtered, counted. A user in two segments is in both pages in its place
// in each.
func TestNestedMemberPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var users []*ent.User
	for i := range 6 {
		u, err := b.client.User.Create().SetExternalID(fmt.Sprintf("m-%d", i)).SetEventCount(int64([]int{3, 1, 3, 0, 1, 3}[i])).Save(b.project.ctx)
		require.NoError(t, err)
		users = append(users, u)
	}
	memberships := [][]int{{}, {4}, {5, 0, 4, 2, 3, 1}} // user indexes of each segment
	var parents []string
	// A member's row is (segment, user).
	type memberRow struct {
		key, segment string
		user         *ent.User
	}
	var rows []memberRow
	for i, members := range memberships {
		seg, err := b.client.Segment.Create().SetName(fmt.Sprintf("s-%d", i)).SetSize(len(members)).Save(b.project.ctx)
		require.NoError(t, err)
		parents = append(parents, gid(seg.ID))
		for _, m := range members {
			require.NoError(t, b.client.SegmentMember.Create().SetSegmentID(seg.ID).SetUserID(users[m].ID).Exec(b.project.ctx))
			rows = append(rows, memberRow{key: gid(seg.ID) + "/" + gid(users[m].ID), segment: gid(seg.ID), user: users[m]})
		}
	}
	const query = `query($first: Int, $after: Cursor, $last: Int, $before: Cursor, $orderBy: [UserOrder!], $where: UserWhereInput) {
	  segments(first: 10) { edges { node { id
	    members(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy, where: $where) {
	      totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } } } } } }`
	const nodeQuery = `query($id: ID!, $first: Int, $after: Cursor, $last: Int, $before: Cursor, $orderBy: [UserOrder!], $where: UserWhereInput) {
	  node(id: $id) { ... on Segment { id
	    members(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy, where: $where) {
	      totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } } } } }`
	byID := func(a, b *ent.User) int { return cmp.Compare(a.ID, b.ID) }
	mostEvents := func(a, b *ent.User) int {
		return cmp.Or(cmp.Compare(b.EventCount, a.EventCount), cmp.Compare(a.ID, b.ID))
	}
	orders := []struct {
		name    string
		orderBy []any
		where   map[string]any
		compare func(a, b *ent.User) int
		keep    func(*ent.User) bool
	}{
		{"by id", nil, nil, byID, nil},
		{"most events first", []any{map[string]any{"field": "EVENT_COUNT", "direction": "DESC"}}, nil, mostEvents, nil},
		{"with events, by id", nil, map[string]any{"eventCountGT": 0}, byID, func(u *ent.User) bool { return u.EventCount > 0 }},
		{"with events, most first", []any{map[string]any{"field": "EVENT_COUNT", "direction": "DESC"}}, map[string]any{"eventCountGT": 0},
			mostEvents, func(u *ent.User) bool { return u.EventCount > 0 }},
	}
	for _, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			t.Parallel()
			sorted := slices.DeleteFunc(slices.Clone(rows), func(r memberRow) bool { return o.keep != nil && !o.keep(r.user) })
			slices.SortStableFunc(sorted, func(a, b memberRow) int { return o.compare(a.user, b.user) })
			ranked := slices.Clone(users)
			slices.SortFunc(ranked, o.compare)
			ref := connRows{owner: map[string]string{}, rank: map[string]int{}}
			for _, r := range sorted {
				ref.order = append(ref.order, r.key)
				ref.owner[r.key] = r.segment
				ref.rank[r.key] = slices.Index(ranked, r.user)
			}
			fetch := func(t *testing.T, vars map[string]any) map[string]pageConn {
				var out struct {
					Segments struct {
						Edges []struct {
							Node struct {
								ID      string
								Members pageConn
							}
						}
					}
				}
				vars["orderBy"], vars["where"] = o.orderBy, o.where
				b.query(t, b.project.Read, query, vars, &out)
				conns := map[string]pageConn{}
				for _, e := range out.Segments.Edges {
					conns[e.Node.ID] = keyedMembers(e.Node.ID, e.Node.Members)
				}
				return conns
			}
			one := func(t *testing.T, vars map[string]any) map[string]pageConn {
				conns := map[string]pageConn{}
				for _, parent := range parents[1:3] {
					var out struct {
						Node struct {
							ID      string
							Members pageConn
						}
					}
					vars["id"], vars["orderBy"], vars["where"] = parent, o.orderBy, o.where
					b.query(t, b.project.Read, nodeQuery, vars, &out)
					conns[parent] = keyedMembers(parent, out.Node.Members)
				}
				return conns
			}
			checkNestedPages(t, fetch, parents, ref)
			checkNestedPages(t, one, parents[1:3], ref)
		})
	}
}

// keyedMembers keys the rows of conn, members of segment, by their segment
// too, as the same user is a member of several.
func keyedMembers(segment string, conn pageConn) pageConn {
	for i := range conn.Edges {
		conn.Edges[i].Node.ID = segment + "/" + conn.Edges[i].Node.ID
	}
	return conn
}

// TestNestedUserSegmentPages pages user.segments (the membership table
// the other way) of seven users, one in no segment, in one query, by id and
// by size with a tie. A segment of several users is in their pages in its
// place in each.
func TestNestedUserSegmentPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var parents []string
	var users []*ent.User
	for i := range 7 {
		u, err := b.client.User.Create().SetExternalID(fmt.Sprintf("u-%d", i)).Save(b.project.ctx)
		require.NoError(t, err)
		users = append(users, u)
		parents = append(parents, gid(u.ID))
	}
	memberships := [][]int{{}, {4}, {5, 0, 2, 3, 1, 4}, {0}} // user indexes of each segment; sizes 0, 1, 6 and 1
	var segments []*ent.Segment
	type segmentRow struct {
		key, user string
		segment   *ent.Segment
	}
	var rows []segmentRow
	for i, members := range memberships {
		seg, err := b.client.Segment.Create().SetName(fmt.Sprintf("s-%d", i)).SetSize(len(members)).Save(b.project.ctx)
		require.NoError(t, err)
		segments = append(segments, seg)
		for _, m := range members {
			require.NoError(t, b.client.SegmentMember.Create().SetSegmentID(seg.ID).SetUserID(users[m].ID).Exec(b.project.ctx))
			rows = append(rows, segmentRow{key: gid(users[m].ID) + "/" + gid(seg.ID), user: gid(users[m].ID), segment: seg})
		}
	}
	const query = `query($first: Int, $after: Cursor, $last: Int, $before: Cursor, $orderBy: [SegmentOrder!]) {
	  users(first: 10) { edges { node { id
	    segments(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) {
	      totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } } } } } }`
	orders := []struct {
		name    string
		orderBy []any
		compare func(a, b *ent.Segment) int
	}{
		{"by id", nil, func(a, b *ent.Segment) int { return cmp.Compare(a.ID, b.ID) }},
		{"largest first", []any{map[string]any{"field": "SIZE", "direction": "DESC"}},
			func(a, b *ent.Segment) int { return cmp.Or(cmp.Compare(b.Size, a.Size), cmp.Compare(a.ID, b.ID)) }},
	}
	for _, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			t.Parallel()
			sorted := slices.Clone(rows)
			slices.SortStableFunc(sorted, func(a, b segmentRow) int { return o.compare(a.segment, b.segment) })
			ranked := slices.Clone(segments)
			slices.SortFunc(ranked, o.compare)
			ref := connRows{owner: map[string]string{}, rank: map[string]int{}}
			for _, r := range sorted {
				ref.order = append(ref.order, r.key)
				ref.owner[r.key] = r.user
				ref.rank[r.key] = slices.Index(ranked, r.segment)
			}
			fetch := func(t *testing.T, vars map[string]any) map[string]pageConn {
				var out struct {
					Users struct {
						Edges []struct {
							Node struct {
								ID       string
								Segments pageConn
							}
						}
					}
				}
				vars["orderBy"] = o.orderBy
				b.query(t, b.project.Read, query, vars, &out)
				conns := map[string]pageConn{}
				for _, e := range out.Users.Edges {
					conn := e.Node.Segments
					for i := range conn.Edges {
						conn.Edges[i].Node.ID = e.Node.ID + "/" + conn.Edges[i].Node.ID
					}
					conns[e.Node.ID] = conn
				}
				return conns
			}
			checkNestedPages(t, fetch, parents, ref)
		})
	}
}

// orderedRow is a seeded row of a nested connection with what its orders
// compare.
type orderedRow struct {
	id     int
	parent string
	at     time.Time
	seq    int
}

// checkOrderedPages checks a nested connection of parents over rows by
// each order, fetched by query with $orderBy.
func checkOrderedPages(t *testing.T, b *testBundle, query, list, field string, parents []string, rows []orderedRow, orders []rowOrder) {
	t.Helper()
	for _, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			t.Parallel()
			sorted := slices.Clone(rows)
			slices.SortFunc(sorted, o.compare)
			ref := connRows{owner: map[string]string{}, rank: map[string]int{}}
			for i, r := range sorted {
				ref.order = append(ref.order, gid(r.id))
				ref.owner[gid(r.id)], ref.rank[gid(r.id)] = r.parent, i
			}
			fetch := func(t *testing.T, vars map[string]any) map[string]pageConn {
				vars["orderBy"] = o.orderBy
				var out map[string]struct {
					Edges []struct {
						Node map[string]json.RawMessage
					}
				}
				b.query(t, b.project.Read, query, vars, &out)
				conns := map[string]pageConn{}
				for _, e := range out[list].Edges {
					var id string
					var conn pageConn
					require.NoError(t, json.Unmarshal(e.Node["id"], &id))
					require.NoError(t, json.Unmarshal(e.Node[field], &conn))
					conns[id] = conn
				}
				return conns
			}
			checkNestedPages(t, fetch, parents, ref)
		})
	}
}

// rowOrder is an order of a nested connection: its orderBy argument and
// the reference comparison, ids breaking ties as the pager's do.
type rowOrder struct {
	name    string
	orderBy map[string]any
	compare func(a, b orderedRow) int
}

func byRowID(a, b orderedRow) int { return cmp.Compare(a.id, b.id) }

// TestNestedFeedbackPages pages user.feedback of five users, one without
// any, in one query, by id and by timestamp both ways, with ties.
func TestNestedFeedbackPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	base := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	// Minutes after base of each user's feedback, created in this order.
	plans := [][]int{{}, {4}, {3, 1, 3, 3, 0, 7}, {2, 2, 2}, {6, 5, 1, 8}}
	var parents []string
	var rows []orderedRow
	for i, plan := range plans {
		u, err := b.client.User.Create().SetExternalID(fmt.Sprintf("f-%d", i)).Save(b.project.ctx)
		require.NoError(t, err)
		parents = append(parents, gid(u.ID))
		for _, minute := range plan {
			at := base.Add(time.Duration(minute) * time.Minute)
			fb, err := b.client.Feedback.Create().SetUserID(u.ID).SetKind(feedback.KindBUG).SetTimestamp(at).Save(b.project.ctx)
			require.NoError(t, err)
			rows = append(rows, orderedRow{id: fb.ID, parent: gid(u.ID), at: at})
		}
	}
	const query = `query($first: Int, $after: Cursor, $last: Int, $before: Cursor, $orderBy: FeedbackOrder) {
	  users(first: 10) { edges { node { id
	    feedback(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) {
	      totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } } } } } }`
	checkOrderedPages(t, b, query, "users", "feedback", parents, rows, []rowOrder{
		{"by id", nil, byRowID},
		{"latest first", map[string]any{"field": "TIMESTAMP", "direction": "DESC"},
			func(a, b orderedRow) int { return cmp.Or(b.at.Compare(a.at), -byRowID(a, b)) }},
		{"oldest first", map[string]any{"field": "TIMESTAMP", "direction": "ASC"},
			func(a, b orderedRow) int { return cmp.Or(a.at.Compare(b.at), byRowID(a, b)) }},
	})
}

// TestNestedRunPages pages segment.runs of four segments, one without
// runs, in one query, by id, by creation time (with ties) and by seq.
func TestNestedRunPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	base := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	// Minutes after base of each segment's runs, created in this order;
	// seqs follow it.
	plans := [][]int{{}, {9}, {5, 1, 5, 3, 5}, {2, 8, 2, 0}}
	var parents []string
	var rows []orderedRow
	for i, plan := range plans {
		seg, err := b.client.Segment.Create().SetName(fmt.Sprintf("r-%d", i)).Save(b.project.ctx)
		require.NoError(t, err)
		parents = append(parents, gid(seg.ID))
		for j, minute := range plan {
			at := base.Add(time.Duration(minute) * time.Minute)
			run, err := b.client.SegmentRun.Create().SetSegmentID(seg.ID).SetTrigger(segmentrun.TriggerMANUAL).
				SetStatus(segmentrun.StatusCOMPLETED).SetSeq(j + 1).SetCreatedAt(at).Save(b.project.ctx)
			require.NoError(t, err)
			rows = append(rows, orderedRow{id: run.ID, parent: gid(seg.ID), at: at, seq: j + 1})
		}
	}
	const query = `query($first: Int, $after: Cursor, $last: Int, $before: Cursor, $orderBy: SegmentRunOrder) {
	  segments(first: 10) { edges { node { id
	    runs(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) {
	      totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } } } } } }`
	checkOrderedPages(t, b, query, "segments", "runs", parents, rows, []rowOrder{
		{"by id", nil, byRowID},
		{"newest first", map[string]any{"field": "CREATED_AT", "direction": "DESC"},
			func(a, b orderedRow) int { return cmp.Or(b.at.Compare(a.at), -byRowID(a, b)) }},
		{"by seq", map[string]any{"field": "SEQ", "direction": "ASC"},
			func(a, b orderedRow) int { return cmp.Or(cmp.Compare(a.seq, b.seq), byRowID(a, b)) }},
	})
}

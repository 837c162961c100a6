package ent

// This file is written by hand: the loader of run.entered and run.exited,
// the users a segment's runs moved, for every run of a page at once.

import (
	"context"
	"database/sql/driver"
	"fmt"

	"entgo.io/ent/dialect/sql"

	"github.com/pulse-analytics/pulse/ent/segmentmembership"
	"github.com/pulse-analytics/pulse/ent/user"
)

// RunChangesPage is one page of the users a run moved.
type RunChangesPage struct {
	// Users are the page's users by id, up to the limit asked for plus
	// one, which tells that there is a next page.
	Users []*User
	// Total is how many users the run moved, when asked for.
	Total int
}

// lateralRun is the run id each row of RunChanges carries.
const lateralRun = "pulse_run_id"

// RunChanges loads, for each run of runIDs, the users who entered the
// segment in it (exited: who left it), by id, after the id after (0: from
// the first), at most limit of them, and, with total, how many there are,
// in one statement: a LATERAL subquery per run reads its first users
// through segment_memberships' (entered_run_id, user_id) index, or its
// exited_run_id twin, and stops, and a second one counts them. Users are
// scoped to the caller's project as every query of them is; runs are the
// caller's to check.
func (c *UserClient) RunChanges(ctx context.Context, runIDs []int, exited bool, after, limit int, total bool) (map[int]*RunChangesPage, error) {
	pages := make(map[int]*RunChangesPage, len(runIDs))
	if len(runIDs) == 0 {
		return pages, nil
	}
	runColumn := segmentmembership.FieldEnteredRunID
	if exited {
		runColumn = segmentmembership.FieldExitedRunID
	}
	// The query's interceptors add the tenant's scope to the page.
	query := c.Query()
	if err := query.prepareQuery(ctx); err != nil {
		return nil, err
	}
	d := sql.Dialect(query.driver.Dialect())
	moved := func(s *sql.Selector) *sql.Selector {
		m := d.Table(segmentmembership.Table).As("moved")
		s.Join(m).On(s.C(user.FieldID), m.C(segmentmembership.FieldUserID)).
			Where(sql.ColumnsEQ(m.C(runColumn), d.Table(lateralParentTable).C(lateralParentID)))
		return s
	}
	page := moved(query.sqlQuery(ctx))
	if after > 0 {
		page.Where(sql.GT(d.Table("moved").C(segmentmembership.FieldUserID), after))
	}
	page.OrderBy(d.Table("moved").C(segmentmembership.FieldUserID)).Limit(limit)
	columns := page.UnqualifiedColumns()
	pageTable := d.Table(user.Table)
	for i, column := range columns {
		columns[i] = pageTable.C(column)
	}
	parents := d.Table(lateralParentTable)
	columns = append(columns, sql.As(parents.C(lateralParentID), lateralRun))
	var counted *sql.Selector
	if total {
		counted = moved(query.sqlQuery(ctx)).Select(sql.As(sql.Count("*"), lateralTotal))
		columns = append(columns, d.Table(lateralTotalTable).C(lateralTotal))
	}
	ids := make([]driver.Value, len(runIDs))
	for i, id := range runIDs {
		ids[i] = id
	}
	s := d.Select(columns...).
		FromExpr(sql.ExprFunc(func(b *sql.Builder) {
			b.WriteString("unnest(ARRAY[")
			for i, id := range ids {
				if i > 0 {
					b.Comma()
				}
				b.Arg(id)
			}
			b.WriteString("]::bigint[]) AS ").Ident(lateralParentTable).WriteByte('(').Ident(lateralParentID).WriteString(")")
			if counted != nil {
				// A run whose page is empty (after its last user) still
				// has its count: its row stays, with no user in it.
				b.WriteString(" CROSS JOIN LATERAL (").Join(counted).WriteString(") AS ").Ident(lateralTotalTable).
					WriteString(" LEFT JOIN LATERAL (").Join(page).WriteString(") AS ").Ident(user.Table).WriteString(" ON true")
			} else {
				b.WriteString(" CROSS JOIN LATERAL (").Join(page).WriteString(") AS ").Ident(user.Table)
			}
		})).
		OrderBy(parents.C(lateralParentID), pageTable.C(user.FieldID))
	statement, args := s.Query()
	rows := &sql.Rows{}
	if err := query.driver.Query(ctx, statement, args, rows); err != nil {
		return nil, fmt.Errorf("load the users of %d runs: %w", len(runIDs), err)
	}
	defer func() { _ = rows.Close() }()
	columns, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		u := &User{config: query.config}
		values, err := u.scanValues(columns)
		if err != nil {
			return nil, err
		}
		if err := rows.Scan(values...); err != nil {
			return nil, err
		}
		if err := u.assignValues(columns, values); err != nil {
			return nil, err
		}
		run, err := u.Value(lateralRun)
		if err != nil {
			return nil, err
		}
		runID, _ := run.(int64)
		p := pages[int(runID)]
		if p == nil {
			p = &RunChangesPage{Total: pageTotal(u)}
			pages[int(runID)] = p
		}
		if u.ID != 0 {
			p.Users = append(p.Users, u)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, id := range runIDs {
		if pages[id] == nil {
			pages[id] = &RunChangesPage{}
		}
	}
	return pages, nil
}

// Connection is the page as the connection of a relay field with first
// and after, as Paginate builds it: users past first tell hasNextPage.
func (p *RunChangesPage) Connection(after *Cursor, first *int) (*UserConnection, error) {
	pager, err := newUserPager(nil, false)
	if err != nil {
		return nil, err
	}
	conn := &UserConnection{Edges: []*UserEdge{}, TotalCount: p.Total}
	conn.build(p.Users, pager, after, first, nil, nil)
	return conn, nil
}

package graph_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	entsegment "github.com/pulse-analytics/pulse/ent/segment"
)

const versionFields = `version rule ruleText keyId keyPrefix createdAt`

const versionsQuery = `query($id: ID!, $first: Int, $after: Cursor) { node(id: $id) { ... on Segment {
  definitionVersion
  versions(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id ` + versionFields + ` } } }
} } }`

const versionAtQuery = `query($id: ID!, $at: Time!) { node(id: $id) { ... on Segment { versionAt(time: $at) { id ` + versionFields + ` } } } }`

// segmentVersion is the wire shape of a SegmentVersion.
type segmentVersion struct {
	ID               string
	Version          int
	Rule             json.RawMessage
	RuleText         *string
	KeyID, KeyPrefix *string
	CreatedAt        time.Time
}

// versions reads every version of segment id with key, newest first.
func (b *testBundle) versions(t *testing.T, key, id string) []segmentVersion {
	t.Helper()
	var out struct {
		Node struct {
			DefinitionVersion int
			Versions          struct {
				TotalCount int
				PageInfo   struct{ HasNextPage bool }
				Edges      []struct{ Node segmentVersion }
			}
		}
	}
	b.query(t, key, versionsQuery, map[string]any{"id": id, "first": 100}, &out)
	require.False(t, out.Node.Versions.PageInfo.HasNextPage)
	vs := make([]segmentVersion, len(out.Node.Versions.Edges))
	for i, e := range out.Node.Versions.Edges {
		vs[i] = e.Node
	}
	require.Equal(t, len(vs), out.Node.Versions.TotalCount)
	require.NotEmpty(t, vs, "a segment always has a version")
	require.Equal(t, out.Node.DefinitionVersion, vs[0].Version, "the newest version is the segment's")
	return vs
}

// versionAt is the version of segment id in force at t, nil for none.
func (b *testBundle) versionAt(t *testing.T, key, id string, at time.Time) *segmentVersion {
	t.Helper()
	var out struct {
		Node struct{ VersionAt *segmentVersion }
	}
	b.query(t, key, versionAtQuery, map[string]any{"id": id, "at": at.Format(time.RFC3339Nano)}, &out)
	return out.Node.VersionAt
}

func traitRule(value string) map[string]any {
	return map[string]any{"trait": map[string]any{"key": "plan", "op": "EQ", "value": value}}
}

// TestSegmentVersions changes a segment's rule twice with two keys and
// renames it in between: three versions, each with its rule, key and
// time, and versionAt answers from each version's recorded instant.
func TestSegmentVersions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := b.project
	second := createKey(t, b, p.Admin, "ADMIN", "second admin")
	firstKeyID, firstPrefix := b.adminKey(t, p)

	var made struct{ CreateSegment struct{ ID string } }
	b.query(t, p.Admin, `mutation($rule: RuleInput!) { createSegment(input: {name: "plans", rule: $rule}) { id } }`,
		map[string]any{"rule": traitRule("free")}, &made)
	id := made.CreateSegment.ID
	update := `mutation($id: ID!, $input: UpdateSegmentInput!) { updateSegment(id: $id, input: $input) { definitionVersion } }`
	b.query(t, second.Secret, update, map[string]any{"id": id, "input": map[string]any{"rule": traitRule("pro")}}, nil)
	b.query(t, p.Admin, update, map[string]any{"id": id, "input": map[string]any{"name": "renamed", "description": "not a definition"}}, nil)
	b.query(t, p.Admin, update, map[string]any{"id": id, "input": map[string]any{"rule": traitRule("team")}}, nil)

	vs := b.versions(t, p.Read, id)
	require.Len(t, vs, 3, "a rename is not a new definition")
	for i, want := range []struct {
		version     int
		plan, keyID string
		prefix      string
	}{
		{3, "team", gid(firstKeyID), firstPrefix},
		{2, "pro", second.APIKey.ID, second.APIKey.Prefix},
		{1, "free", gid(firstKeyID), firstPrefix},
	} {
		v := vs[i]
		require.Equal(t, want.version, v.Version)
		requireJSON(t, v.Rule, `{"trait":{"key":"plan","op":"EQ","value":"`+want.plan+`"}}`)
		require.NotNil(t, v.RuleText)
		require.Equal(t, `trait plan = "`+want.plan+`"`, *v.RuleText)
		require.Equal(t, ptrOf(want.keyID), v.KeyID, "version %d", v.Version)
		require.Equal(t, ptrOf(want.prefix), v.KeyPrefix, "version %d", v.Version)
	}
	require.True(t, vs[0].CreatedAt.After(vs[1].CreatedAt))
	require.True(t, vs[1].CreatedAt.After(vs[2].CreatedAt))

	var seg struct{ Node struct{ CreatedAt time.Time } }
	b.query(t, p.Read, `query($id: ID!) { node(id: $id) { ... on Segment { createdAt } } }`, map[string]any{"id": id}, &seg)
	require.True(t, vs[2].CreatedAt.Equal(seg.Node.CreatedAt), "version 1 is in force from the segment's creation")

	const us = time.Microsecond
	for _, tc := range []struct {
		at   time.Time
		want int // 0: none
	}{
		{vs[2].CreatedAt.Add(-us), 0},
		{vs[2].CreatedAt, 1},
		{vs[1].CreatedAt.Add(-us), 1},
		{vs[1].CreatedAt, 2},
		{vs[0].CreatedAt.Add(-us), 2},
		{vs[0].CreatedAt, 3},
		{time.Now().Add(24 * time.Hour), 3},
	} {
		got := b.versionAt(t, p.Read, id, tc.at)
		if tc.want == 0 {
			require.Nil(t, got, "at %s", tc.at)
			continue
		}
		require.NotNil(t, got, "at %s", tc.at)
		require.Equal(t, vs[3-tc.want], *got, "at %s", tc.at)
	}

	// One version a page, newest first.
	var page struct {
		Node struct {
			Versions struct {
				PageInfo struct {
					HasNextPage bool
					EndCursor   string
				}
				Edges []struct{ Node struct{ Version int } }
			}
		}
	}
	var seen []int
	var after any
	for range 3 {
		b.query(t, p.Read, versionsQuery, map[string]any{"id": id, "first": 1, "after": after}, &page)
		require.Len(t, page.Node.Versions.Edges, 1)
		seen = append(seen, page.Node.Versions.Edges[0].Node.Version)
		after = page.Node.Versions.PageInfo.EndCursor
	}
	require.Equal(t, []int{3, 2, 1}, seen)
	require.False(t, page.Node.Versions.PageInfo.HasNextPage)

	// The audit log holds the same sequence of definitions.
	entries := b.actionLog(t, p, "updateSegment")
	require.Len(t, entries, 3)
	var transitions []string
	for _, e := range entries {
		transitions = append(transitions, fmt.Sprintf("v%d→v%d",
			gjson.GetBytes(e.Before, "definitionVersion").Int(), gjson.GetBytes(e.After, "definitionVersion").Int()))
	}
	require.Equal(t, []string{"v2→v3", "v2→v2", "v1→v2"}, transitions)
}

// TestConcurrentRuleChangesEachMakeAVersion: rule changes racing on one
// segment each make their own version, and each audit entry's before is
// the definition that change really replaced.
func TestConcurrentRuleChangesEachMakeAVersion(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := b.project
	var made struct{ CreateSegment struct{ ID string } }
	b.query(t, p.Admin, `mutation($rule: RuleInput!) { createSegment(input: {name: "raced", rule: $rule}) { id } }`,
		map[string]any{"rule": traitRule("v1")}, &made)
	id := made.CreateSegment.ID

	const writers = 6
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			_, res, err := b.send(p.Admin, `mutation($id: ID!, $rule: RuleInput!) { updateSegment(id: $id, input: {rule: $rule}) { id } }`,
				map[string]any{"id": id, "rule": traitRule(fmt.Sprintf("w%d", i))})
			if err == nil && len(res.Errors) > 0 {
				err = fmt.Errorf("%+v", res.Errors)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}

	vs := b.versions(t, p.Read, id)
	require.Len(t, vs, writers+1)
	rules := map[string]int{}
	for i, v := range vs {
		require.Equal(t, writers+1-i, v.Version)
		rules[gjson.GetBytes(v.Rule, "trait.value").String()] = v.Version
	}
	require.Len(t, rules, writers+1, "every rule is one version")

	replaced := map[int64]bool{}
	for _, e := range b.actionLog(t, p, "updateSegment") {
		before := gjson.GetBytes(e.Before, "definitionVersion").Int()
		after := gjson.ParseBytes(e.After)
		require.Equal(t, before+1, after.Get("definitionVersion").Int())
		require.Equal(t, int64(rules[after.Get("rule.trait.value").String()]), after.Get("definitionVersion").Int())
		replaced[before] = true
	}
	require.Len(t, replaced, writers, "each change replaced a different definition")
}

// TestVersionsOfSegmentsWrittenElsewhere: a segment written without
// versions (as a restored dump or a benchmark writes it) gets its current
// definition as its first version when read, and keeps it when changed;
// a STATIC segment's version has no rule.
func TestVersionsOfSegmentsWrittenElsewhere(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := b.project
	created := time.Now().Add(-48 * time.Hour).UTC().Truncate(time.Microsecond)
	changed := created.Add(24 * time.Hour)
	seg, err := b.client.Segment.Create().SetName("old").SetRule([]byte(`{"lastSeen":{"withinDays":3}}`)).
		SetDefinitionVersion(4).SetCreatedAt(created).SetUpdatedAt(changed).Save(p.ctx)
	require.NoError(t, err)
	id := gid(seg.ID)

	vs := b.versions(t, p.Read, id)
	require.Len(t, vs, 1)
	require.Equal(t, 4, vs[0].Version)
	requireJSON(t, vs[0].Rule, `{"lastSeen":{"withinDays":3}}`)
	require.Nil(t, vs[0].KeyID, "nobody known made it")
	require.True(t, vs[0].CreatedAt.Equal(changed), "dated by the last update: %s", vs[0].CreatedAt)
	require.Equal(t, vs, b.versions(t, p.Read, id), "backfilled once")
	require.Nil(t, b.versionAt(t, p.Read, id, changed.Add(-time.Microsecond)), "what it was before is unknown")

	b.query(t, p.Admin, `mutation($id: ID!) { updateSegment(id: $id, input: {rule: {lastSeen: {withinDays: 5}}}) { id } }`,
		map[string]any{"id": id}, nil)
	vs = b.versions(t, p.Read, id)
	require.Equal(t, []int{5, 4}, []int{vs[0].Version, vs[1].Version})
	require.Equal(t, 4, b.versionAt(t, p.Read, id, vs[0].CreatedAt.Add(-time.Microsecond)).Version)

	// Never read before its rule changes: the replaced definition is
	// recorded by the change itself.
	unread, err := b.client.Segment.Create().SetName("unread").SetRule([]byte(`{"lastSeen":{"withinDays":3}}`)).
		SetCreatedAt(created).SetUpdatedAt(created).Save(p.ctx)
	require.NoError(t, err)
	b.query(t, p.Admin, `mutation($id: ID!) { updateSegment(id: $id, input: {rule: {lastSeen: {withinDays: 9}}}) { id } }`,
		map[string]any{"id": gid(unread.ID)}, nil)
	vs = b.versions(t, p.Read, gid(unread.ID))
	require.Equal(t, []int{2, 1}, []int{vs[0].Version, vs[1].Version})
	require.True(t, vs[1].CreatedAt.Equal(created))

	static, err := b.client.Segment.Create().SetName("by hand").SetKind(entsegment.KindSTATIC).Save(p.ctx)
	require.NoError(t, err)
	vs = b.versions(t, p.Read, gid(static.ID))
	require.Len(t, vs, 1)
	requireJSON(t, vs[0].Rule, `null`)
	require.Nil(t, vs[0].RuleText)

	var viaAPI struct{ CreateSegment struct{ ID string } }
	b.query(t, p.Admin, `mutation { createSegment(input: {name: "static", kind: STATIC}) { id } }`, nil, &viaAPI)
	vs = b.versions(t, p.Read, viaAPI.CreateSegment.ID)
	require.Len(t, vs, 1)
	requireJSON(t, vs[0].Rule, `null`)
	require.NotNil(t, vs[0].KeyID)
}

package segment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pulse-analytics/pulse/ent"
	entsegment "github.com/pulse-analytics/pulse/ent/segment"
	"github.com/pulse-analytics/pulse/ent/segmentversion"
	"github.com/pulse-analytics/pulse/internal/audit"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// definition is a segment as its audit entries show it before and after a
// change: what an admin sets, and the version its rule is.
type definition struct {
	Name                   string          `json:"name"`
	Description            string          `json:"description"`
	Kind                   entsegment.Kind `json:"kind"`
	Rule                   json.RawMessage `json:"rule"`
	DefinitionVersion      int             `json:"definitionVersion"`
	RefreshIntervalSeconds int             `json:"refreshIntervalSeconds"`
	Realtime               bool            `json:"realtime"`
	ArchivedAt             *time.Time      `json:"archivedAt"`
}

// definitionOf is seg's definition, nil (JSON null) for no segment.
func definitionOf(seg *ent.Segment) any {
	if seg == nil {
		return nil
	}
	return definition{Name: seg.Name, Description: seg.Description, Kind: seg.Kind, Rule: seg.Rule,
		DefinitionVersion: seg.DefinitionVersion, RefreshIntervalSeconds: seg.RefreshIntervalSeconds,
		Realtime: seg.Realtime, ArchivedAt: seg.ArchivedAt}
}

// inTx runs fn with a Store over one transaction, committed when fn
// succeeds; on a client already in a transaction, fn runs in that one.
func (s *Store) inTx(ctx context.Context, fn func(tx *Store) (*ent.Segment, error)) (*ent.Segment, error) {
	tx, err := s.client.Tx(ctx)
	if errors.Is(err, ent.ErrTxStarted) {
		return fn(s)
	}
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	seg, err := fn(&Store{client: tx.Client()})
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit segment %d: %w", seg.ID, err)
	}
	return seg.Unwrap(), nil
}

// lock takes segment id's row lock until the transaction ends, so the
// definition read next is the one the change replaces and its audit entry
// says so. NO KEY UPDATE is the lock ent's UPDATE takes anyway: it does not
// wait for the foreign-key checks of runs being inserted for the segment.
func (s *Store) lock(ctx context.Context, id int) error {
	scope, ok := tenant.FromContext(ctx)
	if !ok {
		return fmt.Errorf("lock segment %d: %w", id, tenant.ErrNoTenant)
	}
	if _, err := s.client.ExecContext(ctx, `SELECT 1 FROM segments WHERE id = $1 AND project_id = $2 FOR NO KEY UPDATE`,
		id, scope.ProjectID); err != nil {
		return fmt.Errorf("lock segment %d: %w", id, err)
	}
	return nil
}

// recordDefinition writes, in the transaction of the change, the version
// after makes (when it is a new one) and the audit entry of the change from
// before (nil for a creation) to after.
func (s *Store) recordDefinition(ctx context.Context, before, after *ent.Segment) error {
	if before == nil || after.DefinitionVersion != before.DefinitionVersion {
		since := after.UpdatedAt
		if before == nil {
			since = after.CreatedAt
		}
		scope, _ := tenant.FromContext(ctx)
		create := s.client.SegmentVersion.Create().
			SetSegmentID(after.ID).
			SetVersion(after.DefinitionVersion).
			SetCreatedAt(since)
		if len(after.Rule) > 0 {
			create.SetRule(after.Rule)
		}
		if scope.KeyID != 0 {
			create.SetKeyID(scope.KeyID).SetKeyPrefix(scope.KeyPrefix)
		}
		if err := create.Exec(ctx); err != nil {
			return fmt.Errorf("record version %d of segment %d: %w", after.DefinitionVersion, after.ID, err)
		}
	}
	return audit.Record(ctx, s.client, after.ID, definitionOf(before), definitionOf(after))
}

// insertCurrentVersion records a segment's current definition as a
// version when it is not yet one, dated as the migration that introduced
// versions dates them: by the creation for version 1, else by the last
// update (the latest its rule can have changed), with no key.
const insertCurrentVersion = `INSERT INTO segment_versions (project_id, segment_id, version, rule, created_at)
	SELECT project_id, id, definition_version, rule,
	       CASE WHEN definition_version = 1 THEN created_at ELSE updated_at END
	FROM segments WHERE id = $1 AND project_id = $2
	ON CONFLICT (segment_id, version) DO NOTHING`

// ensureCurrentVersion records segment id's current definition as a
// version if it is not one: segments written outside Store (benchmarks,
// tests, a restored dump) have none.
func (s *Store) ensureCurrentVersion(ctx context.Context, id int) error {
	scope, ok := tenant.FromContext(ctx)
	if !ok {
		return fmt.Errorf("versions of segment %d: %w", id, tenant.ErrNoTenant)
	}
	if _, err := s.client.ExecContext(ctx, insertCurrentVersion, id, scope.ProjectID); err != nil {
		return fmt.Errorf("record the current version of segment %d: %w", id, err)
	}
	return nil
}

// Versions returns the query of segment id's versions. A segment that has
// none yet (written outside Store) first gets its current definition as
// one, so the answer is never empty.
func (s *Store) Versions(ctx context.Context, id int) (*ent.SegmentVersionQuery, error) {
	q := s.client.SegmentVersion.Query().Where(segmentversion.SegmentID(id))
	found, err := q.Clone().Exist(ctx)
	if err != nil {
		return nil, fmt.Errorf("versions of segment %d: %w", id, err)
	}
	if !found {
		if err := s.ensureCurrentVersion(ctx, id); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// VersionAt returns the version of segment id in force at t: the latest
// that came into force at or before t, or nil when t is before the first.
func (s *Store) VersionAt(ctx context.Context, id int, t time.Time) (*ent.SegmentVersion, error) {
	q, err := s.Versions(ctx, id)
	if err != nil {
		return nil, err
	}
	v, err := q.Where(segmentversion.CreatedAtLTE(t)).
		Order(ent.Desc(segmentversion.FieldVersion)).First(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("version of segment %d at %s: %w", id, t, err)
	}
	return v, nil
}

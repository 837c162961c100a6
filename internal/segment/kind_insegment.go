package segment

import (
	"fmt"
	"strconv"
)

// inSegmentRule holds for the current members of another segment: what
// segment_members says now, however that segment is computed.
type inSegmentRule int

func (s inSegmentRule) validate(v *validator, path string, _ int) {
	if s <= 0 {
		v.fail(path, "not a segment id")
	}
}

func (s inSegmentRule) compile(c *compiler) (*cond, error) {
	return userLeaf("EXISTS (SELECT 1 FROM segment_members sm WHERE sm.segment_id = " + c.arg(int(s)) +
		" AND sm.user_id = u.id)"), nil
}

func (s inSegmentRule) evaluate(e *evaluator, u RefUser) bool { return e.d.Members[int(s)][u.ID] }

func (s inSegmentRule) observe(e *evaluator, u RefUser, _ string) (string, []*Explanation) {
	if s.evaluate(e, u) {
		return "member", nil
	}
	return "not a member", nil
}

func (s inSegmentRule) text(bool) string { return fmt.Sprintf("in segment %d", s) }

func (s inSegmentRule) sources(add func(Source)) {
	add(Source{Kind: SourceSegment, Name: strconv.Itoa(int(s))})
}

// The other segment's members change when it is recomputed, which its own
// sources and crossers cover: the source says to follow it.
func (inSegmentRule) crossing(*crossing) {}

// The other segment's members are read as they are now, not history.
func (inSegmentRule) reach(string, func(string, int)) {}

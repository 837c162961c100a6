package graph_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A malformed Time argument is the caller's mistake, named by argument.
func TestMalformedTimeIsBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := seed(t, b, b.project, "time", 1)
	_, res := b.do(t, b.project.Read, `query($id: ID!) { node(id: $id) { ... on Segment { sizeHistory(from: "yesterday") { size } } } }`,
		map[string]any{"id": s.Segment.ID})
	require.Equal(t, "BAD_USER_INPUT", res.code(), "%+v", res.Errors)
	require.Contains(t, res.Errors[0].Message, "RFC 3339")
	require.Equal(t, "from", res.Errors[0].Extensions["field"])
}

package segment_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/segment"
)

func TestTemplatesAreValid(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, tpl := range segment.Templates {
		require.NoError(t, segment.Validate(tpl.Rule), tpl.Key)
		require.False(t, seen[tpl.Key])
		seen[tpl.Key] = true
		got, ok := segment.TemplateByKey(tpl.Key)
		require.True(t, ok)
		require.Equal(t, tpl.Name, got.Name)
	}
	require.Len(t, seen, 7)
	require.Equal(t, "active ≥ 5 days of the last 7", segment.Text(segment.Templates[0].Rule))
}

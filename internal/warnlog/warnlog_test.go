package warnlog_test

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pulse-analytics/pulse/internal/warnlog"
)

func TestNewPassesWarningsAndErrorsOnly(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	logger := warnlog.New(slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug})))
	logger = logger.With("queue", "default").WithGroup("g")
	logger.Info("statistics")
	logger.Warn("slow job", "id", 1)
	logger.Error("failed job", "id", 2)
	require.NotContains(t, out.String(), "statistics")
	require.Contains(t, out.String(), `msg="slow job" queue=default g.id=1`)
	require.Contains(t, out.String(), `msg="failed job" queue=default g.id=2`)
	require.Nil(t, warnlog.New(nil))
}

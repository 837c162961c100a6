// Package warnlog narrows a logger to warnings and errors, for libraries
// (River) whose informational lines are noise in a Pulse log.
package warnlog

import (
	"context"
	"log/slog"
)

// New returns a logger passing logger's warnings and errors and dropping
// the rest; nil for a nil logger, so a library keeps its own default.
func New(logger *slog.Logger) *slog.Logger {
	if logger == nil {
		return nil
	}
	return slog.New(handler{logger.Handler()})
}

type handler struct{ slog.Handler }

func (h handler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= slog.LevelWarn && h.Handler.Enabled(ctx, level)
}

func (h handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return handler{h.Handler.WithAttrs(attrs)}
}

func (h handler) WithGroup(name string) slog.Handler {
	return handler{h.Handler.WithGroup(name)}
}

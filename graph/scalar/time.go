package scalar

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/pulse-analytics/pulse/internal/invalid"
)

// MarshalTime writes an instant as RFC 3339 with nanoseconds, as gqlgen's
// own Time does.
func MarshalTime(t time.Time) graphql.ContextMarshaler {
	return graphql.ContextWriterFunc(func(_ context.Context, w io.Writer) error {
		graphql.MarshalTime(t).MarshalGQL(w)
		return nil
	})
}

// UnmarshalTime reads an instant (RFC 3339) as gqlgen's Time does, but a
// malformed one is bad input naming its argument rather than an internal
// error.
func UnmarshalTime(ctx context.Context, v any) (time.Time, error) {
	t, err := graphql.UnmarshalTime(v)
	if err != nil {
		return time.Time{}, invalid.Field(argument(ctx), "a Time is an RFC 3339 instant such as 2026-03-01T12:00:00Z, got %q", fmt.Sprint(v))
	}
	return t, nil
}

package scalar

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/pulse-analytics/pulse/internal/invalid"
)

// MarshalDate writes a calendar day as the Date scalar, "YYYY-MM-DD".
func MarshalDate(day time.Time) graphql.ContextMarshaler {
	return graphql.ContextWriterFunc(func(_ context.Context, w io.Writer) error {
		_, err := io.WriteString(w, strconv.Quote(day.Format(time.DateOnly)))
		return err
	})
}

// UnmarshalDate reads the Date scalar, a calendar day "YYYY-MM-DD", as
// midnight UTC (the day, with no time zone of its own). A malformed day is
// bad input naming the argument it was given for.
func UnmarshalDate(ctx context.Context, v any) (time.Time, error) {
	s, _ := v.(string)
	day, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, invalid.Field(argument(ctx), "a Date is a day YYYY-MM-DD, got %q", fmt.Sprint(v))
	}
	return day, nil
}

// argument is the name of the input field being read: the last name of the
// path gqlgen keeps while it reads arguments.
func argument(ctx context.Context) string {
	path := graphql.GetPath(ctx)
	for i := len(path) - 1; i >= 0; i-- {
		if name, ok := path[i].(ast.PathName); ok {
			return string(name)
		}
	}
	return ""
}

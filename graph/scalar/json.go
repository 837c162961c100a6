// Package scalar holds the custom GraphQL scalars of Pulse.
package scalar

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/99designs/gqlgen/graphql"
)

// MarshalRawMessage writes stored JSON (a segment rule) as the JSON scalar.
func MarshalRawMessage(m json.RawMessage) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		if len(m) == 0 {
			_, _ = io.WriteString(w, "null")
			return
		}
		_, _ = w.Write(m)
	})
}

// UnmarshalRawMessage reads the JSON scalar from a GraphQL input value.
func UnmarshalRawMessage(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode JSON value: %w", err)
	}
	return b, nil
}

package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

func TestPresentError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		err       error
		wantCode  string
		wantMsg   string
		wantField string
	}{
		{"bad input", fmt.Errorf("create: %w", invalid.Field("input.name", "must not be empty")), CodeBadUserInput, "input.name: must not be empty", "input.name"},
		{"not found input", &invalid.Error{Field: "id", Message: "segment 4 not found", Err: invalid.ErrNotFound}, CodeNotFound, "segment 4 not found", ""},
		{"ent not found", fmt.Errorf("load: %w", &ent.NotFoundError{}), CodeNotFound, "not found", ""},
		{"no key", auth.ErrUnauthenticated, CodeUnauthenticated, "a valid API key is required", ""},
		{"no tenant", fmt.Errorf("query: %w", tenant.ErrNoTenant), CodeUnauthenticated, "a valid API key is required", ""},
		{"weak key", fmt.Errorf("%w: needs a ADMIN key, this is a READ key", auth.ErrForbidden), CodeForbidden, "needs a ADMIN key", ""},
		{"pagination", &gqlerror.Error{Message: "`first` on a connection cannot be less than zero.", Extensions: map[string]any{"code": "INVALID_PAGINATION"}}, CodeBadUserInput, "cannot be less than zero", ""},
		{"internal", errors.New(`pq: relation "secret_table" does not exist`), CodeInternal, "internal error", ""},
	}
	var logs bytes.Buffer
	present := presentError(slog.New(slog.NewTextHandler(&logs, nil)))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := graphql.WithFieldContext(context.Background(), &graphql.FieldContext{Field: graphql.CollectedField{Field: &ast.Field{Alias: "users"}}})
			got := present(ctx, tt.err)
			require.Equal(t, tt.wantCode, got.Extensions["code"])
			require.Contains(t, got.Message, tt.wantMsg)
			if tt.wantField != "" {
				require.Equal(t, tt.wantField, got.Extensions["field"])
			}
		})
	}
	require.Contains(t, logs.String(), "secret_table", "internal details are logged")
}

// TestPanicIsInternal runs a resolver that panics (a resolver without its
// services) through the real gqlgen server: the client sees INTERNAL and no
// detail, the log has the panic.
func TestPanicIsInternal(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	srv := newServer(&Resolver{}, nil, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}.withDefaults())
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := tenant.NewContext(r.Context(), tenant.Scope{ProjectID: 1, Role: tenant.RoleRead})
		srv.ServeHTTP(w, r.WithContext(ctx))
	})
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query":"{ viewer { role } }"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	var res struct {
		Errors []struct {
			Message    string
			Extensions map[string]any
		}
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &res))
	require.Len(t, res.Errors, 1)
	require.Equal(t, CodeInternal, res.Errors[0].Extensions["code"])
	require.Equal(t, "internal error", res.Errors[0].Message)
	require.NotContains(t, rec.Body.String(), "nil pointer")
	require.Contains(t, logs.String(), "panicked")
	require.Contains(t, logs.String(), "nil pointer")
}

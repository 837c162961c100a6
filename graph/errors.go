package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/httplog"
	"github.com/pulse-analytics/pulse/internal/invalid"
	"github.com/pulse-analytics/pulse/internal/tenant"
)

// The stable error codes clients branch on, in extensions.code.
const (
	CodeBadUserInput    = "BAD_USER_INPUT"
	CodeUnauthenticated = "UNAUTHENTICATED"
	CodeForbidden       = "FORBIDDEN"
	CodeNotFound        = "NOT_FOUND"
	CodeInternal        = "INTERNAL"
)

// presentError maps every error a resolver returns to a GraphQL error with
// a stable extensions.code. It is the one place errors are classified;
// anything unknown is logged in full and answered as INTERNAL without detail.
func presentError(logger *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		var (
			inputErr  *invalid.Error
			validErr  *ent.ValidationError
			notFound  *ent.NotFoundError
			directErr *gqlerror.Error
		)
		switch {
		case errors.As(err, &inputErr) && errors.Is(err, invalid.ErrNotFound):
			setCode(gqlErr, CodeNotFound, inputErr.Message)
		case errors.As(err, &inputErr):
			setCode(gqlErr, CodeBadUserInput, inputErr.Error())
			gqlErr.Extensions["field"] = inputErr.Field
		case errors.As(err, &notFound):
			setCode(gqlErr, CodeNotFound, "not found")
		case errors.As(err, &validErr):
			setCode(gqlErr, CodeBadUserInput, fmt.Sprintf("invalid value for field %q", validErr.Name))
			gqlErr.Extensions["field"] = validErr.Name
		case errors.Is(err, auth.ErrUnauthenticated), errors.Is(err, tenant.ErrNoTenant):
			setCode(gqlErr, CodeUnauthenticated, "a valid API key is required: send Authorization: Bearer <key>")
		case errors.Is(err, auth.ErrForbidden):
			setCode(gqlErr, CodeForbidden, err.Error())
		case errors.As(err, &directErr) && directErr.Unwrap() == nil:
			// Errors built by gqlgen or entgql themselves (argument coercion,
			// pagination arguments) are about the request and safe to show.
			// Parse and validation failures keep gqlgen's codes and entgql's
			// NOT_FOUND stays; the rest (INVALID_PAGINATION, ...) join the
			// stable set as BAD_USER_INPUT.
			switch gqlErr.Extensions["code"] {
			case errcode.ParseFailed, errcode.ValidationFailed, CodeNotFound, CodeBadUserInput:
			default:
				setCode(gqlErr, CodeBadUserInput, gqlErr.Message)
			}
		default:
			httplog.Logger(ctx, logger).ErrorContext(ctx, "graphql resolver failed",
				"error", err, "path", gqlErr.Path.String())
			setCode(gqlErr, CodeInternal, "internal error")
		}
		return gqlErr
	}
}

func setCode(e *gqlerror.Error, code, message string) {
	if e.Extensions == nil {
		e.Extensions = map[string]any{}
	}
	e.Extensions["code"] = code
	e.Message = message
}

// recoverPanic turns a resolver panic into an INTERNAL error; the panic is
// logged with its value, never sent to the client.
func recoverPanic(logger *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		httplog.Logger(ctx, logger).ErrorContext(ctx, "graphql resolver panicked", "panic", fmt.Sprint(p))
		return errPanic
	}
}

var errPanic = errors.New("resolver panicked")

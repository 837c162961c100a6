package metrics

import (
	"context"
	"fmt"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// GraphQL returns a gqlgen extension that counts operations by type and
// name, times queries and mutations, and counts the errors of every
// response by extensions.code. Add it with handler.Server.Use.
func (m *Metrics) GraphQL() graphql.HandlerExtension { return graphqlMetrics{m} }

type graphqlMetrics struct{ m *Metrics }

var (
	_ graphql.HandlerExtension     = graphqlMetrics{}
	_ graphql.OperationInterceptor = graphqlMetrics{}
	_ graphql.ResponseInterceptor  = graphqlMetrics{}
)

func (graphqlMetrics) ExtensionName() string { return "PrometheusMetrics" }

func (graphqlMetrics) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptOperation counts a subscription once, when it starts; queries
// and mutations are counted with their one response.
func (g graphqlMetrics) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if typ, name := g.labels(ctx); typ == string(ast.Subscription) {
		g.m.graphqlOperations.WithLabelValues(typ, name).Inc()
	}
	return next(ctx)
}

// InterceptResponse sees every response, including those of operations that
// failed to parse or validate (gqlgen sends those through the response
// chain too) and each message of a subscription.
func (g graphqlMetrics) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil {
		return nil
	}
	typ, name := g.labels(ctx)
	if typ != string(ast.Subscription) {
		g.m.graphqlOperations.WithLabelValues(typ, name).Inc()
		if graphql.HasOperationContext(ctx) {
			if start := graphql.GetOperationContext(ctx).Stats.OperationStart; !start.IsZero() {
				g.m.graphqlDuration.WithLabelValues(typ, name).Observe(time.Since(start).Seconds())
			}
		}
	}
	for _, e := range resp.Errors {
		code := "UNKNOWN"
		if c, ok := e.Extensions["code"]; ok {
			code = fmt.Sprint(c)
		}
		g.m.graphqlErrors.WithLabelValues(typ, name, code).Inc()
	}
	return resp
}

// labels are the operation's type and (bounded) name; an operation that did
// not parse or validate has type "invalid".
func (g graphqlMetrics) labels(ctx context.Context) (typ, name string) {
	if !graphql.HasOperationContext(ctx) {
		return "invalid", ""
	}
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation == nil {
		return "invalid", ""
	}
	name = oc.OperationName
	if name == "" {
		name = oc.Operation.Name
	}
	return string(oc.Operation.Operation), g.m.operationNames.admit(name)
}

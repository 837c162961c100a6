package graph

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/executor"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/pulse-analytics/pulse/ent"
	"github.com/pulse-analytics/pulse/internal/audit"
	"github.com/pulse-analytics/pulse/internal/auth"
	"github.com/pulse-analytics/pulse/internal/discovery"
	"github.com/pulse-analytics/pulse/internal/graphiql"
	"github.com/pulse-analytics/pulse/internal/ingest"
	"github.com/pulse-analytics/pulse/internal/live"
	"github.com/pulse-analytics/pulse/internal/privacy"
	"github.com/pulse-analytics/pulse/internal/project"
	"github.com/pulse-analytics/pulse/internal/recompute"
	"github.com/pulse-analytics/pulse/internal/retention"
	"github.com/pulse-analytics/pulse/internal/webhook"
)

// DefaultMaxBodyBytes bounds a GraphQL request body.
const DefaultMaxBodyBytes = 1 << 20

// Options configure the GraphQL endpoint.
type Options struct {
	Logger       *slog.Logger
	Limits       Limits
	MaxBodyBytes int64
	// KeepAlive is the WebSocket keepalive interval.
	KeepAlive time.Duration
	// Recompute queues segment recomputations; without it, recompute
	// mutations and definition changes are refused.
	Recompute *recompute.Enqueuer
	// Discovery queues segment discoveries; without it, discovery
	// mutations are refused.
	Discovery *discovery.Enqueuer
	// Retention queues the deletion of expired data when a project's
	// retention changes; without it, such changes are refused.
	Retention *retention.Enqueuer
	// Live serves subscriptions; without it they are refused.
	Live *live.Hub
	// Ingest, when set, stores what track, identify and ingestEvents
	// receive (e.g. a writer wrapped to count messages); default: a Writer.
	Ingest ingest.Sink
	// Keys authenticates requests; default: keys read through the
	// handler's client. Keys over the ingestion pool (with Ingest writing
	// to it) keep the track, identify and ingestEvents mutations off the
	// pool the other resolvers use, so reads that exhaust it never hold up
	// ingestion.
	Keys *auth.Keys
	// Webhooks configure the webhook endpoints projects may create (by
	// default: https URLs of public addresses only).
	Webhooks webhook.StoreOptions
	// Extensions are added to gqlgen's server (e.g. metrics).
	Extensions []graphql.HandlerExtension
	// OnSuppressed is told of each feedback ("feedback") and survey
	// response ("survey") dropped because its user's id is suppressed
	// (e.g. a metrics counter); track, identify and ingestEvents report
	// theirs through Ingest's result.
	OnSuppressed func(source string)

	// gqlgenLists leaves every list to gqlgen's executor (see plainLists),
	// and rendered is told of each list plainLists renders, for the test
	// that holds the two to the same output.
	gqlgenLists bool
	rendered    func(typeName string)
}

// NewHandler returns the /graphql endpoint: POST and GET (GraphQL over HTTP),
// WebSocket (graphql-transport-ws and legacy graphql-ws), SSE, and GraphiQL
// for a browser. Requests are authenticated by Bearer key; WebSocket
// connections by the key in the connection_init payload. The resolvers
// use db and client, except ingestion's (see Options.Ingest and Keys).
func NewHandler(db *sql.DB, client *ent.Client, opts Options) http.Handler {
	opts = opts.withDefaults()
	keys := opts.Keys
	if keys == nil {
		keys = auth.NewKeys(client)
	}
	resolver := NewResolver(db, client)
	resolver.recompute = opts.Recompute
	resolver.discovery = opts.Discovery
	if opts.Ingest != nil {
		resolver.ingest = opts.Ingest
	}
	resolver.live = opts.Live
	resolver.webhooks = webhook.NewStore(db, client, opts.Webhooks)
	resolver.eraser = privacy.NewEraser(db)
	resolver.projects = project.NewUpdater(db, opts.Retention)
	resolver.onSuppressed = opts.OnSuppressed
	srv := newServer(resolver, keys, opts)

	// The page's files are served by graphiql.Assets at graphiql.Prefix.
	ide := graphiql.Page("/graphql")
	api := audit.Middleware(keys.Middleware(rejectKey)(limitBody(opts.MaxBodyBytes, srv)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wantsGraphiQL(r) {
			ide.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// newServer assembles gqlgen's server: transports, caches, limits, the
// error presenter and panic recovery.
func newServer(resolver *Resolver, keys *auth.Keys, opts Options) *handler.Server {
	schema := newExecutableSchema(resolver)
	documents := lru.New[*ast.QueryDocument](1000)
	resolver.renders = newRenderer(newRenderExecutor(schema, documents, opts))
	srv := handler.New(schema)
	srv.AddTransport(newSocketTransport(keys, opts.Live, resolver.renders, opts))
	srv.AddTransport(transport.Options{})
	srv.AddTransport(sseTransport{keys: keys, live: opts.Live})
	srv.AddTransport(httpTransport{})
	srv.SetQueryCache(documents)
	srv.SetParserTokenLimit(opts.Limits.MaxTokens)
	srv.Use(extension.Introspection{})
	srv.Use(queryLimits{Limits: opts.Limits, cache: documents})
	srv.Use(argumentText{})
	srv.Use(liveRenderer{})
	srv.Use(auditMutations{db: resolver.db})
	if !opts.gqlgenLists {
		srv.Use(newPlainLists(schema.Schema(), opts.rendered))
	}
	for _, ext := range opts.Extensions {
		srv.Use(ext)
	}
	srv.SetErrorPresenter(presentError(opts.Logger))
	srv.SetRecoverFunc(recoverPanic(opts.Logger))
	return srv
}

// newRenderExecutor is the executor live subscriptions are rendered with:
// the server's documents, errors and panics, none of its extensions (they
// ran when the subscription started).
func newRenderExecutor(schema graphql.ExecutableSchema, documents graphql.Cache[*ast.QueryDocument], opts Options) *executor.Executor {
	exec := executor.New(schema)
	exec.SetQueryCache(documents)
	exec.SetParserTokenLimit(opts.Limits.MaxTokens)
	exec.SetErrorPresenter(presentError(opts.Logger))
	exec.SetRecoverFunc(recoverPanic(opts.Logger))
	return exec
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Limits = o.Limits.withDefaults()
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.KeepAlive == 0 {
		o.KeepAlive = 15 * time.Second
	}
	return o
}

// wantsGraphiQL: a browser navigating to /graphql (GET, HTML accepted, no
// query) gets the GraphiQL IDE.
func wantsGraphiQL(r *http.Request) bool {
	return r.Method == http.MethodGet &&
		r.URL.Query().Get("query") == "" &&
		r.Header.Get("Upgrade") == "" &&
		strings.Contains(r.Header.Get("Accept"), "text/html")
}

// rejectKey answers a request whose Authorization header is present but
// wrong: 401 with a GraphQL-shaped JSON body.
func rejectKey(w http.ResponseWriter, _ *http.Request, err error) {
	msg := "unknown or revoked API key"
	if !errors.Is(err, auth.ErrUnauthenticated) {
		msg = "could not check the API key"
	}
	writeError(w, http.StatusUnauthorized, msg, CodeUnauthenticated)
}

// readBody is a request body limitBody has read: postParams takes its
// bytes instead of reading them again.
type readBody struct {
	*bytes.Reader
	bytes []byte
}

func (*readBody) Close() error { return nil }

// limitBody refuses request bodies over max bytes with 413 before gqlgen
// reads them.
func limitBody(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Method == http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > max {
			writeTooLarge(w, max)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
		if err != nil {
			writeError(w, http.StatusBadRequest, "could not read the request body", CodeBadUserInput)
			return
		}
		if int64(len(body)) > max {
			writeTooLarge(w, max)
			return
		}
		r.Body = &readBody{Reader: bytes.NewReader(body), bytes: body}
		next.ServeHTTP(w, r)
	})
}

func writeTooLarge(w http.ResponseWriter, max int64) {
	writeError(w, http.StatusRequestEntityTooLarge,
		fmt.Sprintf("request body exceeds the limit of %d bytes", max), CodeBadUserInput)
}

func writeError(w http.ResponseWriter, status int, message, code string) {
	writeResponse(w, mediaJSON, status, errorsOnly{Errors: gqlerror.List{{
		Message:    message,
		Extensions: map[string]any{"code": code},
	}}})
}

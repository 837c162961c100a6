package graph

import (
	"context"
	"errors"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

// MutateOperationParameters refuses a document over the document limits
// before gqlgen validates it. The document is parsed here once more (a
// linear pass, stopped at MaxTokens) because gqlgen validates right after
// parsing, and validation is what an oversized document makes expensive.
// Documents already in gqlgen's query cache were accepted before and skip
// both.
func (l queryLimits) MutateOperationParameters(ctx context.Context, params *graphql.RawParams) *gqlerror.Error {
	if l.cache != nil {
		if _, ok := l.cache.Get(ctx, params.Query); ok {
			return nil
		}
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: params.Query}, l.MaxTokens)
	if err != nil {
		// Only the token limit is answered here; a syntax error is reported
		// by gqlgen's own parse, with its code.
		var gqlErr *gqlerror.Error
		if errors.As(err, &gqlErr) && gqlErr.Message == tokenLimitMessage(l.MaxTokens) {
			return documentLimitError("the document has more than %d tokens", l.MaxTokens)
		}
		return nil
	}
	if len(doc.Fragments) > l.MaxFragments {
		return documentLimitError("the document defines %d fragments; the limit is %d", len(doc.Fragments), l.MaxFragments)
	}
	selections := 0
	for _, op := range doc.Operations {
		selections += countSelections(op.SelectionSet)
	}
	for _, frag := range doc.Fragments {
		selections += countSelections(frag.SelectionSet)
	}
	if selections > l.MaxSelections {
		return documentLimitError("the document has %d selections (fields, aliases and fragment spreads); the limit is %d", selections, l.MaxSelections)
	}
	return nil
}

// countSelections counts the selections written in set, without following
// fragment spreads (each definition is counted once where it is written).
func countSelections(set ast.SelectionSet) int {
	n := len(set)
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			n += countSelections(s.SelectionSet)
		case *ast.InlineFragment:
			n += countSelections(s.SelectionSet)
		}
	}
	return n
}

// tokenLimitMessage is gqlparser's message when a document passes the
// token limit.
func tokenLimitMessage(limit int) string {
	return gqlerror.Errorf("exceeded token limit of %d", limit).Message
}

// documentLimitError is a document refused before validation.
func documentLimitError(format string, args ...any) *gqlerror.Error {
	return limitError(nil, format+": split the operation into smaller ones", args...)
}

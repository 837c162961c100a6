// Package doctest extracts the fenced code blocks of Markdown documents so
// that a test can execute the examples they show: every shell and GraphQL
// block runs unless it is marked, so an example that is added to the
// documentation is an example that is tested.
//
// A block is marked by an HTML comment on the line before its fence
// (comments are invisible when the Markdown is rendered):
//
//	<!-- doc: skip REASON -->  not run; the reason is required
//	<!-- doc: server -->       the command that starts Pulse (the test runs it itself)
//	<!-- doc: background -->   runs in the background (a subscription); its
//	                           expected output must arrive before the document ends
//	<!-- doc: retry -->        run again until its expected output matches (a
//	                           result computed by a background job)
//	<!-- doc: status CODE -->  an example of an HTTP error: every curl of the
//	                           shell block must answer status CODE
//
// A GraphQL block names the role whose key sends it in its info string,
// with its variables and captures (see GraphQLSpec). A ```json response
// block right after a block is the response that block must give.
package doctest

import (
	"bufio"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Kind is what the test does with a block.
type Kind int

// The kinds of block.
const (
	// Inert blocks are shown, not run: output samples, configuration,
	// code in other languages.
	Inert Kind = iota
	// Shell blocks run in bash.
	Shell
	// GraphQL blocks are sent to /graphql.
	GraphQL
	// Response blocks are the expected response of the block before them.
	Response
)

// Mark is the directive of a block's preceding comment.
type Mark string

// The marks a block may carry.
const (
	MarkNone       Mark = ""
	MarkSkip       Mark = "skip"
	MarkServer     Mark = "server"
	MarkBackground Mark = "background"
	MarkRetry      Mark = "retry"
	MarkStatus     Mark = "status"
)

// Block is one fenced code block.
type Block struct {
	File string
	Line int      // of the opening fence, from 1
	Lang string   // the info string's first word
	Info []string // the info string's other words
	Body string
	Kind Kind
	Mark Mark
	// Reason is why a skipped block is not run.
	Reason string
	// Status is the HTTP status every curl of a block marked status must
	// answer (an example of an error); 0 otherwise.
	Status int
	// Expect is the response a following ```json response block shows.
	Expect string
}

// Where names the block for error messages: file:line.
func (b Block) Where() string { return fmt.Sprintf("%s:%d", b.File, b.Line) }

var (
	fence     = regexp.MustCompile("^(\\s*)(```+|~~~+)\\s*(.*)$")
	markLine  = regexp.MustCompile(`^\s*<!--\s*doc:\s*(.*?)\s*-->\s*$`)
	shellLang = map[string]bool{"sh": true, "bash": true, "shell": true, "console": true}
	gqlLang   = map[string]bool{"graphql": true, "gql": true}
	// runnable-looking content in a block that would not run
	curlCall = regexp.MustCompile(`(^|[\s;|(&])curl\s`)
	gqlStart = regexp.MustCompile(`^(query|mutation|subscription|fragment)\b|^\{\s*[A-Za-z_]`)
)

// Parse returns the fenced blocks of a Markdown document, in order. It
// refuses a document whose marks are malformed, and any block that looks
// like a curl or GraphQL example but would not run (write it as ```sh or
// ```graphql, or mark it skip with a reason).
func Parse(file, markdown string) ([]Block, error) {
	var (
		blocks  []Block
		pending *Block // the mark seen on the line before a fence
		open    *Block
		closer  string
		body    strings.Builder
		lineNo  int
		lastRun = -1 // index of the last block a response may follow
	)
	sc := bufio.NewScanner(strings.NewReader(markdown))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		lineNo++
		if open != nil {
			if strings.TrimSpace(line) == closer {
				open.Body = body.String()
				b, err := classify(*open, lastRun)
				if err != nil {
					return nil, err
				}
				if b.Kind == Response {
					if blocks[lastRun].Kind == Shell {
						return nil, fmt.Errorf("%s: a shell block shows its output in comments (# {...}), not in a ```json response block, which would never be checked", b.Where())
					}
					blocks[lastRun].Expect = b.Body
					lastRun = -1
				}
				blocks = append(blocks, b)
				if b.Kind == Shell || b.Kind == GraphQL {
					lastRun = len(blocks) - 1
				}
				open = nil
				continue
			}
			body.WriteString(line)
			body.WriteByte('\n')
			continue
		}
		if m := markLine.FindStringSubmatch(line); m != nil {
			mark, err := parseMark(m[1])
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", file, lineNo, err)
			}
			mark.Line = lineNo
			pending = mark
			continue
		}
		if m := fence.FindStringSubmatch(line); m != nil {
			words := strings.Fields(m[3])
			open = &Block{File: file, Line: lineNo}
			if len(words) > 0 {
				open.Lang, open.Info = strings.ToLower(words[0]), words[1:]
			}
			if pending != nil {
				open.Mark, open.Reason, open.Status = pending.Mark, pending.Reason, pending.Status
				pending = nil
			}
			closer = strings.TrimSpace(m[2])
			body.Reset()
			continue
		}
		if pending != nil && strings.TrimSpace(line) != "" {
			return nil, fmt.Errorf("%s:%d: a <!-- doc: %s --> mark must be followed by a fenced block", file, pending.Line, pending.Mark)
		}
		if strings.TrimSpace(line) != "" {
			lastRun = -1 // prose between a block and a response detaches it
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	if open != nil {
		return nil, fmt.Errorf("%s:%d: unterminated code block", file, open.Line)
	}
	if pending != nil {
		return nil, fmt.Errorf("%s:%d: a <!-- doc: %s --> mark must be followed by a fenced block", file, pending.Line, pending.Mark)
	}
	return blocks, nil
}

// parseMark reads a mark's text into the block it will apply to.
func parseMark(text string) (*Block, error) {
	word, rest, _ := strings.Cut(text, " ")
	rest = strings.TrimSpace(rest)
	switch m := Mark(word); m {
	case MarkSkip:
		if rest == "" {
			return nil, fmt.Errorf("<!-- doc: skip --> needs a reason: <!-- doc: skip why it cannot run -->")
		}
		return &Block{Mark: m, Reason: rest}, nil
	case MarkStatus:
		code, err := strconv.Atoi(rest)
		if err != nil || code < 300 || code > 599 {
			return nil, fmt.Errorf("<!-- doc: status %s -->: want the HTTP error status every curl of the block answers, 300 to 599", rest)
		}
		return &Block{Mark: m, Status: code}, nil
	case MarkServer, MarkBackground, MarkRetry:
		if rest != "" {
			return nil, fmt.Errorf("<!-- doc: %s --> takes no argument, got %q", m, rest)
		}
		return &Block{Mark: m}, nil
	}
	return nil, fmt.Errorf("unknown mark <!-- doc: %s -->: want skip REASON, server, background, retry or status CODE", text)
}

// classify decides what the test does with b, refusing blocks that would
// silently escape it.
func classify(b Block, lastRun int) (Block, error) {
	switch {
	case shellLang[b.Lang]:
		b.Kind = Shell
	case gqlLang[b.Lang]:
		b.Kind = GraphQL
	case b.Lang == "json" && len(b.Info) == 1 && b.Info[0] == "response":
		if lastRun < 0 || b.Mark != MarkNone {
			return b, fmt.Errorf("%s: a ```json response block must follow the block it answers, with nothing but blank lines between", b.Where())
		}
		b.Kind = Response
		return b, nil
	default:
		b.Kind = Inert
	}
	if b.Mark == MarkSkip {
		return b, nil
	}
	if b.Kind == Inert {
		if b.Mark != MarkNone {
			return b, fmt.Errorf("%s: <!-- doc: %s --> on a ```%s block, which never runs", b.Where(), b.Mark, b.Lang)
		}
		if looksRunnable(b.Body) {
			return b, fmt.Errorf("%s: this ```%s block looks like a curl or GraphQL example but would not be run: make it ```sh or ```graphql ROLE, or mark it <!-- doc: skip REASON -->", b.Where(), b.Lang)
		}
		return b, nil
	}
	if b.Kind == GraphQL {
		if b.Mark == MarkServer || b.Mark == MarkBackground || b.Mark == MarkStatus {
			return b, fmt.Errorf("%s: <!-- doc: %s --> is for shell blocks (a GraphQL block shows an error with error=CODE)", b.Where(), b.Mark)
		}
		if _, err := ParseGraphQLSpec(b.Info); err != nil {
			return b, fmt.Errorf("%s: %w", b.Where(), err)
		}
	} else if len(b.Info) > 0 {
		return b, fmt.Errorf("%s: a shell block takes no info words, got %q", b.Where(), strings.Join(b.Info, " "))
	}
	return b, nil
}

// looksRunnable reports whether body holds a curl command or starts like a
// GraphQL operation.
func looksRunnable(body string) bool {
	if curlCall.MatchString(body) {
		return true
	}
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		return gqlStart.MatchString(line)
	}
	return false
}

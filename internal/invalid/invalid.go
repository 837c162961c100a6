// Package invalid is the error type for bad user input: what is wrong and in
// which input field. The GraphQL error presenter turns it into a
// BAD_USER_INPUT error naming the field; HTTP handlers into a 400.
package invalid

import (
	"errors"
	"fmt"
)

// ErrNotFound is wrapped by errors about ids that do not exist in the
// caller's project (whether they exist elsewhere is never revealed).
var ErrNotFound = errors.New("not found")

// Error is bad user input in one field.
type Error struct {
	// Field is the path of the offending input, e.g. "input.rule.and[1].event.withinDays".
	Field   string
	Message string
	// Err is an optional sentinel the error also matches (errors.Is).
	Err error
}

// Field returns an *Error for field.
func Field(field, format string, args ...any) *Error {
	return &Error{Field: field, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// Unwrap returns the sentinel the error matches, if any.
func (e *Error) Unwrap() error { return e.Err }

// Prefix returns a copy of err with prefix prepended to the field path when
// err is an *Error, so a nested validator's path becomes the caller's:
// Prefix("input", err) turns "rule.and[0]" into "input.rule.and[0]".
func Prefix(prefix string, err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	c := *e
	if c.Field == "" {
		c.Field = prefix
	} else {
		c.Field = prefix + "." + c.Field
	}
	return &c
}

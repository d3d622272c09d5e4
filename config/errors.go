// Package config holds what every YAML-reading package shares: errors that name
// file, line and field, strict decoding that keeps line numbers, and parameter
// specs that drive validation and docs for registered components.
package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrInvalid is matched (errors.Is) by every validation failure, so the CLI can
// map all of them to one exit code.
var ErrInvalid = errors.New("config: invalid")

// Error is one problem in one place of one file.
type Error struct {
	File   string
	Line   int
	Column int
	Field  string
	Msg    string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Errors is every problem found, so a user fixes them all in one pass.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (es Errors) Is(target error) bool { return target == ErrInvalid && len(es) > 0 }

// Err returns nil when there are no errors, so callers can `return errs.Err()`.
// The errors come back sorted, with at most one per field of a file: two
// checks that trip over the same spot (a duplicate id seen by the parser and
// again by a cross-file check) say one thing to the user.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	es.Sort()
	out := es[:1]
	for _, e := range es[1:] {
		last := out[len(out)-1]
		if e.Field != "" && e.File == last.File && e.Line == last.Line && e.Field == last.Field {
			continue
		}
		out = append(out, e)
	}
	return out
}

// Sort orders errors by file, then line, then field, so output is stable.
func (es Errors) Sort() {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Field < b.Field
	})
}

// As extracts the individual errors from err (an Errors, an *Error, or a
// wrapped one of those).
func As(err error) Errors {
	var es Errors
	if errors.As(err, &es) {
		return es
	}
	var e *Error
	if errors.As(err, &e) {
		return Errors{e}
	}
	return nil
}

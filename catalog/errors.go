package catalog

import (
	"fmt"
	"math"

	"github.com/recloop/recloop/config"
)

// maxProblems caps how many problems one load reports: past that, the user
// has a systematic problem and the rest of the list is noise.
const maxProblems = 50

// invalidError is a list of located problems that matches both ErrInvalid
// and config.ErrInvalid, and that config.As can take apart.
type invalidError struct{ errs config.Errors }

func (e *invalidError) Error() string   { return e.errs.Error() }
func (e *invalidError) Unwrap() []error { return []error{ErrInvalid, e.errs} }

// problems collects errors against one file, keeping the first maxProblems
// and counting the rest.
type problems struct {
	file string
	errs config.Errors
	more int
}

func (p *problems) add(line int, field, format string, args ...any) {
	p.addError(&config.Error{File: p.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (p *problems) addError(e *config.Error) {
	if len(p.errs) >= maxProblems {
		p.more++
		return
	}
	p.errs = append(p.errs, e)
}

func (p *problems) any() bool { return len(p.errs) > 0 }

// err returns nil when nothing was reported.
func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	errs := p.errs
	if p.more > 0 {
		errs = append(errs[:len(errs):len(errs)], &config.Error{File: p.file, Msg: fmt.Sprintf("… and %d more problems", p.more)})
	}
	return &invalidError{errs: errs}
}

// itemChecker validates items one at a time, remembering ids and the
// embedding dimension, so loaders can report problems at the item's line and
// New can report them at the item's index.
type itemChecker struct {
	firstAt  map[string]string
	dim      int
	dimWhere string
}

func newItemChecker(n int) *itemChecker {
	return &itemChecker{firstAt: make(map[string]string, n)}
}

// check reports every problem of it; where names the item for messages
// about other items ("line 4", "items[3]").
func (c *itemChecker) check(it *Item, where string, report func(field, format string, args ...any)) {
	switch first, dup := c.firstAt[it.ID]; {
	case it.ID == "":
		report("id", "is required")
	case dup:
		report("id", "%q is used more than once (first at %s)", it.ID, first)
	default:
		c.firstAt[it.ID] = where
	}
	if it.Popularity < 0 || math.IsNaN(it.Popularity) || math.IsInf(it.Popularity, 0) {
		report("popularity", "must be a finite number ≥ 0, got %v", it.Popularity)
	}
	if it.ReleaseRound < 0 {
		report("release_round", "must be ≥ 0, got %d", it.ReleaseRound)
	}
	if len(it.Embedding) == 0 {
		return
	}
	for k, x := range it.Embedding {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			report("embedding", "value %d is not a finite number", k)
			return
		}
	}
	switch {
	case c.dim == 0:
		c.dim, c.dimWhere = len(it.Embedding), where
	case len(it.Embedding) != c.dim:
		report("embedding", "has %d dimensions, but the one at %s has %d", len(it.Embedding), c.dimWhere, c.dim)
	}
}

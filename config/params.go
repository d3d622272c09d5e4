package config

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// ErrParam is matched (errors.Is) by every error of a ParamReader: code asked
// for a parameter its component does not declare, or read it as the wrong
// type. That is a bug in the component, not in the user's YAML, which Resolve
// has already checked; so it is not ErrInvalid.
var ErrParam = errors.New("config: parameter")

// ParamReader reads one component's parameters by name and type. It collects
// every problem instead of returning one per call, so a builder reads all its
// parameters in a row and checks once:
//
//	r := p.Reader("itemknn")
//	k, shrink := r.Int("neighbours"), r.Float("shrinkage")
//	if err := r.Err(); err != nil {
//		return nil, err
//	}
//
// A read that fails returns the zero value; Err then reports it, so the zero
// is never used silently.
type ParamReader struct {
	params    Params
	component string
	errs      []error
}

// Reader returns a reader of p for the component named component (which
// errors name).
func (p Params) Reader(component string) *ParamReader {
	return &ParamReader{params: p, component: component}
}

// Int reads an int parameter.
func (r *ParamReader) Int(name string) int { return read[int](r, name, Int) }

// Float reads a float parameter.
func (r *ParamReader) Float(name string) float64 { return read[float64](r, name, Float) }

// String reads a string parameter.
func (r *ParamReader) String(name string) string { return read[string](r, name, String) }

// Bool reads a bool parameter.
func (r *ParamReader) Bool(name string) bool { return read[bool](r, name, Bool) }

// Duration reads a duration parameter.
func (r *ParamReader) Duration(name string) time.Duration {
	return read[time.Duration](r, name, Duration)
}

// Params reads a nested parameter set, such as a wrapper's inner
// recommender's.
func (r *ParamReader) Params(name string) Params { return read[Params](r, name, "parameter set") }

// Err reports every failed read so far, joined; nil when all succeeded.
func (r *ParamReader) Err() error { return errors.Join(r.errs...) }

func read[T any](r *ParamReader, name string, kind Kind) T {
	var zero T
	v, ok := r.params[name]
	if !ok {
		have := slices.Sorted(maps.Keys(r.params))
		r.errs = append(r.errs, fmt.Errorf("%w %q of %s: no such parameter (it has %s)", ErrParam, name, r.component, strings.Join(have, ", ")))
		return zero
	}
	t, ok := v.(T)
	if !ok {
		r.errs = append(r.errs, fmt.Errorf("%w %q of %s: holds %T %v, want %s", ErrParam, name, r.component, v, v, kind))
		return zero
	}
	return t
}

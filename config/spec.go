package config

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// Kind is the type of a component parameter.
type Kind string

const (
	Int      Kind = "int"
	Float    Kind = "float"
	String   Kind = "string"
	Bool     Kind = "bool"
	Duration Kind = "duration"
)

// Param describes one parameter of a registered component. The same
// description validates YAML and generates the docs.
type Param struct {
	Name    string
	Kind    Kind
	Default any
	Min     *float64
	Max     *float64
	Enum    []string
	Doc     string
}

// AtLeast is a convenience for a lower bound only.
func AtLeast(lo float64) *float64 { return &lo }

// AtMost is a convenience for an upper bound only.
func AtMost(hi float64) *float64 { return &hi }

// Spec describes a registered component: its name, what it does, and its
// parameters.
type Spec struct {
	Name    string
	Summary string
	Params  []Param
}

// Params are validated parameter values with defaults filled in. Components
// read them through a ParamReader, never by indexing, so that a name the
// code gets wrong is an error rather than a zero.
type Params map[string]any

// Resolve checks raw against the spec and returns typed values with defaults.
// Problems are reported on doc at path (doc may be nil, then they are
// returned as located-less errors).
func (s Spec) Resolve(doc *Doc, path string, raw map[string]any) (Params, Errors) {
	var errs Errors
	report := func(field, format string, args ...any) {
		full := Join(path, field)
		if doc != nil {
			line, col := doc.Line(full)
			errs = append(errs, &Error{File: doc.File, Line: line, Column: col, Field: full, Msg: fmt.Sprintf(format, args...)})
			return
		}
		errs = append(errs, &Error{Field: full, Msg: fmt.Sprintf(format, args...)})
	}
	out := make(Params, len(s.Params))
	known := make(map[string]bool, len(s.Params))
	for _, p := range s.Params {
		known[p.Name] = true
		v, ok := raw[p.Name]
		if !ok || v == nil {
			out[p.Name] = p.Default
			continue
		}
		typed, err := p.coerce(v)
		if err != nil {
			report(p.Name, "%v", err)
			continue
		}
		out[p.Name] = typed
	}
	var unknown []string
	for name := range raw {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	for _, name := range unknown {
		report(name, "unknown parameter for %q (known: %s)", s.Name, strings.Join(s.ParamNames(), ", "))
	}
	return out, errs
}

// ParamNames lists the parameter names in declaration order.
func (s Spec) ParamNames() []string {
	names := make([]string, len(s.Params))
	for i, p := range s.Params {
		names[i] = p.Name
	}
	return names
}

// Defaults returns the parameters with every default filled in.
func (s Spec) Defaults() Params {
	p, _ := s.Resolve(nil, "", nil)
	return p
}

func (p Param) coerce(v any) (any, error) {
	switch p.Kind {
	case Int:
		var n int
		switch x := v.(type) {
		case int:
			n = x
		case float64:
			if x != math.Trunc(x) {
				return nil, fmt.Errorf("must be a whole number, got %v", x)
			}
			n = int(x)
		default:
			return nil, fmt.Errorf("must be a whole number, got %v", v)
		}
		return n, p.checkRange(float64(n))
	case Float:
		var f float64
		switch x := v.(type) {
		case int:
			f = float64(x)
		case float64:
			f = x
		default:
			return nil, fmt.Errorf("must be a number, got %v", v)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("must be a finite number")
		}
		return f, p.checkRange(f)
	case String:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("must be a string, got %v", v)
		}
		if len(p.Enum) > 0 && !slices.Contains(p.Enum, s) {
			return nil, fmt.Errorf("must be one of %s, got %q", strings.Join(p.Enum, ", "), s)
		}
		return s, nil
	case Bool:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("must be true or false, got %v", v)
		}
		return b, nil
	case Duration:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("must be a duration such as 500ms or 2s, got %v", v)
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("must be a duration such as 500ms or 2s, got %q", s)
		}
		return d, p.checkRange(d.Seconds())
	}
	return nil, fmt.Errorf("parameter kind %q is not supported", p.Kind)
}

func (p Param) checkRange(f float64) error {
	switch {
	case p.Min != nil && p.Max != nil && (f < *p.Min || f > *p.Max):
		return fmt.Errorf("must be between %g and %g, got %g", *p.Min, *p.Max, f)
	case p.Min != nil && f < *p.Min:
		return fmt.Errorf("must be at least %g, got %g", *p.Min, f)
	case p.Max != nil && f > *p.Max:
		return fmt.Errorf("must be at most %g, got %g", *p.Max, f)
	}
	return nil
}

// Markdown renders the spec as a docs section.
func (s Spec) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### `%s`\n\n%s\n\n", s.Name, s.Summary)
	if len(s.Params) == 0 {
		b.WriteString("No parameters.\n")
		return b.String()
	}
	b.WriteString("| parameter | type | default | allowed | meaning |\n|---|---|---|---|---|\n")
	for _, p := range s.Params {
		allowed := ""
		switch {
		case len(p.Enum) > 0:
			allowed = strings.Join(p.Enum, ", ")
		case p.Min != nil && p.Max != nil:
			allowed = fmt.Sprintf("%g to %g", *p.Min, *p.Max)
		case p.Min != nil:
			allowed = fmt.Sprintf("≥ %g", *p.Min)
		}
		fmt.Fprintf(&b, "| `%s` | %s | `%v` | %s | %s |\n", p.Name, p.Kind, p.Default, allowed, p.Doc)
	}
	return b.String()
}

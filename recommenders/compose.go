package recommenders

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/recloop/recloop/config"
)

// ErrBadName is returned for a recommender name that is not a name or a
// well-formed composition such as mmr(itemknn).
var ErrBadName = errors.New("recommenders: malformed recommender name")

// InnerParam is the parameter under which a wrapper's parameters hold its
// inner recommender's, nested once per layer:
// {lambda: 0.3, inner: {epsilon: 0.1, inner: {factors: 32}}}.
const InnerParam = "inner"

// WrapperFactory builds a wrapper around an inner recommender that is already
// built.
type WrapperFactory func(env Env, params config.Params, inner Recommender) (Recommender, error)

var wrappers = config.NewRegistry[WrapperFactory]("wrapper")

// RegisterWrapper makes a wrapper available by spec.Name, for use as
// name(inner). It panics on a duplicate name.
func RegisterWrapper(spec config.Spec, factory WrapperFactory) { wrappers.Register(spec, factory) }

// Wrappers lists the registered wrappers, sorted.
func Wrappers() []string { return wrappers.Names() }

// LookupWrapper returns the spec of a registered wrapper.
func LookupWrapper(name string) (config.Spec, bool) { return wrappers.Lookup(name) }

// Check reports whether name is a registered recommender or a composition of
// wrappers around one, and says what is wrong otherwise.
func Check(name string) error {
	_, err := parseName(name)
	return err
}

// parseName splits "mmr(explore(itemknn))" into its layers, outermost first,
// and checks that every layer but the last is a wrapper and the last is a
// recommender.
func parseName(name string) ([]string, error) {
	var layers []string
	rest := strings.TrimSpace(name)
	for {
		open := strings.IndexByte(rest, '(')
		if open < 0 {
			break
		}
		if !strings.HasSuffix(rest, ")") {
			return nil, fmt.Errorf("%w: %q: a wrapper is written wrapper(inner), for example mmr(itemknn)", ErrBadName, name)
		}
		if len(layers) == config.MaxCompositionDepth {
			return nil, fmt.Errorf("%w: nests more than %d wrappers, the limit", ErrBadName, config.MaxCompositionDepth)
		}
		layers = append(layers, strings.TrimSpace(rest[:open]))
		rest = strings.TrimSpace(rest[open+1 : len(rest)-1])
	}
	if strings.ContainsRune(rest, ')') {
		return nil, fmt.Errorf("%w: %q: unbalanced parentheses", ErrBadName, name)
	}
	layers = append(layers, rest)
	for i, l := range layers {
		_, isWrapper := wrappers.Lookup(l)
		_, isRecommender := registry.Lookup(l)
		last := i == len(layers)-1
		switch {
		case l == "":
			return nil, fmt.Errorf("%w: %q: empty name", ErrBadName, name)
		case last && isRecommender, !last && isWrapper:
		case last && isWrapper:
			return nil, fmt.Errorf("%w: %q wraps a recommender: write %s(itemknn)", ErrBadName, l, composeName(layers))
		case !last && isRecommender:
			return nil, fmt.Errorf("%w: %q is not a wrapper (wrappers: %s)", ErrBadName, l, strings.Join(Wrappers(), ", "))
		default:
			return nil, fmt.Errorf("%w %q (known: %s; wrappers: %s, written for example mmr(itemknn))",
				ErrUnknown, l, strings.Join(Names(), ", "), strings.Join(Wrappers(), ", "))
		}
	}
	return layers, nil
}

func composeName(layers []string) string {
	return strings.Join(layers, "(") + strings.Repeat(")", len(layers)-1)
}

// lookupComposed returns the spec of a composition: the outer wrapper's
// parameters, with the inner recommender's under InnerParam (which
// Spec.Resolve does not know; Resolve does).
func lookupComposed(name string) (config.Spec, bool) {
	layers, err := parseName(name)
	if err != nil {
		return config.Spec{}, false
	}
	if len(layers) == 1 {
		return registry.Lookup(layers[0])
	}
	spec, _ := wrappers.Lookup(layers[0])
	inner := composeName(layers[1:])
	spec.Name = composeName(layers)
	spec.Summary += fmt.Sprintf(" Here it wraps `%s`, whose parameters go under `%s:`.", inner, InnerParam)
	return spec, true
}

// Resolve validates the parameters of a recommender or a composition and
// fills in defaults. For a composition, raw holds the outer wrapper's
// parameters and, under InnerParam, a mapping with the inner's, nested in
// turn. Problems are reported on doc at path, path.inner, path.inner.inner…
// (doc may be nil).
func Resolve(doc *config.Doc, path, name string, raw map[string]any) (config.Params, config.Errors) {
	layers, err := parseName(name)
	if err != nil {
		return nil, config.Errors{locate(doc, path, "%v", err)}
	}
	return resolveLayers(doc, path, layers, raw)
}

func resolveLayers(doc *config.Doc, path string, layers []string, raw map[string]any) (config.Params, config.Errors) {
	if len(layers) == 1 {
		spec, _ := registry.Lookup(layers[0])
		return spec.Resolve(doc, path, raw)
	}
	spec, _ := wrappers.Lookup(layers[0])
	own := make(map[string]any, len(raw))
	for k, v := range raw {
		if k != InnerParam {
			own[k] = v
		}
	}
	params, errs := spec.Resolve(doc, path, own)
	var innerRaw map[string]any
	at := config.Join(path, InnerParam)
	switch v := raw[InnerParam].(type) {
	case nil:
	case map[string]any:
		innerRaw = v
	default:
		errs = append(errs, locate(doc, at, "must be a mapping of %s's parameters, got %v", composeName(layers[1:]), v))
	}
	inner, innerErrs := resolveLayers(doc, at, layers[1:], innerRaw)
	params[InnerParam] = inner
	return params, append(errs, innerErrs...)
}

func locate(doc *config.Doc, path, format string, args ...any) *config.Error {
	e := &config.Error{Field: path, Msg: fmt.Sprintf(format, args...)}
	if doc != nil {
		e.File = doc.File
		e.Line, e.Column = doc.Line(path)
	}
	return e
}

// innerOf returns the inner layers' parameters from a wrapper's. Params from
// the wrapper's own spec (Defaults) have none; the inner layers then get
// their defaults.
func innerOf(layers []string, params config.Params) (config.Params, error) {
	if _, ok := params[InnerParam]; !ok {
		inner, errs := resolveLayers(nil, "", layers[1:], nil)
		return inner, errs.Err()
	}
	r := params.Reader(layers[0])
	inner := r.Params(InnerParam)
	return inner, r.Err()
}

// newComposed builds the layers innermost first. Every layer gets the same
// Env; wrappers that draw randomness key it with their own name.
func newComposed(ctx context.Context, layers []string, env Env, params config.Params) (Recommender, error) {
	if len(layers) == 1 {
		_, factory, _ := registry.Factory(layers[0])
		return factory(ctx, env, params)
	}
	_, wrap, _ := wrappers.Factory(layers[0])
	innerParams, err := innerOf(layers, params)
	if err != nil {
		return nil, err
	}
	inner, err := newComposed(ctx, layers[1:], env, innerParams)
	if err != nil {
		return nil, err
	}
	r, err := wrap(env, params, inner)
	if err != nil {
		if c, ok := inner.(Closer); ok {
			err = errors.Join(err, c.Close())
		}
		return nil, fmt.Errorf("recommenders: %s: %w", layers[0], err)
	}
	return r, nil
}

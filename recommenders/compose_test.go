package recommenders

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseName(t *testing.T) {
	tests := []struct {
		name   string
		layers []string
		err    error
		msg    string
	}{
		{"mf", []string{"mf"}, nil, ""},
		{"mmr(mf)", []string{"mmr", "mf"}, nil, ""},
		{" calibrated( explore(itemknn) ) ", []string{"calibrated", "explore", "itemknn"}, nil, ""},
		{"mmr", nil, ErrBadName, `"mmr" wraps a recommender: write mmr(itemknn)`},
		{"mf(itemknn)", nil, ErrBadName, `"mf" is not a wrapper (wrappers: calibrated, explore, mmr)`},
		{"mmr(mf", nil, ErrBadName, "a wrapper is written wrapper(inner)"},
		{"mmr(mf))", nil, ErrBadName, "unbalanced parentheses"},
		{"mmr()", nil, ErrBadName, "empty name"},
		{"magic", nil, ErrUnknown, `unknown recommender "magic" (known: `},
		{"mmr(magic)", nil, ErrUnknown, `unknown recommender "magic"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			layers, err := parseName(tt.name)
			if !errors.Is(err, tt.err) || (err != nil && !strings.Contains(err.Error(), tt.msg)) {
				t.Fatalf("err = %v, want %v containing %q", err, tt.err, tt.msg)
			}
			if !slices.Equal(layers, tt.layers) {
				t.Errorf("layers = %q, want %q", layers, tt.layers)
			}
		})
	}
}

func TestResolveNestsParameters(t *testing.T) {
	params, errs := Resolve(nil, "params", "calibrated(explore(mf))", map[string]any{
		"lambda": 0.2,
		"inner":  map[string]any{"epsilon": 0.05, "inner": map[string]any{"factors": 8}},
	})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	calibrated := params.Reader("calibrated")
	explore := calibrated.Params(InnerParam).Reader("explore")
	mf := explore.Params(InnerParam).Reader("mf")
	if calibrated.Float("lambda") != 0.2 || calibrated.Int("pool") != 5 || explore.Float("epsilon") != 0.05 ||
		mf.Int("factors") != 8 || mf.Int("retrain_every") != 1 {
		t.Errorf("resolved %v", params)
	}
	if err := errors.Join(calibrated.Err(), explore.Err(), mf.Err()); err != nil {
		t.Error(err)
	}

	_, errs = Resolve(nil, "params", "mmr(explore(mf))", map[string]any{
		"lambda": 2,
		"inner":  map[string]any{"inner": map[string]any{"factor": 8}, "epsilon": "lots"},
	})
	got := errs.Error()
	for _, want := range []string{
		"params.lambda: must be between 0 and 1",
		"params.inner.epsilon: must be a number",
		`params.inner.inner.factor: unknown parameter for "mf"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if _, errs := Resolve(nil, "params", "mmr(mf)", map[string]any{"inner": 3}); !strings.Contains(errs.Error(), "params.inner: must be a mapping of mf's parameters") {
		t.Errorf("inner: 3 gave %v", errs)
	}
	if _, errs := Resolve(nil, "params", "mf", map[string]any{"inner": map[string]any{}}); !strings.Contains(errs.Error(), `params.inner: unknown parameter for "mf"`) {
		t.Errorf("inner on a plain recommender gave %v", errs)
	}
}

func TestLookupComposed(t *testing.T) {
	spec, ok := Lookup("mmr(explore(mf))")
	if !ok || spec.Name != "mmr(explore(mf))" || !slices.Equal(spec.ParamNames(), []string{"lambda", "pool"}) ||
		!strings.Contains(spec.Summary, "wraps `explore(mf)`") {
		t.Errorf("spec = %+v", spec)
	}
	if _, ok := Lookup("mmr"); ok {
		t.Error("a bare wrapper looked up")
	}
	// New with the spec's defaults (no inner parameters) builds the inner
	// with its own defaults.
	r, err := New(t.Context(), "mmr(explore(mf))", Env{Catalog: tinyCatalog(t)}, spec.Defaults())
	if err != nil {
		t.Fatal(err)
	}
	inner := r.(*mmr).inner.(*explore)
	if inner.epsilon != 0.1 || inner.inner.(*mf).factors != 16 {
		t.Errorf("inner defaults not applied: ε = %g", inner.epsilon)
	}
}

func FuzzParseName(f *testing.F) {
	for _, seed := range []string{"mf", "mmr(mf)", "calibrated(explore(itemknn))", "mmr(", ")(", "mmr(mf))", " explore ( popular ) "} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		layers, err := parseName(name)
		if err != nil {
			if !errors.Is(err, ErrBadName) && !errors.Is(err, ErrUnknown) {
				t.Fatalf("%q: error %v wraps neither sentinel", name, err)
			}
			return
		}
		again, err := parseName(composeName(layers))
		if err != nil || !slices.Equal(again, layers) {
			t.Fatalf("%q parsed to %q, which reparses to %q, %v", name, layers, again, err)
		}
		if _, ok := Lookup(name); !ok {
			t.Fatalf("%q parses but does not look up", name)
		}
	})
}

// TestCompositionDepthIsBounded: a name nested 100,000 deep hung; beyond
// config.MaxCompositionDepth wrappers it is refused at once, with a short
// message that says the limit.
func TestCompositionDepthIsBounded(t *testing.T) {
	nest := func(n int) string { return strings.Repeat("mmr(", n) + "popular" + strings.Repeat(")", n) }
	if err := Check(nest(16)); err != nil {
		t.Fatalf("16 deep: %v", err)
	}
	for _, n := range []int{17, 100000} {
		err := Check(nest(n))
		if !errors.Is(err, ErrBadName) || !strings.Contains(err.Error(), "more than 16 wrappers") || len(err.Error()) > 200 {
			t.Errorf("%d deep: %v", n, err)
		}
	}
}

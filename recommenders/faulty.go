package recommenders

import (
	"context"
	"errors"
	"fmt"

	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/internal/rng"
)

// ErrInjected marks a failure the faulty recommender made up on purpose.
var ErrInjected = errors.New("recommenders: injected fault")

var faultySpec = config.Spec{
	Name: "faulty",
	Summary: "Fault injection for chaos tests: wraps a built-in (with its default parameters) and fails a " +
		"share of its Recommend calls. Whether a call fails depends only on the variant's seed, the user " +
		"and the round, so the same calls fail in every run and at any concurrency. Errors wrap " +
		"`recommenders.ErrInjected`; injected timeouts also wrap `context.DeadlineExceeded` and return at once.",
	Params: []config.Param{
		{Name: "inner", Kind: config.String, Default: "popular", Enum: []string{"content", "itemknn", "popular", "random"},
			Doc: "The built-in that answers the calls that do not fail."},
		{Name: "error_rate", Kind: config.Float, Default: 0.1, Min: ptr(0.0), Max: ptr(1.0),
			Doc: "Share of calls that fail with an error."},
		{Name: "timeout_rate", Kind: config.Float, Default: 0.0, Min: ptr(0.0), Max: ptr(1.0),
			Doc: "Share of calls that fail as timed out. error_rate + timeout_rate must not exceed 1."},
	},
}

func init() {
	Register(faultySpec, func(ctx context.Context, env Env, p config.Params) (Recommender, error) {
		r := p.Reader(faultySpec.Name)
		f := &faulty{seed: env.Seed, errorRate: r.Float("error_rate"), timeoutRate: r.Float("timeout_rate")}
		name := r.String("inner")
		if err := r.Err(); err != nil {
			return nil, err
		}
		if f.errorRate+f.timeoutRate > 1 {
			return nil, fmt.Errorf("recommenders: faulty: error_rate + timeout_rate = %g exceeds 1", f.errorRate+f.timeoutRate)
		}
		spec, ok := Lookup(name)
		if !ok || name == faultySpec.Name {
			return nil, fmt.Errorf("%w: faulty cannot wrap %q", ErrUnknown, name)
		}
		inner, err := New(ctx, name, env, spec.Defaults())
		if err != nil {
			return nil, fmt.Errorf("recommenders: faulty: building %q: %w", name, err)
		}
		f.inner = inner
		return f, nil
	})
}

type faulty struct {
	inner                  Recommender
	seed                   uint64
	errorRate, timeoutRate float64
}

func (f *faulty) Recommend(ctx context.Context, req Request) (Slate, error) {
	u := rng.Uniform(rng.Key(f.seed, rng.PurposeFault, rng.StringKey(req.User), uint64(req.Round)))
	switch {
	case u < f.errorRate:
		return Slate{}, fmt.Errorf("%w: error for user %q in round %d", ErrInjected, req.User, req.Round)
	case u < f.errorRate+f.timeoutRate:
		return Slate{}, fmt.Errorf("%w: timeout for user %q in round %d: %w", ErrInjected, req.User, req.Round, context.DeadlineExceeded)
	}
	return f.inner.Recommend(ctx, req)
}

func (f *faulty) Observe(ctx context.Context, feedback []Feedback) error {
	return f.inner.Observe(ctx, feedback)
}

func (f *faulty) Reset(ctx context.Context) error {
	if r, ok := f.inner.(Resetter); ok {
		return r.Reset(ctx)
	}
	return nil
}

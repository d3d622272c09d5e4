// Package rectest provides recommenders for other packages' tests: one that
// fails on a stable share of calls, one that is slow, one that returns a
// fixed slate, and one that records what it is told.
package rectest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/recloop/recloop/internal/rng"
	"github.com/recloop/recloop/recommenders"
)

// ErrFlaky is the error Flaky returns for the calls it fails.
var ErrFlaky = errors.New("rectest: flaky recommender failed")

// Flaky fails a share of Recommend calls and passes the rest to Inner.
// Whether a call fails depends only on Seed, the user and the round, so the
// same calls fail at any concurrency and in any order.
type Flaky struct {
	Inner     recommenders.Recommender
	ErrorRate float64
	Seed      uint64
}

// Fails reports whether Flaky fails the call for user in round.
func (f *Flaky) Fails(user string, round int) bool {
	return rng.Uniform(rng.Key(f.Seed, rng.PurposeFault, rng.StringKey(user), uint64(round))) < f.ErrorRate
}

func (f *Flaky) Recommend(ctx context.Context, req recommenders.Request) (recommenders.Slate, error) {
	if f.Fails(req.User, req.Round) {
		return recommenders.Slate{}, fmt.Errorf("%w: user %q, round %d", ErrFlaky, req.User, req.Round)
	}
	return f.Inner.Recommend(ctx, req)
}

func (f *Flaky) Observe(ctx context.Context, feedback []recommenders.Feedback) error {
	return f.Inner.Observe(ctx, feedback)
}

// Slow waits Delay, or until the context is done, before answering. After
// the delay it answers with Inner, or with an empty slate when Inner is nil.
// When the context ends first it returns the context's error.
type Slow struct {
	Inner recommenders.Recommender
	Delay time.Duration
}

func (s *Slow) Recommend(ctx context.Context, req recommenders.Request) (recommenders.Slate, error) {
	t := time.NewTimer(s.Delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return recommenders.Slate{}, fmt.Errorf("rectest: slow recommender gave up: %w", ctx.Err())
	case <-t.C:
	}
	if s.Inner == nil {
		return recommenders.Slate{}, nil
	}
	return s.Inner.Recommend(ctx, req)
}

func (s *Slow) Observe(ctx context.Context, feedback []recommenders.Feedback) error {
	if s.Inner == nil {
		return nil
	}
	return s.Inner.Observe(ctx, feedback)
}

// Static returns the same slate for every request, without checking it, so
// it can feed invalid ids, duplicates or odd scores to validation code.
type Static struct {
	Items []recommenders.Scored
}

func (s *Static) Recommend(context.Context, recommenders.Request) (recommenders.Slate, error) {
	return recommenders.Slate{Items: slices.Clone(s.Items)}, nil
}

func (s *Static) Observe(context.Context, []recommenders.Feedback) error { return nil }

// Recorder passes calls to Inner and records every request and every
// Observe batch. It is safe for concurrent use.
type Recorder struct {
	Inner recommenders.Recommender

	mu       sync.Mutex
	requests []recommenders.Request
	batches  [][]recommenders.Feedback
	resets   int
}

func (r *Recorder) Recommend(ctx context.Context, req recommenders.Request) (recommenders.Slate, error) {
	req.History = slices.Clone(req.History)
	r.mu.Lock()
	r.requests = append(r.requests, req)
	r.mu.Unlock()
	return r.Inner.Recommend(ctx, req)
}

func (r *Recorder) Observe(ctx context.Context, feedback []recommenders.Feedback) error {
	r.mu.Lock()
	r.batches = append(r.batches, slices.Clone(feedback))
	r.mu.Unlock()
	return r.Inner.Observe(ctx, feedback)
}

// Reset counts the reset and passes it on when Inner can reset.
func (r *Recorder) Reset(ctx context.Context) error {
	r.mu.Lock()
	r.resets++
	r.mu.Unlock()
	if in, ok := r.Inner.(recommenders.Resetter); ok {
		return in.Reset(ctx)
	}
	return nil
}

// Requests returns the requests seen so far, in arrival order.
func (r *Recorder) Requests() []recommenders.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.requests)
}

// Batches returns the Observe batches seen so far, in order.
func (r *Recorder) Batches() [][]recommenders.Feedback {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

// Resets is how many times Reset was called.
func (r *Recorder) Resets() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.resets
}

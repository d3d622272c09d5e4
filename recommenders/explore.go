package recommenders

import (
	"context"
	"fmt"

	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/internal/rng"
)

var exploreSpec = config.Spec{
	Name: "explore",
	Summary: "ε-greedy exploration. Each slot of the slate independently goes, with probability ε, to an item " +
		"drawn uniformly from the eligible items outside the inner's pool × k candidates; the other slots " +
		"keep the inner's items in the inner's order. Draws depend only on the variant's seed, the user and " +
		"the round, so they repeat across runs and at any concurrency.",
	Params: []config.Param{
		{Name: "epsilon", Kind: config.Float, Default: 0.1, Min: ptr(0.0), Max: ptr(1.0),
			Doc: "ε: the expected share of slots given to exploration."},
		poolParam,
	},
}

// exploredRank marks a slot explore filled at random.
const exploredRank = -1

// exploreTries bounds the rejection sampling of an exploration item before
// it falls back to a scan from a random start.
const exploreTries = 32

func init() {
	RegisterWrapper(exploreSpec, func(env Env, p config.Params, inner Recommender) (Recommender, error) {
		r := p.Reader(exploreSpec.Name)
		pool, epsilon := r.Int("pool"), r.Float("epsilon")
		if err := r.Err(); err != nil {
			return nil, err
		}
		w, err := newReranker(env, "explore", inner, pool)
		if err != nil {
			return nil, err
		}
		e := &explore{reranker: w, epsilon: epsilon, seed: rng.Key(env.Seed, rng.PurposeRecommender, rng.StringKey("explore"))}
		e.note = fmt.Sprintf("explore: something outside your usual recommendations, picked at random (ε = %g)", e.epsilon)
		return e, nil
	})
}

type explore struct {
	*reranker
	epsilon float64
	seed    uint64
	note    string
}

func (e *explore) Recommend(ctx context.Context, req Request) (Slate, error) {
	s, k, err := e.begin(ctx, req)
	if err != nil {
		return Slate{}, err
	}
	defer e.end(s)
	pool, err := e.candidates(ctx, req, s, k)
	if err != nil {
		return Slate{}, err
	}
	key := rng.Key(e.seed, rng.StringKey(req.User), uint64(req.Round))
	picked := make([]poolEntry, 0, k)
	next := 0
	for slot := 0; slot < k; slot++ {
		if rng.Uniform(rng.Key(key, uint64(slot))) < e.epsilon {
			if i, ok := e.draw(s, req.Round, rng.Key(key, uint64(slot), 1)); ok {
				s.excluded.add(i)
				picked = append(picked, poolEntry{item: i, rank: exploredRank})
				continue
			}
		}
		if next < len(pool) {
			picked = append(picked, pool[next])
			next++
		}
	}
	picked = e.fill(picked, s, k, req.Round)
	return e.finish(picked, k, func(p poolEntry, _ int) string {
		if p.rank == exploredRank {
			return e.note
		}
		return ""
	}), nil
}

// draw picks an eligible item outside the pool (the pool's items are
// already excluded in s) uniformly at random.
func (e *explore) draw(s *scratch, round int, key uint64) (int32, bool) {
	n := e.cat.Len()
	for try := range exploreTries {
		i := int32(rng.Uniform(rng.Key(key, uint64(try))) * float64(n))
		if e.eligible(s, i, round) {
			return i, true
		}
	}
	start := int(rng.Uniform(rng.Key(key, exploreTries)) * float64(n))
	for d := range n {
		if i := int32((start + d) % n); e.eligible(s, i, round) {
			return i, true
		}
	}
	return 0, false
}

package recommenders

import (
	"context"
	"fmt"

	"github.com/recloop/recloop/config"
)

// poolParam is every wrapper's candidate pool size.
var poolParam = config.Param{Name: "pool", Kind: config.Int, Default: 5, Min: ptr(1.0), Max: ptr(100.0),
	Doc: "The wrapper asks the inner recommender for pool × k candidates and picks k of them."}

var mmrSpec = config.Spec{
	Name: "mmr",
	Summary: "Maximal marginal relevance (Carbonell & Goldstein 1998) re-ranking for diversity. " +
		"The inner's pool × k candidates keep their inner scores min-max normalised to rel ∈ [0, 1]; " +
		"the slate is built greedily, each slot taking the candidate that maximises " +
		"(1 − λ)·rel(i) − λ·max_{j picked} sim(i, j), with sim the catalog's cosine similarity " +
		"(the one ILD uses). λ = 0 keeps the inner's ranking; larger λ trades relevance for variety.",
	Params: []config.Param{
		{Name: "lambda", Kind: config.Float, Default: 0.3, Min: ptr(0.0), Max: ptr(1.0),
			Doc: "λ: the weight of dissimilarity to the items already picked against relevance."},
		poolParam,
	},
}

func init() {
	RegisterWrapper(mmrSpec, func(env Env, p config.Params, inner Recommender) (Recommender, error) {
		r := p.Reader(mmrSpec.Name)
		pool, lambda := r.Int("pool"), r.Float("lambda")
		if err := r.Err(); err != nil {
			return nil, err
		}
		w, err := newReranker(env, "mmr", inner, pool)
		if err != nil {
			return nil, err
		}
		return &mmr{reranker: w, lambda: lambda}, nil
	})
}

type mmr struct {
	*reranker
	lambda float64
}

func (m *mmr) Recommend(ctx context.Context, req Request) (Slate, error) {
	s, k, err := m.begin(ctx, req)
	if err != nil {
		return Slate{}, err
	}
	defer m.end(s)
	pool, err := m.candidates(ctx, req, s, k)
	if err != nil {
		return Slate{}, err
	}
	picked := m.fill(m.rerank(pool, relevance(pool), k), s, k, req.Round)
	return m.finish(picked, k, func(e poolEntry, rank int) string {
		return m.rankNote(e, rank, fmt.Sprintf("for variety (λ = %g)", m.lambda))
	}), nil
}

// rerank is the greedy MMR selection; ties keep the inner's order.
func (m *mmr) rerank(pool []poolEntry, rel []float64, k int) []poolEntry {
	maxSim := make([]float64, len(pool))
	taken := make([]bool, len(pool))
	picked := make([]poolEntry, 0, min(k, len(pool)))
	for len(picked) < cap(picked) {
		best, bestVal := -1, 0.0
		for c := range pool {
			if taken[c] {
				continue
			}
			if v := (1-m.lambda)*rel[c] - m.lambda*maxSim[c]; best < 0 || v > bestVal {
				best, bestVal = c, v
			}
		}
		taken[best] = true
		picked = append(picked, pool[best])
		for c := range pool {
			if !taken[c] {
				maxSim[c] = max(maxSim[c], m.cat.Similarity(int(pool[best].item), int(pool[c].item)))
			}
		}
	}
	return picked
}

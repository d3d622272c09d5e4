package recommenders

import (
	"context"
	"fmt"
	"math"

	"github.com/recloop/recloop/config"
)

// calibrationAlpha is Steck's smoothing of the slate distribution, the α of
// METRICS.md's calibration KL.
const calibrationAlpha = 0.01

var calibratedSpec = config.Spec{
	Name: "calibrated",
	Summary: "Calibrated re-ranking (Steck 2018): the slate's category distribution is made to mirror the " +
		"user's history. p(g|u) is the category distribution of the history and q(g|S) that of the slate S, " +
		"each item spreading weight 1 evenly over its categories (as METRICS.md's calibration KL); " +
		"q̃ = (1 − α)·q + α·p with α = 0.01. The slate is built greedily from the inner's pool × k candidates, " +
		"each slot adding the candidate that maximises (1 − λ)·Σ_{i∈S} rel(i) − λ·KL(p‖q̃(S)), " +
		"KL in bits and rel the inner's scores min-max normalised to [0, 1] over the pool. " +
		"Users without categorised history keep the inner's ranking.",
	Params: []config.Param{
		{Name: "lambda", Kind: config.Float, Default: 0.5, Min: ptr(0.0), Max: ptr(1.0),
			Doc: "λ: the weight of calibration against relevance; 0 keeps the inner's ranking."},
		poolParam,
	},
}

func init() {
	RegisterWrapper(calibratedSpec, func(env Env, p config.Params, inner Recommender) (Recommender, error) {
		r := p.Reader(calibratedSpec.Name)
		pool, lambda := r.Int("pool"), r.Float("lambda")
		if err := r.Err(); err != nil {
			return nil, err
		}
		w, err := newReranker(env, "calibrated", inner, pool)
		if err != nil {
			return nil, err
		}
		return &calibrated{reranker: w, lambda: lambda}, nil
	})
}

type calibrated struct {
	*reranker
	lambda float64
}

func (c *calibrated) Recommend(ctx context.Context, req Request) (Slate, error) {
	s, k, err := c.begin(ctx, req)
	if err != nil {
		return Slate{}, err
	}
	defer c.end(s)
	p := c.categoryDistribution(s.hist)
	pool, err := c.candidates(ctx, req, s, k)
	if err != nil {
		return Slate{}, err
	}
	picked := c.fill(c.rerank(pool, relevance(pool), p, k), s, k, req.Round)
	return c.finish(picked, k, func(e poolEntry, rank int) string {
		return c.rankNote(e, rank, fmt.Sprintf("to mirror the mix of genres you watch (λ = %g)", c.lambda))
	}), nil
}

// categoryDistribution is p(g|u) over the items, or nil when none of them
// has a category.
func (c *calibrated) categoryDistribution(items []int32) []float64 {
	p := make([]float64, len(c.cat.Categories()))
	total := 0.0
	for _, i := range items {
		cats := c.cat.ItemCategories(int(i))
		for _, g := range cats {
			p[g] += 1 / float64(len(cats))
		}
		if len(cats) > 0 {
			total++
		}
	}
	if total == 0 {
		return nil
	}
	for g := range p {
		p[g] /= total
	}
	return p
}

// klAdding is KL(p‖q̃) in bits for the slate whose category weights are
// mass (over n categorised items) with item added.
func (c *calibrated) klAdding(p, mass []float64, n float64, item int32) float64 {
	cats := c.cat.ItemCategories(int(item))
	if len(cats) > 0 {
		n++
	}
	var kl float64
	for g, pg := range p {
		if pg == 0 {
			continue
		}
		m := mass[g]
		for _, h := range cats {
			if int(h) == g {
				m += 1 / float64(len(cats))
			}
		}
		q := 0.0
		if n > 0 {
			q = m / n
		}
		kl += pg * math.Log2(pg/((1-calibrationAlpha)*q+calibrationAlpha*pg))
	}
	return kl
}

// rerank is Steck's greedy selection; ties keep the inner's order.
func (c *calibrated) rerank(pool []poolEntry, rel, p []float64, k int) []poolEntry {
	n := min(k, len(pool))
	if p == nil || c.lambda == 0 {
		return pool[:n]
	}
	mass := make([]float64, len(p))
	items := 0.0
	relSum := 0.0
	taken := make([]bool, len(pool))
	picked := make([]poolEntry, 0, n)
	for len(picked) < n {
		best, bestVal := -1, 0.0
		for i := range pool {
			if taken[i] {
				continue
			}
			v := (1-c.lambda)*(relSum+rel[i]) - c.lambda*c.klAdding(p, mass, items, pool[i].item)
			if best < 0 || v > bestVal {
				best, bestVal = i, v
			}
		}
		taken[best] = true
		picked = append(picked, pool[best])
		relSum += rel[best]
		if cats := c.cat.ItemCategories(int(pool[best].item)); len(cats) > 0 {
			items++
			for _, g := range cats {
				mass[g] += 1 / float64(len(cats))
			}
		}
	}
	return picked
}

package metrics

import (
	"math"

	"github.com/recloop/recloop/internal/rng"
)

// pairPlan fixes the persona pairs homogenisation averages over: every pair
// of the first `universe` personas when there are at most 1,000 of them (or
// the pair budget covers them all), otherwise a seeded sample without
// replacement. The pairs are the same in every variant, so the variants'
// values are paired.
type pairPlan struct {
	universe int
	all      bool
	pairs    []personaPair
	// partners lists, per persona, the sampled pairs it belongs to.
	partners [][]partner
}

type personaPair struct{ a, b int32 }

type partner struct{ other, pair int32 }

func planPairs(personas int, cfg Config) pairPlan {
	plan := pairPlan{universe: personas}
	total := personas * (personas - 1) / 2
	if personas <= allPairsPersonas || total <= cfg.HomogenisationMaxPairs {
		plan.all = true
		plan.pairs = make([]personaPair, 0, total)
		for x := range personas {
			for y := x + 1; y < personas; y++ {
				plan.pairs = append(plan.pairs, personaPair{int32(x), int32(y)})
			}
		}
		return plan
	}
	return samplePairs(personas, cfg.HomogenisationMaxPairs, cfg.Seed)
}

// samplePairs draws m distinct pairs of distinct personas uniformly;
// m must be below personas·(personas−1)/2.
func samplePairs(personas, m int, seed uint64) pairPlan {
	plan := pairPlan{universe: personas, partners: make([][]partner, personas)}
	r := rng.New(rng.Key(seed, rng.PurposeSample, rng.StringKey(Homogenisation)))
	seen := make(map[personaPair]bool, m)
	for len(plan.pairs) < m {
		x, y := r.IntN(personas), r.IntN(personas-1)
		if y >= x {
			y++
		}
		pp := personaPair{int32(min(x, y)), int32(max(x, y))}
		if seen[pp] {
			continue
		}
		seen[pp] = true
		k := int32(len(plan.pairs))
		plan.pairs = append(plan.pairs, pp)
		plan.partners[pp.a] = append(plan.partners[pp.a], partner{pp.b, k})
		plan.partners[pp.b] = append(plan.partners[pp.b], partner{pp.a, k})
	}
	return plan
}

// index is the position of pair (x, y), x < y, in an all-pairs plan.
func (p *pairPlan) index(x, y int32) int {
	n, a, b := p.universe, int(x), int(y)
	return a*(2*n-a-1)/2 + (b - a - 1)
}

// homogState holds the run-consumed set of every persona in the pair
// universe and counts |A ∩ B| per pair incrementally: when a persona
// consumes an item for the first time, every tracked pair whose other
// member already consumed it gains one. |A ∪ B| = |A| + |B| − |A ∩ B|
// follows from the set sizes, so a round's mean costs one pass over the
// pairs.
type homogState struct {
	sets  [][]int32 // per persona, ascending
	inter []int32
	// consumers lists, per item, the personas that consumed it (all-pairs
	// plans only; sampled plans look the partner's set up instead).
	consumers [][]int32
}

func newHomogState(plan *pairPlan, items int) homogState {
	h := homogState{sets: make([][]int32, plan.universe), inter: make([]int32, len(plan.pairs))}
	if plan.all {
		h.consumers = make([][]int32, items)
	}
	return h
}

// consume records that persona u consumed item.
func (h *homogState) consume(plan *pairPlan, u, item int32) {
	if int(u) >= plan.universe {
		return
	}
	var added bool
	if h.sets[u], added = insertSorted(h.sets[u], item); !added {
		return
	}
	if plan.all {
		for _, w := range h.consumers[item] {
			h.inter[plan.index(min(u, w), max(u, w))]++
		}
		h.consumers[item] = append(h.consumers[item], u)
		return
	}
	for _, pt := range plan.partners[u] {
		if containsSorted(h.sets[pt.other], item) {
			h.inter[pt.pair]++
		}
	}
}

// jaccards returns each pair's |A ∩ B| / |A ∪ B|, NaN for a pair that
// consumed nothing at all.
func (h *homogState) jaccards(plan *pairPlan) []float64 {
	out := make([]float64, len(plan.pairs))
	for k, pp := range plan.pairs {
		out[k] = jaccardFromCounts(int(h.inter[k]), len(h.sets[pp.a]), len(h.sets[pp.b]))
	}
	return out
}

// mean is the mean Jaccard index over the pairs where it is defined.
func (h *homogState) mean(plan *pairPlan) float64 {
	var sum float64
	n := 0
	for k, pp := range plan.pairs {
		if j := jaccardFromCounts(int(h.inter[k]), len(h.sets[pp.a]), len(h.sets[pp.b])); !math.IsNaN(j) {
			sum += j
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// jaccardFromCounts is |A ∩ B| / (|A| + |B| − |A ∩ B|), NaN when both sets are empty.
func jaccardFromCounts(inter, sizeA, sizeB int) float64 {
	union := sizeA + sizeB - inter
	if union == 0 {
		return math.NaN()
	}
	return float64(inter) / float64(union)
}

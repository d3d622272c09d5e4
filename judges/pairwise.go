package judges

import (
	"context"
	"fmt"
	"sort"

	"golang.org/x/sync/errgroup"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/internal/rng"
)

// PairResult is how one candidate variant's explanations fared against the
// baseline's, for the same persona, round and item, judged blind in both
// orders.
type PairResult struct {
	Baseline, Candidate string
	Compared            int
	BaselineWins        int
	CandidateWins       int
	Ties                int
	// PositionBiased counts comparisons whose two orders disagreed.
	PositionBiased int
}

// RunPairwise compares the baseline (the run's first variant) with every
// other variant wherever both explained the same item to the same persona in
// the same round, on at most cfg.Sample such pairs per candidate (seeded).
func RunPairwise(ctx context.Context, cat *catalog.Catalog, trajectoriesPath string, judge Pairwise, cfg RunConfig) ([]PairResult, error) {
	if cfg.Sample <= 0 {
		cfg.Sample = DefaultSample
	}
	var cases []judgedCase
	err := visitCases(cat, trajectoriesPath, []Panelist{{Name: "pairwise"}}, nil, func(c judgedCase) error {
		cases = append(cases, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	type slot struct {
		persona string
		round   int
		item    string
	}
	var variants []string
	byVariant := map[string]map[slot]int{}
	for i, c := range cases {
		m := byVariant[c.Variant]
		if m == nil {
			m = map[slot]int{}
			byVariant[c.Variant] = m
			variants = append(variants, c.Variant)
		}
		m[slot{c.Persona, c.Round, c.Item.ID}] = i
	}
	if len(variants) < 2 {
		return nil, nil
	}
	baseline := variants[0]
	results := make([]PairResult, 0, len(variants)-1)
	for v, candidate := range variants[1:] {
		var shared []slot
		for s := range byVariant[candidate] {
			if _, ok := byVariant[baseline][s]; ok {
				shared = append(shared, s)
			}
		}
		sort.Slice(shared, func(i, j int) bool {
			a, b := shared[i], shared[j]
			if a.round != b.round {
				return a.round < b.round
			}
			if a.persona != b.persona {
				return a.persona < b.persona
			}
			return a.item < b.item
		})
		r := rng.New(rng.Key(cfg.Seed, rng.PurposeSample, uint64(v), rng.StringKey("pairwise")))
		r.Shuffle(len(shared), func(i, j int) { shared[i], shared[j] = shared[j], shared[i] })
		if len(shared) > cfg.Sample {
			shared = shared[:cfg.Sample]
		}
		verdicts := make([]PairVerdict, len(shared))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(max(1, cfg.Concurrency))
		for k, s := range shared {
			g.Go(func() error {
				pv, err := judge.Compare(gctx, cases[byVariant[baseline][s]].Case, cases[byVariant[candidate][s]].Case)
				if err != nil {
					return fmt.Errorf("judges: pairwise %s vs %s: %w", baseline, candidate, err)
				}
				verdicts[k] = pv
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return results, err
		}
		res := PairResult{Baseline: baseline, Candidate: candidate, Compared: len(verdicts)}
		for _, pv := range verdicts {
			switch pv.Winner {
			case WinnerA:
				res.BaselineWins++
			case WinnerB:
				res.CandidateWins++
			default:
				res.Ties++
			}
			if pv.PositionBias {
				res.PositionBiased++
			}
		}
		results = append(results, res)
	}
	return results, nil
}

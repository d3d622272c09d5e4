package fidelity

import (
	"context"
	"fmt"
	"runtime"

	"golang.org/x/sync/errgroup"

	"github.com/recloop/recloop/recommenders"
)

// scoreBaselines scores every probe of every set with every baseline: the
// baseline recommender, trained on the seed log, ranks the whole catalog
// for the user from its seed history, and an item's score is n minus its
// rank (−1 for an item the ranking leaves out). Result: per set, per
// baseline, per probe.
func scoreBaselines(ctx context.Context, ds *Dataset, sets []probeSet, opt Options) ([]map[string][]float64, error) {
	out := make([]map[string][]float64, len(sets))
	spans := make([]map[int][2]int, len(sets))
	for si := range sets {
		out[si] = make(map[string][]float64, len(opt.Baselines))
		for _, name := range opt.Baselines {
			out[si][name] = make([]float64, len(sets[si].probes))
		}
		spans[si] = map[int][2]int{}
		for _, s := range userSpans(&sets[si]) {
			spans[si][sets[si].probes[s[0]].user] = s
		}
	}
	n := ds.Catalog.Len()
	for _, name := range opt.Baselines {
		rec, err := newRecommender(ctx, ds, name, opt.Seed)
		if err != nil {
			return nil, err
		}
		workers := runtime.GOMAXPROCS(0)
		eg, ctx := errgroup.WithContext(ctx)
		for w := range workers {
			eg.Go(func() error {
				rank := make([]float64, n)
				for u := w; u < len(ds.Users); u += workers {
					if err := ctx.Err(); err != nil {
						return err
					}
					slate, err := rec.Recommend(ctx, seedRequest(&ds.Users[u], n))
					if err != nil {
						return fmt.Errorf("fidelity: baseline %s ranking for %s: %w", name, ds.Users[u].Persona.ID, err)
					}
					for i := range rank {
						rank[i] = -1
					}
					for r, it := range slate.Items {
						if idx, ok := ds.Catalog.Index(it.Item); ok {
							rank[idx] = float64(n - r)
						}
					}
					for si := range sets {
						s, ok := spans[si][u]
						if !ok {
							continue
						}
						dst := out[si][name]
						for k := s[0]; k < s[1]; k++ {
							dst[k] = rank[sets[si].probes[k].item]
						}
					}
				}
				return nil
			})
		}
		if err := eg.Wait(); err != nil {
			return nil, err
		}
		if c, ok := rec.(recommenders.Closer); ok {
			_ = c.Close()
		}
	}
	return out, nil
}

// seedRequest asks for the top k items given the user's seed history.
func seedRequest(u *User, k int) recommenders.Request {
	req := recommenders.Request{User: u.Persona.ID, K: k, History: make([]recommenders.HistoryItem, len(u.Seed))}
	for j, in := range u.Seed {
		req.History[j] = recommenders.HistoryItem{Item: in.Item, Round: -1, Rating: in.Rating}
	}
	return req
}

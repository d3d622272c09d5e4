package fidelity

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/recloop/recloop/fidelity/report"
	"github.com/recloop/recloop/internal/rng"
	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/personas"
	"github.com/recloop/recloop/recommenders"
	"github.com/recloop/recloop/simulator"
	"github.com/recloop/recloop/trajectory"
)

// offlineK is the cut-off of the offline metrics.
const offlineK = 10

// pairLevel is the significance, after Holm's correction over all pairs,
// at which an offline difference between two recommenders counts.
const pairLevel = 0.05

// verdicts trains each recommender on the seed log, scores its top 10 for
// every user against the held-out liked items, and runs the behaviour
// against a fresh copy for opt.Rounds rounds (closed loop, the simulator
// proper) to get its CTR. The rankings by CTR and by the offline metrics
// are compared by rank correlation, with the chance of as strong an
// agreement among random rankings, and pair by pair where the offline
// difference is significant.
func verdicts(ctx context.Context, ds *Dataset, states []*personas.State, b personas.Behaviour, name string, opt Options) (*report.Verdicts, error) {
	v := &report.Verdicts{}
	variants := make([]simulator.Variant, len(opt.Recommenders))
	perUser := make([][]float64, len(opt.Recommenders))
	for i, rec := range opt.Recommenders {
		offline, err := newRecommender(ctx, ds, rec, opt.Seed)
		if err != nil {
			return nil, err
		}
		score := report.Recommender{Name: rec}
		if perUser[i], err = offlineScores(ctx, ds, offline, &score); err != nil {
			return nil, err
		}
		closeRecommender(offline)
		v.Recommenders = append(v.Recommenders, score)
		online, err := newRecommender(ctx, ds, rec, opt.Seed)
		if err != nil {
			return nil, err
		}
		defer closeRecommender(online)
		variants[i] = simulator.Variant{Name: rec, Recommender: rec, New: simulator.Instance(online)}
	}
	sink := &ctrSink{clicks: map[string]int{}, shown: map[string]int{}}
	cfg := simulator.Config{
		Scenario: "fidelity", Seed: opt.Seed, Rounds: opt.Rounds, SlateSize: opt.SlateSize,
		Concurrency: opt.Concurrency, Behaviour: b, BehaviourName: name,
	}
	if _, err := simulator.Run(ctx, cfg, ds.Catalog, states, variants, sink); err != nil {
		return nil, fmt.Errorf("fidelity: simulating the recommenders: %w", err)
	}
	n := len(variants)
	ctr, hr, ndcg := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range v.Recommenders {
		s := &v.Recommenders[i]
		if shown := sink.shown[s.Name]; shown > 0 {
			s.CTR = float64(sink.clicks[s.Name]) / float64(shown)
		}
		ctr[i], hr[i], ndcg[i] = s.CTR, s.HR10, s.NDCG10
	}
	v.SpearmanHR, v.KendallHR = metrics.Float(Spearman(ctr, hr)), metrics.Float(KendallTauB(ctr, hr))
	v.SpearmanNDCG, v.KendallNDCG = metrics.Float(Spearman(ctr, ndcg)), metrics.Float(KendallTauB(ctr, ndcg))
	key := rng.Key(opt.Seed, rng.PurposeBootstrap, rng.StringKey("verdicts"))
	v.SpearmanNDCGP = metrics.Float(RankAgreementP(ctr, ndcg, Spearman, key))
	v.KendallNDCGP = metrics.Float(RankAgreementP(ctr, ndcg, KendallTauB, key))
	v.Pairs = comparePairs(v.Recommenders, perUser, opt.Bootstrap, key)
	for _, p := range v.Pairs {
		if p.Significant {
			v.Significant++
			if p.Agrees {
				v.Agreeing++
			}
		}
	}
	v.Agreement = nan()
	if v.Significant > 0 {
		v.Agreement = metrics.Float(float64(v.Agreeing) / float64(v.Significant))
	}
	return v, nil
}

// comparePairs tests every pair of recommenders on their per-user NDCG@10
// (sign-flip permutation p over users, Holm-corrected over the pairs) and
// says whether simulated CTR orders each pair as NDCG@10 does.
func comparePairs(recs []report.Recommender, perUser [][]float64, b int, key uint64) []report.Pair {
	var pairs []report.Pair
	var ps []float64
	for i := range recs {
		for j := i + 1; j < len(recs); j++ {
			d := make([]float64, len(perUser[i]))
			for u := range d {
				d[u] = perUser[i][u] - perUser[j][u]
			}
			diff := recs[i].NDCG10 - recs[j].NDCG10
			ctrDiff := recs[i].CTR - recs[j].CTR
			pairs = append(pairs, report.Pair{
				Names: [2]string{recs[i].Name, recs[j].Name}, NDCGDiff: diff, CTRDiff: ctrDiff,
				Agrees: diff*ctrDiff > 0,
			})
			ps = append(ps, metrics.SignFlipP(d, b, rng.Key(key, uint64(i), uint64(j))))
		}
	}
	for k, p := range metrics.Holm(ps) {
		pairs[k].P = metrics.Float(p)
		pairs[k].Significant = p < pairLevel
	}
	return pairs
}

func newRecommender(ctx context.Context, ds *Dataset, name string, seed uint64) (recommenders.Recommender, error) {
	spec, ok := recommenders.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%w: %q (known: %v)", recommenders.ErrUnknown, name, recommenders.Names())
	}
	env := recommenders.Env{
		Catalog: ds.Catalog, Interactions: ds.SeedLog, Variant: name,
		Seed: rng.Key(seed, rng.PurposeRecommender, rng.StringKey(name)),
	}
	r, err := recommenders.New(ctx, name, env, spec.Defaults())
	if err != nil {
		return nil, fmt.Errorf("fidelity: building %s: %w", name, err)
	}
	return r, nil
}

func closeRecommender(r recommenders.Recommender) {
	if c, ok := r.(recommenders.Closer); ok {
		_ = c.Close()
	}
}

// offlineScores fills HR@10 (a held-out liked item in the top 10) and
// NDCG@10 (binary relevance, ideal DCG over min(10, liked) items) averaged
// over the users with a held-out liked item, and returns each such user's
// NDCG@10 in user order.
func offlineScores(ctx context.Context, ds *Dataset, r recommenders.Recommender, s *report.Recommender) ([]float64, error) {
	var perUser []float64
	for u := range ds.Users {
		user := &ds.Users[u]
		relevant := map[string]bool{}
		for _, in := range user.HeldOut {
			if ds.Liked(in.Rating) {
				relevant[in.Item] = true
			}
		}
		if len(relevant) == 0 {
			continue
		}
		slate, err := r.Recommend(ctx, seedRequest(user, offlineK))
		if err != nil {
			return nil, fmt.Errorf("fidelity: %s recommending for %s: %w", s.Name, user.Persona.ID, err)
		}
		hit, dcg := 0.0, 0.0
		for rank, it := range slate.Items[:min(offlineK, len(slate.Items))] {
			if relevant[it.Item] {
				hit = 1
				dcg += 1 / math.Log2(float64(rank)+2)
			}
		}
		idcg := 0.0
		for rank := range min(offlineK, len(relevant)) {
			idcg += 1 / math.Log2(float64(rank)+2)
		}
		s.HR10 += hit
		s.NDCG10 += dcg / idcg
		perUser = append(perUser, dcg/idcg)
		s.Users++
	}
	if s.Users > 0 {
		s.HR10 /= float64(s.Users)
		s.NDCG10 /= float64(s.Users)
	}
	return perUser, nil
}

// ctrSink counts shown and clicked items per variant.
type ctrSink struct {
	mu            sync.Mutex
	clicks, shown map[string]int
}

func (s *ctrSink) Write(ev *trajectory.Event) error {
	if ev.Kind != trajectory.KindStep || ev.Step == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shown[ev.Variant] += len(ev.Step.Slate)
	for _, sh := range ev.Step.Slate {
		if sh.Clicked {
			s.clicks[ev.Variant]++
		}
	}
	return nil
}

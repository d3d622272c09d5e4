package fidelity

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/recloop/recloop/internal/rng"
	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/personas"
	"github.com/recloop/recloop/recommenders"
	"github.com/recloop/recloop/simulator"
	"github.com/recloop/recloop/trajectory"
)

// Verdicts compares two rankings of the same recommenders: by simulated
// CTR, and by offline accuracy on the held-out part.
type Verdicts struct {
	Recommenders []RecommenderScore `json:"recommenders"`
	SpearmanHR   metrics.Float      `json:"spearman_hr10"`
	KendallHR    metrics.Float      `json:"kendall_hr10"`
	SpearmanNDCG metrics.Float      `json:"spearman_ndcg10"`
	KendallNDCG  metrics.Float      `json:"kendall_ndcg10"`
}

// RecommenderScore is one recommender's simulated and offline figures.
type RecommenderScore struct {
	Name string `json:"name"`
	// CTR is clicks per shown item over the simulated rounds.
	CTR    float64 `json:"ctr"`
	HR10   float64 `json:"hr10"`
	NDCG10 float64 `json:"ndcg10"`
	// Users counts the users with a held-out liked item (the offline
	// metrics' denominator).
	Users int `json:"users"`
}

// offlineK is the cut-off of the offline metrics.
const offlineK = 10

// verdicts trains each recommender on the seed log, scores its top 10 for
// every user against the held-out liked items, and runs the behaviour
// against a fresh copy for opt.Rounds rounds (closed loop, the simulator
// proper) to get its CTR.
func verdicts(ctx context.Context, ds *Dataset, states []*personas.State, b personas.Behaviour, name string, opt Options) (*Verdicts, error) {
	v := &Verdicts{}
	variants := make([]simulator.Variant, len(opt.Recommenders))
	for i, rec := range opt.Recommenders {
		offline, err := newRecommender(ds, rec, opt.Seed)
		if err != nil {
			return nil, err
		}
		score := RecommenderScore{Name: rec}
		if err := offlineScores(ctx, ds, offline, &score); err != nil {
			return nil, err
		}
		v.Recommenders = append(v.Recommenders, score)
		online, err := newRecommender(ds, rec, opt.Seed)
		if err != nil {
			return nil, err
		}
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
	ctr, hr, ndcg := make([]float64, len(variants)), make([]float64, len(variants)), make([]float64, len(variants))
	for i := range v.Recommenders {
		s := &v.Recommenders[i]
		if n := sink.shown[s.Name]; n > 0 {
			s.CTR = float64(sink.clicks[s.Name]) / float64(n)
		}
		ctr[i], hr[i], ndcg[i] = s.CTR, s.HR10, s.NDCG10
	}
	v.SpearmanHR, v.KendallHR = metrics.Float(Spearman(ctr, hr)), metrics.Float(KendallTauB(ctr, hr))
	v.SpearmanNDCG, v.KendallNDCG = metrics.Float(Spearman(ctr, ndcg)), metrics.Float(KendallTauB(ctr, ndcg))
	return v, nil
}

func newRecommender(ds *Dataset, name string, seed uint64) (recommenders.Recommender, error) {
	spec, ok := recommenders.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("%w: %q (known: %v)", recommenders.ErrUnknown, name, recommenders.Names())
	}
	env := recommenders.Env{
		Catalog: ds.Catalog, Interactions: ds.SeedLog, Variant: name,
		Seed: rng.Key(seed, rng.PurposeRecommender, rng.StringKey(name)),
	}
	r, err := recommenders.New(name, env, spec.Defaults())
	if err != nil {
		return nil, fmt.Errorf("fidelity: building %s: %w", name, err)
	}
	return r, nil
}

// offlineScores fills HR@10 (a held-out liked item in the top 10) and
// NDCG@10 (binary relevance, ideal DCG over min(10, liked) items) averaged
// over the users with a held-out liked item.
func offlineScores(ctx context.Context, ds *Dataset, r recommenders.Recommender, s *RecommenderScore) error {
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
		req := recommenders.Request{User: user.Persona.ID, K: offlineK, History: make([]recommenders.HistoryItem, len(user.Seed))}
		for k, in := range user.Seed {
			req.History[k] = recommenders.HistoryItem{Item: in.Item, Round: -1, Rating: in.Rating}
		}
		slate, err := r.Recommend(ctx, req)
		if err != nil {
			return fmt.Errorf("fidelity: %s recommending for %s: %w", s.Name, user.Persona.ID, err)
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
		s.Users++
	}
	if s.Users > 0 {
		s.HR10 /= float64(s.Users)
		s.NDCG10 /= float64(s.Users)
	}
	return nil
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

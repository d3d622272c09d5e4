package fidelity

import (
	"context"
	"fmt"
	"io"
	"math"

	"github.com/recloop/recloop/fidelity/report"
	"github.com/recloop/recloop/internal/rng"
	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/personas"
	"github.com/recloop/recloop/trajectory"
)

// Options control an evaluation. The zero value of every field means its
// default.
type Options struct {
	// Seed drives the negative samples, the bootstrap and the simulation.
	Seed uint64
	// Ratios are the negatives shown per held-out liked item (default 1, 3, 9).
	Ratios []int
	// MaxPositives caps the held-out liked items used per user (default 10).
	MaxPositives int
	// Baselines score the same probes as the simulator (default
	// DefaultBaselines): any registered recommender, asked to rank the
	// whole catalog for each user from its seed history.
	Baselines []string
	// Recommenders are ranked for verdict agreement (default
	// DefaultRecommenders). Fewer than two skips the check.
	Recommenders []string
	// Rounds and SlateSize shape the simulated runs of the verdict check
	// (default 5 rounds of 10 items).
	Rounds, SlateSize int
	// Concurrency bounds the simulator's goroutines (0 = GOMAXPROCS).
	Concurrency int
	// Bootstrap is the number of resamples of users behind every CI
	// (default 10,000).
	Bootstrap int
	// SkipVerdicts leaves the verdict check out (Fit's inner evaluations).
	SkipVerdicts bool
	// Dump, when set, receives every probe as JSON lines (WriteProbes).
	Dump io.Writer
}

// DefaultBaselines are the scorers every simulator is shown beside.
var DefaultBaselines = []string{"random", "popular", "content", "itemknn"}

// DefaultRecommenders are the recommenders ranked by the verdict check:
// the built-ins, mf, and the wrappers around it.
var DefaultRecommenders = []string{"random", "popular", "itemknn", "content", "mf", "mmr(mf)", "explore(mf)", "calibrated(mf)"}

func (o Options) withDefaults() Options {
	if len(o.Ratios) == 0 {
		o.Ratios = []int{1, 3, 9}
	}
	if o.MaxPositives <= 0 {
		o.MaxPositives = 10
	}
	if o.Baselines == nil {
		o.Baselines = DefaultBaselines
	}
	if o.Recommenders == nil {
		o.Recommenders = DefaultRecommenders
	}
	if o.Rounds <= 0 {
		o.Rounds = 5
	}
	if o.SlateSize <= 0 {
		o.SlateSize = 10
	}
	if o.Bootstrap <= 0 {
		o.Bootstrap = 10_000
	}
	return o
}

// Evaluate checks behaviour b (registered as name, built with params)
// against the held-out part of ds, beside the baselines on the same probes.
func Evaluate(ctx context.Context, ds *Dataset, b personas.Behaviour, name string, params map[string]any, opt Options) (*report.Report, error) {
	opt = opt.withDefaults()
	states, err := personas.Build(ds.Personas(), ds.Catalog, opt.Seed)
	if err != nil {
		return nil, fmt.Errorf("fidelity: building the personas: %w", err)
	}
	r := &report.Report{
		Behaviour: name, Params: params, Seed: opt.Seed,
		Split: ds.Options.Split, HoldOut: ds.Options.HoldOut, Users: len(ds.Users),
	}
	for i := range ds.Users {
		r.SeedInteractions += len(ds.Users[i].Seed)
		r.HeldOut += len(ds.Users[i].HeldOut)
	}
	sets := probeSets(ds, opt)
	base, err := scoreBaselines(ctx, ds, sets, opt)
	if err != nil {
		return nil, err
	}
	var clicked []ratedPair
	for si := range sets {
		set := &sets[si]
		sim, clicks, got, err := simulatorScores(ctx, ds, states, b, set)
		if err != nil {
			return nil, err
		}
		if clicked == nil {
			clicked = got
		}
		d := discrimination(set, sim, clicks, base[si], opt)
		if rs := r.Sampler(set.sampler); rs != nil {
			rs.Ratios = append(rs.Ratios, d)
		} else {
			r.Samplers = append(r.Samplers, report.Sampler{Name: set.sampler, Ratios: []report.Discrimination{d}})
		}
		if opt.Dump != nil {
			if err := WriteProbes(opt.Dump, dumpProbes(ds, set, sim, clicks, base[si], opt.Baselines)); err != nil {
				return nil, fmt.Errorf("fidelity: writing the probe dump: %w", err)
			}
		}
	}
	r.Ratings = evaluateRatings(ds, states, b, clicked)
	if !opt.SkipVerdicts && len(opt.Recommenders) >= 2 {
		v, err := verdicts(ctx, ds, states, b, name, opt)
		if err != nil {
			return nil, err
		}
		r.Verdicts = v
	}
	r.Targets = Targets(r)
	return r, nil
}

// probeSets draws every sampler's probes at every ratio.
func probeSets(ds *Dataset, opt Options) []probeSet {
	smp := newSampler(ds, opt.Seed)
	var sets []probeSet
	for _, name := range Samplers {
		for _, m := range opt.Ratios {
			sets = append(sets, smp.set(name, m, opt.MaxPositives))
		}
	}
	return sets
}

// ratedPair is a simulated rating beside the real one.
type ratedPair struct{ simulated, real float64 }

// simulatorScores scores a probe set with the behaviour. A Scorer is asked
// about every item on its own: its decision is its click draw, its score
// its click probability. Any other behaviour is shown each user's probes
// as slates of at most maxProbeSlate and judged by what it clicked (score
// 1 for a click, 0 otherwise); the ratings it gave clicked positives come
// back for the rating check.
func simulatorScores(ctx context.Context, ds *Dataset, states []*personas.State, b personas.Behaviour, set *probeSet) ([]float64, []bool, []ratedPair, error) {
	scores, clicks := make([]float64, len(set.probes)), make([]bool, len(set.probes))
	if scorer, ok := b.(personas.Scorer); ok {
		for k, p := range set.probes {
			clicks[k] = scorer.WouldClick(states[p.user], 0, p.item)
			scores[k] = scorer.ClickProbability(states[p.user], p.item)
		}
		return scores, clicks, nil, nil
	}
	var rated []ratedPair
	for _, span := range userSpans(set) {
		for lo := span[0]; lo < span[1]; lo += maxProbeSlate {
			chunk := set.probes[lo:min(span[1], lo+maxProbeSlate)]
			slate := make([]trajectory.Shown, len(chunk))
			for k, p := range chunk {
				slate[k].Item = ds.Catalog.Item(p.item).ID
			}
			u := chunk[0].user
			if _, err := b.Decide(ctx, states[u].Clone(), 0, slate); err != nil {
				return nil, nil, nil, fmt.Errorf("fidelity: %s deciding on probes: %w", ds.Users[u].Persona.ID, err)
			}
			for k, p := range chunk {
				clicks[lo+k] = slate[k].Clicked
				scores[lo+k] = boolScore(slate[k].Clicked)
				if p.liked && slate[k].Clicked {
					if truth := heldRating(&ds.Users[u], p.item); truth > 0 {
						rated = append(rated, ratedPair{slate[k].Rating, truth})
					}
				}
			}
		}
	}
	return scores, clicks, rated, nil
}

// maxProbeSlate bounds one slate of probes shown to a non-scoring behaviour.
const maxProbeSlate = 50

// userSpans are the [lo, hi) ranges of each user's probes in a set.
func userSpans(set *probeSet) [][2]int {
	var out [][2]int
	for lo := 0; lo < len(set.probes); {
		hi := lo + 1
		for hi < len(set.probes) && set.probes[hi].user == set.probes[lo].user {
			hi++
		}
		out = append(out, [2]int{lo, hi})
		lo = hi
	}
	return out
}

// discrimination scores the simulator and every baseline on one probe set.
func discrimination(set *probeSet, sim []float64, clicks []bool, base map[string][]float64, opt Options) report.Discrimination {
	labels := make([]bool, len(set.probes))
	for k, p := range set.probes {
		labels[k] = p.liked
	}
	d := report.Discrimination{
		Ratio: set.ratio(), Negatives: set.m, Shown: len(labels),
		Clicks:   Classify(labels, clicks),
		RandomF1: randomF1(set.m),
	}
	d.Positives = d.Clicks.TP + d.Clicks.FN
	spans := userSpans(set)
	key := rng.Key(opt.Seed, rng.PurposeBootstrap, rng.StringKey(set.sampler), uint64(set.m))
	simAUC := perUserAUC(spans, labels, sim)
	d.Scorers = append(d.Scorers, scorerRow(report.SimulatorName, spans, labels, sim, simAUC, opt.Bootstrap, key))
	var bestAUC []float64
	best := math.Inf(-1)
	for _, name := range opt.Baselines {
		auc := perUserAUC(spans, labels, base[name])
		row := scorerRow(name, spans, labels, base[name], auc, opt.Bootstrap, rng.Key(key, rng.StringKey(name)))
		d.Scorers = append(d.Scorers, row)
		if row.AUC.Defined() && float64(row.AUC) > best {
			best, d.Best, bestAUC = float64(row.AUC), name, auc
		}
	}
	d.Lift, d.LiftLo, d.LiftHi = nan(), nan(), nan()
	if bestAUC != nil {
		var lift []float64
		for u, a := range simAUC {
			if !math.IsNaN(a) && !math.IsNaN(bestAUC[u]) {
				lift = append(lift, a-bestAUC[u])
			}
		}
		if len(lift) > 0 {
			d.Lift = metrics.Float(mean(lift))
			lo, hi := metrics.PairedBootstrapCI(lift, opt.Bootstrap, rng.Key(key, rng.StringKey("lift")))
			d.LiftLo, d.LiftHi = metrics.Float(lo), metrics.Float(hi)
		}
	}
	return d
}

func nan() metrics.Float { return metrics.Float(math.NaN()) }

// perUserAUC is each user's AUC of scores over its probes (NaN for a user
// without both positives and negatives).
func perUserAUC(spans [][2]int, labels []bool, scores []float64) []float64 {
	out := make([]float64, len(spans))
	for u, s := range spans {
		out[u] = AUC(labels[s[0]:s[1]], scores[s[0]:s[1]])
	}
	return out
}

// scorerRow is one scorer's AUC (mean over users, bootstrap CI over
// users), pooled AUC and top accuracy.
func scorerRow(name string, spans [][2]int, labels []bool, scores, perUser []float64, b int, key uint64) report.Scorer {
	row := report.Scorer{Name: name, AUC: nan(), AUCLo: nan(), AUCHi: nan(),
		AUCPooled: metrics.Float(AUC(labels, scores)), TopAccuracy: metrics.Float(topAccuracy(spans, labels, scores))}
	var defined []float64
	for _, a := range perUser {
		if !math.IsNaN(a) {
			defined = append(defined, a)
		}
	}
	row.Users = len(defined)
	if len(defined) > 0 {
		row.AUC = metrics.Float(mean(defined))
		lo, hi := metrics.PairedBootstrapCI(defined, b, key)
		row.AUCLo, row.AUCHi = metrics.Float(lo), metrics.Float(hi)
	}
	return row
}

// topAccuracy is the accuracy of picking, for each user, as many probes as
// it has positives: those with the highest scores, ties going to the
// earlier probe (probes are in a seeded random order).
func topAccuracy(spans [][2]int, labels []bool, scores []float64) float64 {
	var right, total int
	for _, s := range spans {
		n := s[1] - s[0]
		pos := 0
		for _, y := range labels[s[0]:s[1]] {
			if y {
				pos++
			}
		}
		order := make([]int, n)
		for k := range order {
			order[k] = s[0] + k
		}
		slicesSortByScore(order, scores)
		for rank, k := range order {
			if (rank < pos) == labels[k] {
				right++
			}
		}
		total += n
	}
	if total == 0 {
		return math.NaN()
	}
	return float64(right) / float64(total)
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// randomF1 is 2pr/(p+r) with p = 1/(1+m), r = ½.
func randomF1(m int) float64 {
	p, r := 1/float64(1+m), 0.5
	return 2 * p * r / (p + r)
}

func boolScore(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func heldRating(u *User, item int) float64 {
	for k, idx := range u.HeldIdx {
		if idx == item {
			return u.HeldOut[k].Rating
		}
	}
	return 0
}

// dumpProbes turns a probe set and its scores into dump lines.
func dumpProbes(ds *Dataset, set *probeSet, sim []float64, clicks []bool, base map[string][]float64, names []string) []Probe {
	out := make([]Probe, len(set.probes))
	for k, p := range set.probes {
		it := ds.Catalog.Item(p.item)
		out[k] = Probe{
			Sampler: set.sampler, Ratio: set.ratio(), User: ds.Users[p.user].ID, Item: it.ID,
			Label: int(boolScore(p.liked)), Popularity: it.Popularity, Score: sim[k], Click: clicks[k],
			Baselines: make(map[string]float64, len(names)),
		}
		for _, n := range names {
			out[k].Baselines[n] = base[n][k]
		}
	}
	return out
}

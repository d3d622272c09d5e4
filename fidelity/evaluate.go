package fidelity

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/recloop/recloop/internal/rng"
	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/personas"
	"github.com/recloop/recloop/trajectory"
)

// Options control an evaluation. The zero value of every field means its
// default.
type Options struct {
	// Seed drives the negative samples and the simulation.
	Seed uint64
	// Ratios are the negatives shown per held-out liked item (default 1, 3, 9).
	Ratios []int
	// MaxPositives caps the held-out liked items used per user (default 10).
	MaxPositives int
	// Recommenders are ranked for verdict agreement (default random,
	// popular, itemknn, content, each with its default parameters). Fewer
	// than two skips the check.
	Recommenders []string
	// Rounds and SlateSize shape the simulated runs of the verdict check
	// (default 5 rounds of 10 items).
	Rounds, SlateSize int
	// Concurrency bounds the simulator's goroutines (0 = GOMAXPROCS).
	Concurrency int
	// SkipVerdicts leaves the verdict check out (Fit's inner evaluations).
	SkipVerdicts bool
}

// DefaultRecommenders are the built-ins ranked by the verdict check.
var DefaultRecommenders = []string{"random", "popular", "itemknn", "content"}

func (o Options) withDefaults() Options {
	if len(o.Ratios) == 0 {
		o.Ratios = []int{1, 3, 9}
	}
	if o.MaxPositives <= 0 {
		o.MaxPositives = 10
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
	return o
}

// Report is what recloop fidelity writes to fidelity.json.
type Report struct {
	Behaviour string         `json:"behaviour"`
	Params    map[string]any `json:"params,omitempty"`
	Seed      uint64         `json:"seed"`
	Users     int            `json:"users"`
	// SeedInteractions and HeldOut count the interactions of the evaluated
	// users on each side of the split.
	SeedInteractions int              `json:"seed_interactions"`
	HeldOut          int              `json:"held_out"`
	Discrimination   []Discrimination `json:"discrimination"`
	Ratings          Ratings          `json:"ratings"`
	Verdicts         *Verdicts        `json:"verdicts,omitempty"`
	Fit              *FitReport       `json:"fit,omitempty"`
}

// Discrimination is how well the behaviour tells held-out liked items from
// items the user never touched, mixed 1 : Negatives.
type Discrimination struct {
	Ratio     string `json:"ratio"`
	Negatives int    `json:"negatives_per_positive"`
	Positives int    `json:"positives"`
	Shown     int    `json:"shown"`
	Classification
	AUC metrics.Float `json:"auc"`
	// RandomF1 is the F1 a persona clicking each item with probability ½
	// would expect: precision 1/(1+m), recall ½. Its accuracy and AUC are ½.
	RandomF1 float64 `json:"random_f1"`
}

// Ratings compares simulated with real ratings on held-out rated items.
// Simulated ratings are draws, noise included, so their error has the
// model's rating noise in it; Baseline predicts each user's mean seed
// rating (the global mean for a user without seed ratings), a point
// forecast. The means and standard deviations say whether the simulated
// ratings are spread like the real ones.
type Ratings struct {
	ErrorStats
	Baseline      ErrorStats    `json:"baseline"`
	MeanSimulated metrics.Float `json:"mean_simulated"`
	MeanReal      metrics.Float `json:"mean_real"`
	SDSimulated   metrics.Float `json:"sd_simulated"`
	SDReal        metrics.Float `json:"sd_real"`
}

// Evaluate checks behaviour b (registered as name, built with params)
// against the held-out part of ds.
func Evaluate(ctx context.Context, ds *Dataset, b personas.Behaviour, name string, params map[string]any, opt Options) (*Report, error) {
	opt = opt.withDefaults()
	ps := ds.Personas()
	states, err := personas.Build(ps, ds.Catalog, opt.Seed)
	if err != nil {
		return nil, fmt.Errorf("fidelity: building the derived personas: %w", err)
	}
	r := &Report{Behaviour: name, Params: params, Seed: opt.Seed, Users: len(ds.Users)}
	for i := range ds.Users {
		r.SeedInteractions += len(ds.Users[i].Seed)
		r.HeldOut += len(ds.Users[i].HeldOut)
	}
	var ratingsPred, ratingsTrue []float64
	for _, m := range opt.Ratios {
		d, pred, truth, err := discriminate(ctx, ds, states, b, m, opt)
		if err != nil {
			return nil, err
		}
		r.Discrimination = append(r.Discrimination, d)
		if ratingsTrue == nil {
			ratingsPred, ratingsTrue = pred, truth
		}
	}
	if s, ok := b.(personas.Scorer); ok {
		ratingsPred, ratingsTrue = scoreRatings(ds, states, s)
	}
	r.Ratings = Ratings{ErrorStats: Errors(ratingsPred, ratingsTrue), Baseline: baselineRatings(ds)}
	r.Ratings.MeanSimulated, r.Ratings.SDSimulated = meanSD(ratingsPred)
	r.Ratings.MeanReal, r.Ratings.SDReal = meanSD(ratingsTrue)
	if !opt.SkipVerdicts && len(opt.Recommenders) >= 2 {
		v, err := verdicts(ctx, ds, states, b, name, opt)
		if err != nil {
			return nil, err
		}
		r.Verdicts = v
	}
	return r, nil
}

// probe is one item shown to one persona in the discrimination check.
type probe struct {
	user  int
	item  int
	liked bool
}

// probes lists, per user, up to MaxPositives held-out liked items (oldest
// first) and m times as many items the user never touched, drawn uniformly
// without replacement from (seed, user id, m), all in one shuffled list.
func probes(ds *Dataset, u int, m int, opt Options) []probe {
	user := &ds.Users[u]
	var out []probe
	for k, in := range user.HeldOut {
		if len(out) == opt.MaxPositives {
			break
		}
		if ds.Liked(in.Rating) {
			out = append(out, probe{u, user.HeldIdx[k], true})
		}
	}
	if len(out) == 0 {
		return nil
	}
	touched := make(map[int]bool, len(user.SeedIdx)+len(user.HeldIdx))
	for _, idx := range user.SeedIdx {
		touched[idx] = true
	}
	for _, idx := range user.HeldIdx {
		touched[idx] = true
	}
	want := min(m*len(out), ds.Catalog.Len()-len(touched))
	r := rng.New(rng.Key(opt.Seed, rng.PurposeSample, rng.StringKey(user.ID), uint64(m)))
	picked := map[int]bool{}
	for len(picked) < want {
		idx := r.IntN(ds.Catalog.Len())
		if touched[idx] || picked[idx] {
			continue
		}
		picked[idx] = true
		out = append(out, probe{u, idx, false})
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// discriminate runs the check at ratio 1:m. A Scorer is asked about every
// item on its own: the prediction is its click draw, the score its click
// probability. Any other behaviour is shown each user's probes as one slate
// (in slates of at most 50) and judged by what it clicked, the score being
// 1 for a click and 0 otherwise. The clicked positives' ratings come back
// for the rating check.
func discriminate(ctx context.Context, ds *Dataset, states []*personas.State, b personas.Behaviour, m int, opt Options) (Discrimination, []float64, []float64, error) {
	var labels, predicted []bool
	var scores, ratingPred, ratingTrue []float64
	scorer, isScorer := b.(personas.Scorer)
	for u := range ds.Users {
		ps := probes(ds, u, m, opt)
		if isScorer {
			for _, p := range ps {
				labels = append(labels, p.liked)
				predicted = append(predicted, scorer.WouldClick(states[u], 0, p.item))
				scores = append(scores, scorer.ClickProbability(states[u], p.item))
			}
			continue
		}
		for lo := 0; lo < len(ps); lo += maxProbeSlate {
			chunk := ps[lo:min(len(ps), lo+maxProbeSlate)]
			slate := make([]trajectory.Shown, len(chunk))
			for k, p := range chunk {
				slate[k].Item = ds.Catalog.Item(p.item).ID
			}
			if _, err := b.Decide(ctx, states[u].Clone(), 0, slate); err != nil {
				return Discrimination{}, nil, nil, fmt.Errorf("fidelity: %s deciding on probes: %w", ds.Users[u].Persona.ID, err)
			}
			for k, p := range chunk {
				labels = append(labels, p.liked)
				predicted = append(predicted, slate[k].Clicked)
				scores = append(scores, boolScore(slate[k].Clicked))
				if p.liked && slate[k].Clicked {
					if truth := heldRating(&ds.Users[u], p.item); truth > 0 {
						ratingPred, ratingTrue = append(ratingPred, slate[k].Rating), append(ratingTrue, truth)
					}
				}
			}
		}
	}
	d := Discrimination{
		Ratio:          fmt.Sprintf("1:%d", m),
		Negatives:      m,
		Shown:          len(labels),
		Classification: Classify(labels, predicted),
		AUC:            metrics.Float(AUC(labels, scores)),
		RandomF1:       randomF1(m),
	}
	d.Positives = d.TP + d.FN
	return d, ratingPred, ratingTrue, nil
}

// maxProbeSlate bounds one slate of probes shown to a non-scoring behaviour.
const maxProbeSlate = 50

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
	if k := slices.Index(u.HeldIdx, item); k >= 0 {
		return u.HeldOut[k].Rating
	}
	return 0
}

// scoreRatings asks a Scorer for its rating of every rated held-out item.
func scoreRatings(ds *Dataset, states []*personas.State, s personas.Scorer) (pred, truth []float64) {
	for u := range ds.Users {
		user := &ds.Users[u]
		for k, in := range user.HeldOut {
			if in.Rating > 0 {
				pred = append(pred, s.Rate(states[u], 0, user.HeldIdx[k]))
				truth = append(truth, in.Rating)
			}
		}
	}
	return pred, truth
}

// baselineRatings predicts every held-out rating by the user's mean seed
// rating.
func baselineRatings(ds *Dataset) ErrorStats {
	var all, n float64
	for _, in := range ds.SeedLog {
		if in.Rating > 0 {
			all += in.Rating
			n++
		}
	}
	global := all / math.Max(n, 1)
	var pred, truth []float64
	for u := range ds.Users {
		user := &ds.Users[u]
		var s, c float64
		for _, in := range user.Seed {
			if in.Rating > 0 {
				s += in.Rating
				c++
			}
		}
		mean := global
		if c > 0 {
			mean = s / c
		}
		for _, in := range user.HeldOut {
			if in.Rating > 0 {
				pred, truth = append(pred, mean), append(truth, in.Rating)
			}
		}
	}
	return Errors(pred, truth)
}

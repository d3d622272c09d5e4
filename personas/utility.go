package personas

import (
	"context"
	"fmt"
	"math"
	"path/filepath"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/internal/rng"
	"github.com/recloop/recloop/trajectory"
)

// UtilityName is the registered name of the utility model.
const UtilityName = "utility"

// DefaultTagWeight is the utility model's default tag_weight, which also
// shapes the item vectors of personas derived from logs (fidelity).
const DefaultTagWeight = 0.5

// UtilitySpec lists every tunable of the utility model; docs/user-model.md
// gives the equations they enter.
var UtilitySpec = config.Spec{
	Name: UtilityName,
	Summary: "The offline user model: position-biased examination, a random-utility click rule over " +
		"stated and latent taste, a learned taste model, popularity, quality and novelty, noisy 1–5 ratings from the persona's bias, " +
		"the item's quality and affinity, patience-driven exit and taste drift; with a funnel, completion and bounces, funnel stages and search from affinity and traits.",
	Params: []config.Param{
		{Name: "weight_stated", Kind: config.Float, Default: 1.0, Min: config.AtLeast(0), Doc: "β_s: weight of the affinity with the stated (drifting) interests."},
		{Name: "weight_latent", Kind: config.Float, Default: 0.6, Min: config.AtLeast(0), Doc: "β_l: weight of the affinity with the latent interests the persona does not know it has."},
		{Name: "weight_popularity", Kind: config.Float, Default: 0.3, Min: config.AtLeast(0), Doc: "β_pop: weight of popularity, multiplied by the mainstreamness trait."},
		{Name: "weight_novelty", Kind: config.Float, Default: 0.3, Min: config.AtLeast(0), Doc: "β_nov: weight of novelty (distance from the history), multiplied by the curiosity trait."},
		{Name: "weight_dislike", Kind: config.Float, Default: 1.0, Min: config.AtLeast(0), Doc: "β_d: weight of the affinity with the persona's dislikes, subtracted from its utility and (times r₁) from its ratings."},
		{Name: "weight_factors", Kind: config.Float, Default: 1.0, Min: config.AtLeast(0), Doc: "β_f: weight of the learned taste score x_u·y_i (needs taste_model)."},
		{Name: "weight_quality", Kind: config.Float, Default: 0.2, Min: config.AtLeast(0), Doc: "β_q: weight of the item's quality q_i, in rating points above the mean (needs taste_model)."},
		{Name: "tag_weight", Kind: config.Float, Default: DefaultTagWeight, Min: config.AtLeast(0), Doc: "w_t: the norm of the tag block beside the category block in the item vectors the persona's taste is matched against (tags weighted by inverse document frequency)."},
		{Name: "taste_model", Kind: config.String, Default: "", Doc: "A taste model file (JSON, written by recloop personas from-logs or recloop fidelity --fit): a learned vector and a quality per item, relative to the scenario's directory. Empty: no learned taste, so the β_f, β_q, r_f and r_q terms are 0."},
		{Name: "noise", Kind: config.Float, Default: 0.15, Min: config.AtLeast(0), Doc: "σ: standard deviation of the utility noise."},
		{Name: "position_bias", Kind: config.Float, Default: 0.8, Min: config.AtLeast(0), Doc: "η: examination falls with rank k as k^−η (0 = every rank equally)."},
		{Name: "examine_base", Kind: config.Float, Default: 0.5, Min: config.AtLeast(0), Doc: "e₀: examination scale of a persona with activity 0."},
		{Name: "examine_activity", Kind: config.Float, Default: 1.0, Min: config.AtLeast(0), Doc: "e₁: examination scale added per unit of activity."},
		{Name: "threshold", Kind: config.Float, Default: 0.45, Doc: "τ₀: utility an examined item must exceed to be clicked, for pickiness 0."},
		{Name: "pickiness_scale", Kind: config.Float, Default: 0.3, Min: config.AtLeast(0), Doc: "κ: how much the pickiness trait raises the click threshold."},
		{Name: "max_clicks", Kind: config.Int, Default: 3, Min: config.AtLeast(1), Doc: "m: most items consumed from one slate; later ranks are examined but not clicked."},
		{Name: "rating_offset", Kind: config.Float, Default: 1.5, Doc: "r₀: rating of an item with no true affinity, before noise and the persona's rating_bias."},
		{Name: "rating_scale", Kind: config.Float, Default: 5.0, Min: config.AtLeast(0), Doc: "r₁: rating points per unit of true affinity."},
		{Name: "rating_quality", Kind: config.Float, Default: 1.0, Min: config.AtLeast(0), Doc: "r_q: rating points per point of item quality q_i (needs taste_model)."},
		{Name: "rating_factors", Kind: config.Float, Default: 0.0, Min: config.AtLeast(0), Doc: "r_f: rating points per unit of the learned taste score x_u·y_i (needs taste_model)."},
		{Name: "rating_noise", Kind: config.Float, Default: 0.5, Min: config.AtLeast(0), Doc: "ρ: standard deviation of the rating noise, in rating points, for conformity ½; a persona's noise is ρ·(1.5 − conformity)."},
		{Name: "patience", Kind: config.Float, Default: 3.0, Min: config.AtLeast(0), Doc: "P: unsatisfying slates tolerated by a persona of activity 0.5 (initial patience is P·(0.5 + activity))."},
		{Name: "patience_recovery", Kind: config.Float, Default: 1.0, Min: config.AtLeast(0), Doc: "patience regained after a slate with an accepted item (capped at the initial patience)."},
		{Name: "drift", Kind: config.Float, Default: 0.05, Min: config.AtLeast(0), Max: config.AtMost(1), Doc: "λ: how far one accepted item pulls the stated interests toward its features (0 turns drift off)."},
		{Name: "drift_dislike", Kind: config.Float, Default: -0.5, Min: config.AtLeast(-1), Max: config.AtMost(1), Doc: "g₋: drift multiplier for a clicked item rated below 4; negative pushes the interests away."},
		{Name: "funnel_base", Kind: config.Float, Default: -2.0, Doc: "f₀: log-odds of going one funnel stage further for an item of no true affinity and pickiness 0."},
		{Name: "funnel_affinity", Kind: config.Float, Default: 4.0, Min: config.AtLeast(0), Doc: "f₁: log-odds of going one stage further per unit of true affinity."},
		{Name: "funnel_pickiness", Kind: config.Float, Default: 1.0, Min: config.AtLeast(0), Doc: "f_k: log-odds of going one stage further lost per unit of pickiness."},
		{Name: "dwell_base", Kind: config.Float, Default: 0.2, Doc: "d₀: completion fraction of a clicked item of no true affinity, before noise."},
		{Name: "dwell_affinity", Kind: config.Float, Default: 1.0, Min: config.AtLeast(0), Doc: "d₁: completion fraction per unit of true affinity."},
		{Name: "dwell_noise", Kind: config.Float, Default: 0.2, Min: config.AtLeast(0), Doc: "δ: standard deviation of the completion-fraction noise."},
		{Name: "search_base", Kind: config.Float, Default: 0.2, Min: config.AtLeast(0), Max: config.AtMost(1), Doc: "s₀: chance that a persona the slate left unsatisfied searches, at curiosity 0 (when the scenario enables search)."},
		{Name: "search_curiosity", Kind: config.Float, Default: 0.4, Min: config.AtLeast(0), Doc: "s₁: search chance added per unit of curiosity."},
	},
}

func init() {
	RegisterBehaviour(UtilitySpec, newUtility)
}

// positionTable covers the slate sizes anyone uses; longer slates fall back
// to math.Pow.
const positionTable = 64

type utilityModel struct {
	cat                          *catalog.Catalog
	bStated, bLatent, bPop, bNov float64
	bDislike, bFactors, bQuality float64
	sigma                        float64
	eta, examBase, examActivity  float64
	threshold, pickinessScale    float64
	maxClicks                    int
	rOffset, rScale, rNoise      float64
	rQuality, rFactors           float64
	patience, recovery           float64
	drift, driftDislike          float64
	pop                          []float64 // pop(i), indexed by catalog index
	// vecs are the item vectors tastes are matched against (categories
	// and tags in separate blocks), taste the learned model (nil without).
	vecs     []catalog.SparseVec
	taste    *boundTaste
	eng      engagementParams
	position [positionTable + 1]float64
}

func newUtility(env BehaviourEnv, p config.Params) (Behaviour, error) {
	r := p.Reader(UtilityName)
	m := &utilityModel{
		cat:     env.Catalog,
		bStated: r.Float("weight_stated"), bLatent: r.Float("weight_latent"),
		bPop: r.Float("weight_popularity"), bNov: r.Float("weight_novelty"),
		bDislike: r.Float("weight_dislike"), bFactors: r.Float("weight_factors"), bQuality: r.Float("weight_quality"),
		sigma: r.Float("noise"),
		eta:   r.Float("position_bias"), examBase: r.Float("examine_base"), examActivity: r.Float("examine_activity"),
		threshold: r.Float("threshold"), pickinessScale: r.Float("pickiness_scale"),
		maxClicks: r.Int("max_clicks"),
		rOffset:   r.Float("rating_offset"), rScale: r.Float("rating_scale"), rNoise: r.Float("rating_noise"),
		rQuality: r.Float("rating_quality"), rFactors: r.Float("rating_factors"),
		patience: r.Float("patience"), recovery: r.Float("patience_recovery"),
		drift: r.Float("drift"), driftDislike: r.Float("drift_dislike"),
		eng: engagementParams{Engagement: env.Engagement,
			funnelBase: r.Float("funnel_base"), funnelAffinity: r.Float("funnel_affinity"), funnelPickiness: r.Float("funnel_pickiness"),
			dwellBase: r.Float("dwell_base"), dwellAffinity: r.Float("dwell_affinity"), dwellNoise: r.Float("dwell_noise"),
			searchBase: r.Float("search_base"), searchCuriosity: r.Float("search_curiosity")},
	}
	tagWeight, path := r.Float("tag_weight"), r.String("taste_model")
	if err := r.Err(); err != nil {
		return nil, err
	}
	for k := 1; k <= positionTable; k++ {
		m.position[k] = math.Pow(float64(k), -m.eta)
	}
	m.pop = popularityScale(env.Catalog)
	m.vecs = env.Catalog.BlockFeatures(tagWeight)
	model := env.Taste
	if model == nil && path != "" {
		if !filepath.IsAbs(path) && env.Dir != "" {
			path = filepath.Join(env.Dir, path)
		}
		var err error
		if model, err = ReadTasteModel(path); err != nil {
			return nil, err
		}
	}
	if model != nil {
		taste, covered, err := model.bind(env.Catalog)
		if err != nil {
			return nil, err
		}
		if covered == 0 {
			return nil, fmt.Errorf("%w: none of its %d items is in the catalog", ErrTasteModel, len(model.Items))
		}
		m.taste = taste
	}
	return m, nil
}

// popularityScale maps popularity shares into [0,1] on a log scale:
// pop(i) = ln(1 + n·p(i)) / ln(1 + n·max_j p(j)). n·p(i) is the item's
// popularity relative to a uniform catalog, so an average item scores
// ln 2 / ln(1 + n·p_max) and the most popular item scores 1.
func popularityScale(cat *catalog.Catalog) []float64 {
	n := float64(cat.Len())
	var pmax float64
	for i := range cat.Len() {
		pmax = max(pmax, cat.PopularityShare(i))
	}
	denom := math.Log1p(n * pmax)
	pop := make([]float64, cat.Len())
	for i := range pop {
		pop[i] = math.Log1p(n*cat.PopularityShare(i)) / denom
	}
	return pop
}

// examineProb is P(examine rank k) = min(1, (e₀ + e₁·activity) · k^−η).
func (m *utilityModel) examineProb(st *State, rank int) float64 {
	w := 0.0
	if rank <= positionTable {
		w = m.position[rank]
	} else {
		w = math.Pow(float64(rank), -m.eta)
	}
	return min(1, (m.examBase+m.examActivity*st.traits.Activity)*w)
}

// affinities are the cosines of item idx with the stated, latent and true
// (stated + latent) tastes and with the history centroid. Tastes are
// matched against the model's block vectors, the history centroid (for
// novelty) against the catalog's features, as metrics measure distance.
func (m *utilityModel) affinities(st *State, idx int) (stated, latent, truth, history float64) {
	x := m.vecs[idx]
	ds, dl := x.Dot(st.Interests), x.Dot(st.Latent)
	if st.interestNorm > 0 {
		stated = ds / st.interestNorm
	}
	if st.latentNorm > 0 {
		latent = dl / st.latentNorm
	}
	if st.trueNorm > 0 {
		truth = (ds + dl) / st.trueNorm
	}
	if st.centroidNorm > 0 {
		history = m.cat.Features(idx).Dot(st.centroid) / st.centroidNorm
	}
	return stated, latent, truth, history
}

// dislike is cos(x_i, D), the item's affinity with the persona's dislikes.
func (m *utilityModel) dislike(st *State, idx int) float64 {
	if st.dislikeNorm == 0 {
		return 0
	}
	return m.vecs[idx].Dot(st.Dislikes) / st.dislikeNorm
}

// personaVector is x_u, the persona's vector in the taste model, solved
// again when its history has grown; nil without a taste model.
func (m *utilityModel) personaVector(st *State) []float64 {
	if m.taste == nil {
		return nil
	}
	if st.factors == nil || st.factorsAt != len(st.History) {
		if st.factors == nil {
			st.factors = make([]float64, m.taste.f)
		}
		m.taste.foldIn(st.History, st.factors)
		st.factorsAt = len(st.History)
	}
	return st.factors
}

// UtilityTerms are what the utility model's click rule and rating are made
// of for one persona and one item, each already multiplied by the trait
// that scales it; the model's coefficients weigh them. recloop fidelity
// fits the coefficients from them.
type UtilityTerms struct {
	// Click rule: U₀ = β_s·Stated + β_l·Latent + β_f·Factors +
	// β_pop·Popularity + β_q·Quality + β_nov·Novelty − β_d·Dislike, clicked
	// when U₀ + σ·ε > τ₀ + κ·Pickiness.
	Stated, Latent, Factors, Popularity, Quality, Novelty, Dislike, Pickiness float64
	// Rating: r₀ + RatingBias + r_q·Quality + r₁·(TrueAffinity − β_d·Dislike)
	// + r_f·Factors + ρ·NoiseScale·ζ, rounded into 1–5.
	TrueAffinity, RatingBias, NoiseScale float64
}

// TermScorer is implemented by behaviours whose choices are a weighted sum
// of UtilityTerms (the utility model).
type TermScorer interface {
	Terms(st *State, item int) UtilityTerms
}

// Terms returns the persona's terms for item idx.
func (m *utilityModel) Terms(st *State, idx int) UtilityTerms {
	return m.terms(st, idx, m.personaVector(st))
}

func (m *utilityModel) terms(st *State, idx int, x []float64) UtilityTerms {
	affS, affL, affT, affH := m.affinities(st, idx)
	t := UtilityTerms{
		Stated: affS, Latent: affL, TrueAffinity: affT,
		Popularity: st.traits.Mainstreamness * m.pop[idx],
		Novelty:    st.traits.Curiosity * (1 - affH),
		Dislike:    m.dislike(st, idx),
		Pickiness:  st.traits.Pickiness,
		RatingBias: st.Persona.RatingBias,
		NoiseScale: 1.5 - st.traits.Conformity,
	}
	if x != nil {
		t.Factors = m.taste.score(x, idx)
		t.Quality = m.taste.quality[idx]
	}
	return t
}

// meanUtility is U₀ = β_s·aff_s + β_l·aff_l + β_f·x_u·y_i +
// mainstreamness·β_pop·pop + β_q·q_i + curiosity·β_nov·nov − β_d·aff_d, the
// utility before noise.
func (m *utilityModel) meanUtility(t *UtilityTerms) float64 {
	return m.bStated*t.Stated + m.bLatent*t.Latent + m.bFactors*t.Factors +
		m.bPop*t.Popularity + m.bQuality*t.Quality + m.bNov*t.Novelty - m.bDislike*t.Dislike
}

// utility is U = U₀ + σ·ε.
func (m *utilityModel) utility(st *State, idx, round int, t *UtilityTerms) float64 {
	eps := rng.Normal(rng.Key(st.Key, uint64(round), rng.PurposeNoise, uint64(idx)))
	return m.meanUtility(t) + m.sigma*eps
}

// meanRating is r̄ = r₀ + b_u + r_q·q_i + r₁·(aff_true − β_d·aff_d) +
// r_f·x_u·y_i, the rating before noise and rounding.
func (m *utilityModel) meanRating(t *UtilityTerms) float64 {
	return m.rOffset + t.RatingBias + m.rQuality*t.Quality +
		m.rScale*(t.TrueAffinity-m.bDislike*t.Dislike) + m.rFactors*t.Factors
}

// rating is clamp(round(r̄ + ρ·(1.5 − conformity)·ζ), 1, 5).
func (m *utilityModel) rating(st *State, idx, round int, t *UtilityTerms) float64 {
	zeta := rng.Normal(rng.Key(st.Key, uint64(round), rng.PurposeRating, uint64(idx)))
	return min(5, max(1, math.Round(m.meanRating(t)+m.rNoise*t.NoiseScale*zeta)))
}

// ExpectedRating is the mean of the ratings the persona would draw for
// item: Σ_k k·P(clamp(round(r̄ + ρ'·ζ), 1, 5) = k) = 1 + Σ_{k=1..4}
// P(r̄ + ρ'·ζ ≥ k + ½), which a point forecast can be compared with.
func (m *utilityModel) ExpectedRating(st *State, item int) float64 {
	t := m.Terms(st, item)
	mean, sd := m.meanRating(&t), m.rNoise*t.NoiseScale
	e := 1.0
	for k := 1; k <= 4; k++ {
		edge := float64(k) + 0.5
		switch {
		case sd > 0:
			e += 0.5 * math.Erfc((edge-mean)/(sd*math.Sqrt2))
		case mean >= edge:
			e++
		}
	}
	return e
}

func (m *utilityModel) clickThreshold(st *State) float64 {
	return m.threshold + m.pickinessScale*st.traits.Pickiness
}

// Scorer is implemented by behaviours that can judge one item for a
// persona without showing it a slate, which is what recloop fidelity asks
// of a behaviour: how likely an examined item is to be clicked, whether
// this persona in this round would click it, and the rating it would give.
// None of them changes st.
type Scorer interface {
	ClickProbability(st *State, item int) float64
	WouldClick(st *State, round, item int) bool
	Rate(st *State, round, item int) float64
	ExpectedRating(st *State, item int) float64
}

// ClickProbability is P(click | examined) = Φ((U₀ − τ)/σ); with σ = 0 it is
// 1 when U₀ > τ and 0 otherwise. Consumption and the click cap are ignored.
func (m *utilityModel) ClickProbability(st *State, item int) float64 {
	t := m.Terms(st, item)
	z := m.meanUtility(&t) - m.clickThreshold(st)
	if m.sigma == 0 {
		if z > 0 {
			return 1
		}
		return 0
	}
	return 0.5 * math.Erfc(-z/(m.sigma*math.Sqrt2))
}

// WouldClick draws the click decision Decide would make for the examined
// item in round (the same noise draw), ignoring consumption and the cap.
func (m *utilityModel) WouldClick(st *State, round, item int) bool {
	t := m.Terms(st, item)
	return m.utility(st, item, round, &t) > m.clickThreshold(st)
}

// Rate is the rating Decide would give the item if clicked in round.
func (m *utilityModel) Rate(st *State, round, item int) float64 {
	t := m.Terms(st, item)
	return m.rating(st, item, round, &t)
}

func (m *utilityModel) initialPatience(st *State) float64 {
	return m.patience * (0.5 + st.traits.Activity)
}

// Decide walks the slate in rank order. Every draw is keyed by the persona,
// the round, a purpose and the rank (examination) or the item (noise,
// rating), and the persona's taste and history stay as they were at the
// start of the slate until it has been walked, so an item's fate depends on
// other ranks only through the max_clicks cap.
func (m *utilityModel) Decide(_ context.Context, st *State, round int, slate []trajectory.Shown) (Decision, error) {
	if st.Exited {
		return Decision{}, nil
	}
	if !st.patienceSet {
		st.Patience, st.patienceSet = m.initialPatience(st), true
	}
	st.SlatesViewed++
	h0 := len(st.History)
	threshold := m.clickThreshold(st)
	// The persona's learned vector stays as the slate found it until the
	// slate has been walked, like its stated taste.
	x := m.personaVector(st)
	clicks := 0
	for k := range slate {
		sh := &slate[k]
		sh.Examined, sh.Clicked, sh.Rating = false, false, 0
		sh.Stage, sh.Dwell, sh.Bounced = 0, 0, false
		rank := k + 1
		if rng.Uniform(rng.Key(st.Key, uint64(round), rng.PurposeExamine, uint64(rank))) >= m.examineProb(st, rank) {
			continue
		}
		idx, ok := m.cat.Index(sh.Item)
		if !ok {
			continue
		}
		sh.Examined = true
		if clicks >= m.maxClicks || st.HasConsumed(idx) {
			continue
		}
		t := m.terms(st, idx, x)
		if m.utility(st, idx, round, &t) <= threshold {
			continue
		}
		sh.Clicked = true
		sh.Rating = m.rating(st, idx, round, &t)
		if m.eng.On() {
			m.eng.engage(st, round, idx, t.TrueAffinity, sh)
		}
		st.record(idx, round, sh.Rating)
		clicks++
	}
	d := m.settle(st, round, h0)
	if m.eng.On() {
		d.Query = m.eng.search(m.cat, st, round, slate)
	}
	return d, nil
}

// settle applies what the slate's consumption does to the persona: history
// centroid, taste drift, patience and exit.
func (m *utilityModel) settle(st *State, round, h0 int) Decision {
	var d Decision
	accepted := 0
	for _, c := range st.History[h0:] {
		st.addToCentroid(m.cat, int(c.Item))
		m.applyDrift(st, int(c.Item), c.Rating)
		d.Utility += (c.Rating - 1) / 4
		if c.Rating >= 4 {
			accepted++
		}
	}
	if n := len(st.History) - h0; n > 0 {
		d.Utility /= float64(n)
	}
	if accepted > 0 {
		st.Patience = min(m.initialPatience(st), st.Patience+m.recovery)
	} else {
		st.Patience--
	}
	if st.Patience <= 1e-9 {
		st.Exited, st.ExitRound, d.Exit = true, round, true
	}
	return d
}

// applyDrift moves the stated interests I after consuming item x:
// I ← max(0, (1 − λg)·I + λg·‖I‖·x), with g = 1 for an accepted item and
// g₋ otherwise. The target ‖I‖·x is the item's direction at the taste's
// length, so accepted items rotate the taste without inflating it.
func (m *utilityModel) applyDrift(st *State, idx int, rating float64) {
	g := m.driftDislike
	if rating >= 4 {
		g = 1
	}
	lambda := m.drift * g
	if lambda == 0 {
		return
	}
	s := st.interestNorm
	for f := range st.Interests {
		st.Interests[f] *= 1 - lambda
	}
	x := m.vecs[idx]
	for k, f := range x.Idx {
		st.Interests[f] = max(0, st.Interests[f]+lambda*s*x.Val[k])
	}
	st.refresh()
}

package personas

import (
	"context"
	"math"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/internal/rng"
	"github.com/recloop/recloop/trajectory"
)

// UtilityName is the registered name of the utility model.
const UtilityName = "utility"

// UtilitySpec lists every tunable of the utility model; docs/user-model.md
// gives the equations they enter.
var UtilitySpec = config.Spec{
	Name: UtilityName,
	Summary: "The offline user model: position-biased examination, a random-utility click rule over " +
		"stated and latent taste, popularity and novelty, noisy 1–5 ratings, patience-driven exit and taste drift; with a funnel, completion and bounces, funnel stages and search from affinity and traits.",
	Params: []config.Param{
		{Name: "weight_stated", Kind: config.Float, Default: 1.0, Min: config.AtLeast(0), Doc: "β_s: weight of the affinity with the stated (drifting) interests."},
		{Name: "weight_latent", Kind: config.Float, Default: 0.6, Min: config.AtLeast(0), Doc: "β_l: weight of the affinity with the latent interests the persona does not know it has."},
		{Name: "weight_popularity", Kind: config.Float, Default: 0.3, Min: config.AtLeast(0), Doc: "β_pop: weight of popularity, multiplied by the conformity trait."},
		{Name: "weight_novelty", Kind: config.Float, Default: 0.3, Min: config.AtLeast(0), Doc: "β_nov: weight of novelty (distance from the history), multiplied by the curiosity trait."},
		{Name: "weight_dislike", Kind: config.Float, Default: 1.0, Min: config.AtLeast(0), Doc: "β_d: weight of the affinity with the persona's dislikes, subtracted from its utility and (times r₁) from its ratings."},
		{Name: "noise", Kind: config.Float, Default: 0.15, Min: config.AtLeast(0), Doc: "σ: standard deviation of the utility noise."},
		{Name: "position_bias", Kind: config.Float, Default: 0.8, Min: config.AtLeast(0), Doc: "η: examination falls with rank k as k^−η (0 = every rank equally)."},
		{Name: "examine_base", Kind: config.Float, Default: 0.5, Min: config.AtLeast(0), Doc: "e₀: examination scale of a persona with activity 0."},
		{Name: "examine_activity", Kind: config.Float, Default: 1.0, Min: config.AtLeast(0), Doc: "e₁: examination scale added per unit of activity."},
		{Name: "threshold", Kind: config.Float, Default: 0.45, Doc: "τ₀: utility an examined item must exceed to be clicked, for pickiness 0."},
		{Name: "pickiness_scale", Kind: config.Float, Default: 0.3, Min: config.AtLeast(0), Doc: "κ: how much the pickiness trait raises the click threshold."},
		{Name: "max_clicks", Kind: config.Int, Default: 3, Min: config.AtLeast(1), Doc: "m: most items consumed from one slate; later ranks are examined but not clicked."},
		{Name: "rating_offset", Kind: config.Float, Default: 1.5, Doc: "r₀: rating of an item with no true affinity, before noise."},
		{Name: "rating_scale", Kind: config.Float, Default: 5.0, Min: config.AtLeast(0), Doc: "r₁: rating points per unit of true affinity."},
		{Name: "rating_noise", Kind: config.Float, Default: 0.5, Min: config.AtLeast(0), Doc: "ρ: standard deviation of the rating noise, in rating points."},
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
	bDislike                     float64
	sigma                        float64
	eta, examBase, examActivity  float64
	threshold, pickinessScale    float64
	maxClicks                    int
	rOffset, rScale, rNoise      float64
	patience, recovery           float64
	drift, driftDislike          float64
	pop                          []float64 // pop(i), indexed by catalog index
	eng                          engagementParams
	position                     [positionTable + 1]float64
}

func newUtility(env BehaviourEnv, p config.Params) (Behaviour, error) {
	m := &utilityModel{
		cat:     env.Catalog,
		bStated: p.Float("weight_stated"), bLatent: p.Float("weight_latent"),
		bPop: p.Float("weight_popularity"), bNov: p.Float("weight_novelty"),
		bDislike: p.Float("weight_dislike"),
		sigma:    p.Float("noise"),
		eta:      p.Float("position_bias"), examBase: p.Float("examine_base"), examActivity: p.Float("examine_activity"),
		threshold: p.Float("threshold"), pickinessScale: p.Float("pickiness_scale"),
		maxClicks: p.Int("max_clicks"),
		rOffset:   p.Float("rating_offset"), rScale: p.Float("rating_scale"), rNoise: p.Float("rating_noise"),
		patience: p.Float("patience"), recovery: p.Float("patience_recovery"),
		drift: p.Float("drift"), driftDislike: p.Float("drift_dislike"),
		eng: engagementParams{Engagement: env.Engagement,
			funnelBase: p.Float("funnel_base"), funnelAffinity: p.Float("funnel_affinity"), funnelPickiness: p.Float("funnel_pickiness"),
			dwellBase: p.Float("dwell_base"), dwellAffinity: p.Float("dwell_affinity"), dwellNoise: p.Float("dwell_noise"),
			searchBase: p.Float("search_base"), searchCuriosity: p.Float("search_curiosity")},
	}
	for k := 1; k <= positionTable; k++ {
		m.position[k] = math.Pow(float64(k), -m.eta)
	}
	m.pop = popularityScale(env.Catalog)
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
// (stated + latent) tastes and with the history centroid.
func (m *utilityModel) affinities(st *State, idx int) (stated, latent, truth, history float64) {
	x := m.cat.Features(idx)
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
		history = x.Dot(st.centroid) / st.centroidNorm
	}
	return stated, latent, truth, history
}

// dislike is cos(x_i, D), the item's affinity with the persona's dislikes.
func (m *utilityModel) dislike(st *State, idx int) float64 {
	if st.dislikeNorm == 0 {
		return 0
	}
	return m.cat.Features(idx).Dot(st.Dislikes) / st.dislikeNorm
}

// meanUtility is U₀ = β_s·aff_s + β_l·aff_l + conformity·β_pop·pop +
// curiosity·β_nov·nov − β_d·aff_d, the utility before noise.
func (m *utilityModel) meanUtility(st *State, idx int, affS, affL, affH float64) float64 {
	u := m.bStated*affS + m.bLatent*affL +
		st.traits.Conformity*m.bPop*m.pop[idx] +
		st.traits.Curiosity*m.bNov*(1-affH)
	if st.dislikeNorm > 0 {
		u -= m.bDislike * m.dislike(st, idx)
	}
	return u
}

// utility is U = U₀ + σ·ε.
func (m *utilityModel) utility(st *State, idx, round int, affS, affL, affH float64) float64 {
	eps := rng.Normal(rng.Key(st.Key, uint64(round), rng.PurposeNoise, uint64(idx)))
	return m.meanUtility(st, idx, affS, affL, affH) + m.sigma*eps
}

// rating is clamp(round(r₀ + r₁·(aff_true − β_d·aff_d) + ρ·ζ), 1, 5).
func (m *utilityModel) rating(st *State, idx, round int, affTrue float64) float64 {
	zeta := rng.Normal(rng.Key(st.Key, uint64(round), rng.PurposeRating, uint64(idx)))
	if st.dislikeNorm > 0 {
		affTrue -= m.bDislike * m.dislike(st, idx)
	}
	return min(5, max(1, math.Round(m.rOffset+m.rScale*affTrue+m.rNoise*zeta)))
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
}

// ClickProbability is P(click | examined) = Φ((U₀ − τ)/σ); with σ = 0 it is
// 1 when U₀ > τ and 0 otherwise. Consumption and the click cap are ignored.
func (m *utilityModel) ClickProbability(st *State, item int) float64 {
	affS, affL, _, affH := m.affinities(st, item)
	z := m.meanUtility(st, item, affS, affL, affH) - m.clickThreshold(st)
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
	affS, affL, _, affH := m.affinities(st, item)
	return m.utility(st, item, round, affS, affL, affH) > m.clickThreshold(st)
}

// Rate is the rating Decide would give the item if clicked in round.
func (m *utilityModel) Rate(st *State, round, item int) float64 {
	_, _, affT, _ := m.affinities(st, item)
	return m.rating(st, item, round, affT)
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
		affS, affL, affT, affH := m.affinities(st, idx)
		if m.utility(st, idx, round, affS, affL, affH) <= threshold {
			continue
		}
		sh.Clicked = true
		sh.Rating = m.rating(st, idx, round, affT)
		if m.eng.On() {
			m.eng.engage(st, round, idx, affT, sh)
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
	x := m.cat.Features(idx)
	for k, f := range x.Idx {
		st.Interests[f] = max(0, st.Interests[f]+lambda*s*x.Val[k])
	}
	st.refresh()
}

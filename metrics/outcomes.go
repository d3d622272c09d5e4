package metrics

import (
	"math"
	"slices"

	"github.com/recloop/recloop/trajectory"
)

// Outcome metrics: reported only for runs whose scenario declares a funnel
// (engagement) or has personas return between rounds (returning), so that
// every other run's results stay as they were.
const (
	// Conversion is the share of impressions that reached the funnel's last
	// stage (purchase, complete); ConversionPrefix + stage names the share
	// that reached each stage between the click and the last.
	Conversion       = "conversion"
	ConversionPrefix = "conversion_"
	MeanDwell        = "mean_dwell"
	BounceRate       = "bounce_rate"
	WeightedOutcome  = "weighted_outcome"
	SearchRate       = "search_rate"
	RoundsRetained   = "rounds_retained"
	ReturnGap        = "return_gap"
	// Retention is the per-round survival curve (VariantResult.Rounds).
	Retention = "retention"
	// BounceWeight is the key of the bounce's weight in OutcomeWeights.
	BounceWeight = "bounce"
)

// DefaultOutcomeWeights values an item by the deepest funnel stage it
// reached: the click 1, the last stage 8 (a purchase or completion is worth
// eight clicks), each stage in between 2, and a bounce −1.
func DefaultOutcomeWeights(funnel []string) map[string]float64 {
	w := map[string]float64{BounceWeight: -1}
	for j, stage := range funnel {
		switch {
		case j == 0:
			w[stage] = 1
		case j == len(funnel)-1:
			w[stage] = 8
		default:
			w[stage] = 2
		}
	}
	return w
}

// outcomeTally is what one persona did beyond clicks in one variant.
type outcomeTally struct {
	// reached[j] counts impressions whose item reached stage j+1 or deeper.
	reached   []int
	dwell     meanAcc
	bounces   int
	value     float64
	searches  int
	visits    int
	lastVisit int
	gaps      meanAcc
}

// outcomeConfig is the aggregator's view of a run's funnel and returning.
type outcomeConfig struct {
	funnel    []string
	weights   []float64 // by stage, from Config.OutcomeWeights
	bounce    float64
	returning bool
}

func (o *outcomeConfig) engaged() bool { return len(o.funnel) > 0 }

func (a *Aggregator) configureOutcomes(run *trajectory.RunInfo) {
	o := &a.outcomes
	o.funnel, o.returning = slices.Clone(run.Funnel), run.Returning
	w := a.cfg.OutcomeWeights
	if w == nil {
		w = DefaultOutcomeWeights(o.funnel)
	}
	o.weights = make([]float64, len(o.funnel))
	for j, stage := range o.funnel {
		o.weights[j] = w[stage]
	}
	o.bounce = w[BounceWeight]
	a.metrics, a.headline = personaMetrics, headlineOrder
	extra := a.outcomeMetrics()
	if len(extra) == 0 {
		return
	}
	a.metrics = append(slices.Clone(personaMetrics), extra...)
	a.headline = slices.Clone(headlineOrder)
	for _, m := range extra {
		a.headline = append(a.headline, m.name)
	}
}

// outcomeMetrics are the per-persona outcome metrics this run reports.
func (a *Aggregator) outcomeMetrics() []personaMetric {
	o := &a.outcomes
	var out []personaMetric
	if o.engaged() {
		// The last stage is Conversion itself.
		for j := 1; j < len(o.funnel)-1; j++ {
			out = append(out, personaMetric{ConversionPrefix + o.funnel[j], func(ps *personaState) float64 {
				return ps.reachedShare(j)
			}})
		}
		last := len(o.funnel) - 1
		out = append(out,
			personaMetric{Conversion, func(ps *personaState) float64 { return ps.reachedShare(last) }},
			personaMetric{MeanDwell, func(ps *personaState) float64 { return ps.out.dwell.mean() }},
			personaMetric{BounceRate, func(ps *personaState) float64 { return ratio(ps.out.bounces, ps.clicks) }},
			personaMetric{WeightedOutcome, func(ps *personaState) float64 {
				if ps.slates == 0 {
					return math.NaN()
				}
				return ps.out.value / float64(ps.slates)
			}},
			personaMetric{SearchRate, func(ps *personaState) float64 { return ratio(ps.out.searches, ps.slates) }},
		)
	}
	if o.returning {
		out = append(out,
			personaMetric{RoundsRetained, func(ps *personaState) float64 { return a.roundsRetained(ps) }},
			personaMetric{ReturnGap, func(ps *personaState) float64 { return ps.out.gaps.mean() }},
		)
	}
	return out
}

func (ps *personaState) reachedShare(stage int) float64 {
	if stage >= len(ps.out.reached) {
		return ratio(0, ps.impressions)
	}
	return ratio(ps.out.reached[stage], ps.impressions)
}

// roundsRetained is exit − join + 1 for a persona that left after round
// exit, rounds − join for one still there at the end, NaN for one that
// never visited.
func (a *Aggregator) roundsRetained(ps *personaState) float64 {
	if ps.out.visits == 0 {
		return math.NaN()
	}
	if ps.exitRound >= 0 {
		return float64(ps.exitRound - ps.join + 1)
	}
	return float64(a.roundCount() - ps.join)
}

// visit counts a persona's visit in round t (once per round).
func (ps *personaState) visit(t int) {
	o := &ps.out
	if o.visits > 0 {
		o.gaps.add(float64(t - o.lastVisit))
	}
	o.visits++
	o.lastVisit = t
}

// outcomeStep folds one slate's stages, dwell, bounces and search.
func (a *Aggregator) outcomeStep(ps *personaState, st *trajectory.Step) {
	o := &a.outcomes
	if !o.engaged() {
		return
	}
	if len(ps.out.reached) < len(o.funnel) {
		ps.out.reached = make([]int, len(o.funnel))
	}
	if st.Query != "" {
		ps.out.searches++
	}
	for k := range st.Slate {
		sh := &st.Slate[k]
		if !sh.Clicked {
			continue
		}
		ps.out.dwell.add(sh.Dwell)
		if sh.Bounced {
			ps.out.bounces++
			ps.out.value += o.bounce
		}
		deepest := min(max(sh.Stage, 1), len(o.funnel))
		for j := range deepest {
			ps.out.reached[j]++
		}
		if !sh.Bounced {
			ps.out.value += o.weights[deepest-1]
		}
	}
}

// retentionSeries is Retention by round: among personas that have joined
// by round t and visited this variant, the share whose exit round (the
// last visit before churning) is t or later, or who never left.
func (a *Aggregator) retentionSeries(v *variantState, rounds int) []Float {
	out := make([]Float, rounds)
	for t := range out {
		var joined, kept int
		for _, ps := range v.states {
			if ps == nil || ps.out.visits == 0 || ps.join > t {
				continue
			}
			joined++
			if ps.exitRound < 0 || ps.exitRound >= t {
				kept++
			}
		}
		out[t] = Float(ratio(kept, joined))
	}
	return out
}

// outcomeDefinitions adds this run's outcome metrics to defs.
func (a *Aggregator) outcomeDefinitions(defs map[string]string) {
	for _, pm := range a.metrics[len(personaMetrics):] {
		m, _ := Lookup(pm.name)
		defs[pm.name] = m.Def
	}
	if a.outcomes.returning {
		m, _ := Lookup(Retention)
		defs[Retention] = m.Def
	}
}

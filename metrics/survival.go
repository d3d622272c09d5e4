package metrics

import (
	"math"
	"slices"
)

// Survival is a log-rank test of one candidate's retention against the
// baseline's: a persona's time is its rounds retained, and it is an event
// when the persona churned (or exited) and censored when it was still
// coming back at the end of the run.
type Survival struct {
	Baseline  string `json:"baseline"`
	Candidate string `json:"candidate"`
	// Churned counts the events in each arm; Expected is the candidate's
	// events expected if both arms churned alike.
	BaselineChurned  int   `json:"baseline_churned"`
	CandidateChurned int   `json:"candidate_churned"`
	Expected         Float `json:"candidate_expected"`
	ChiSquare        Float `json:"chi_square"`
	P                Float `json:"p"`
}

// survivalTime is one persona in one arm.
type survivalTime struct {
	t     int
	event bool
}

// LogRank compares two samples of (time, event) with the log-rank test:
// at every time t with an event, E₁ += d·n₁/n and V += d·(n₁/n)(n₂/n)(n−d)/(n−1),
// where n₁, n₂ are at risk (time ≥ t) and d the events at t;
// χ² = (O₁ − E₁)² / V with one degree of freedom. It returns O₁, E₁, χ²
// and p (NaN when no event happened).
func logRank(a, b []survivalTime) (observed int, expected, chi2, p float64) {
	times := make([]int, 0, len(a)+len(b))
	for _, x := range a {
		if x.event {
			times = append(times, x.t)
			observed++
		}
	}
	for _, x := range b {
		if x.event {
			times = append(times, x.t)
		}
	}
	slices.Sort(times)
	times = slices.Compact(times)
	var variance float64
	for _, t := range times {
		n1, d1 := atRisk(a, t)
		n2, d2 := atRisk(b, t)
		n, d := float64(n1+n2), float64(d1+d2)
		expected += d * float64(n1) / n
		if n > 1 {
			variance += d * (float64(n1) / n) * (float64(n2) / n) * (n - d) / (n - 1)
		}
	}
	if variance <= 0 {
		return observed, expected, math.NaN(), math.NaN()
	}
	diff := float64(observed) - expected
	chi2 = diff * diff / variance
	return observed, expected, chi2, math.Erfc(math.Sqrt(chi2 / 2))
}

// atRisk counts the members still there at t (time ≥ t) and those with an
// event at t.
func atRisk(xs []survivalTime, t int) (n, d int) {
	for _, x := range xs {
		if x.t >= t {
			n++
			if x.t == t && x.event {
				d++
			}
		}
	}
	return n, d
}

// survivalTimes is every visiting persona's (rounds retained, churned).
func (a *Aggregator) survivalTimes(v *variantState) []survivalTime {
	var out []survivalTime
	for _, ps := range v.states {
		if ps == nil || ps.out.visits == 0 {
			continue
		}
		out = append(out, survivalTime{t: int(a.roundsRetained(ps)), event: ps.exitRound >= 0})
	}
	return out
}

// survival tests every candidate's retention against the baseline's, for
// runs with returning personas.
func (a *Aggregator) survival(res *Results) {
	base := slices.IndexFunc(a.variants, func(v *variantState) bool { return v.name == a.cfg.Baseline })
	if !a.outcomes.returning || base < 0 {
		return
	}
	bt := a.survivalTimes(a.variants[base])
	baseEvents := 0
	for _, x := range bt {
		if x.event {
			baseEvents++
		}
	}
	for _, v := range a.variants {
		if v.name == a.cfg.Baseline {
			continue
		}
		ct := a.survivalTimes(v)
		o, e, chi2, p := logRank(ct, bt)
		res.Survival = append(res.Survival, Survival{Baseline: a.cfg.Baseline, Candidate: v.name,
			BaselineChurned: baseEvents, CandidateChurned: o, Expected: Float(e), ChiSquare: Float(chi2), P: Float(p)})
	}
}

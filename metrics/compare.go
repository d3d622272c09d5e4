package metrics

import (
	"math"
	"slices"
)

// DefaultABBootstrap is the number of resamples (and of sign flips) for
// paired comparisons, as METRICS.md asks.
const DefaultABBootstrap = 10000

// compare pairs every candidate with the baseline, persona by persona, on
// every per-persona metric: over all personas and within each segment.
func (a *Aggregator) compare(res *Results, segments []segment) []func() {
	base := slices.IndexFunc(a.variants, func(v *variantState) bool { return v.name == a.cfg.Baseline })
	if base < 0 || len(a.variants) < 2 {
		return nil
	}
	res.Baseline = a.cfg.Baseline
	b := a.cfg.ABBootstrap
	if b <= 0 {
		b = DefaultABBootstrap
	}
	baseVals := a.personaValues(a.variants[base])
	all := segment{members: make([]int32, len(a.personas))}
	for p := range all.members {
		all.members[p] = int32(p)
	}
	groups := append([]segment{all}, segments...)
	var jobs []func()
	for _, v := range a.variants {
		if v.name == a.cfg.Baseline {
			continue
		}
		vals := a.personaValues(v)
		for m, pm := range a.metrics {
			def, _ := Lookup(pm.name)
			for _, g := range groups {
				if g.name != "" && !def.InSegments {
					continue
				}
				d := a.pairedDifferences(baseVals[m], vals[m], g.members)
				k := len(res.Comparisons)
				res.Comparisons = append(res.Comparisons, Comparison{Metric: pm.name, Segment: g.name, Baseline: a.cfg.Baseline, Candidate: v.name, N: len(d)})
				key := bootstrapKey(a.cfg.Seed, v.name, "ab:"+pm.name, g.name)
				jobs = append(jobs, func() {
					c := &res.Comparisons[k]
					c.Diff, c.CILow, c.CIHigh, c.P, c.EffectSize, c.MDE = nan(), nan(), nan(), nan(), nan(), nan()
					if len(d) == 0 {
						return
					}
					c.Diff = Float(mean(d))
					lo, hi := PairedBootstrapCI(d, b, key)
					c.CILow, c.CIHigh = Float(lo), Float(hi)
					c.P = Float(SignFlipP(d, b, key^0x5eed))
					c.EffectSize = Float(EffectSizeDz(d))
					c.MDE = Float(MDE(d))
				})
			}
		}
	}
	return jobs
}

// holmAcrossCandidates fills PHolm: Holm's correction over the candidates
// compared with the baseline on the same metric and segment.
func holmAcrossCandidates(cs []Comparison) {
	type family struct{ metric, segment string }
	members := map[family][]int{}
	var order []family
	for i, c := range cs {
		f := family{c.Metric, c.Segment}
		if _, ok := members[f]; !ok {
			order = append(order, f)
		}
		members[f] = append(members[f], i)
	}
	for _, f := range order {
		idx := members[f]
		ps := make([]float64, len(idx))
		for k, i := range idx {
			ps[k] = float64(cs[i].P)
			if math.IsNaN(ps[k]) {
				ps[k] = 1
			}
		}
		for k, adj := range Holm(ps) {
			if math.IsNaN(float64(cs[idx[k]].P)) {
				cs[idx[k]].PHolm = nan()
				continue
			}
			cs[idx[k]].PHolm = Float(adj)
		}
	}
}

// pairedDifferences is d_u = candidate(u) − baseline(u) over the members for
// whom both are defined. A persona's replicates are averaged first, within
// each variant, so that d has one value per persona (METRICS.md).
func (a *Aggregator) pairedDifferences(base, cand []float64, members []int32) []float64 {
	type sums struct {
		base, cand   float64
		nBase, nCand int
	}
	var order []int32
	byOrigin := make(map[int32]*sums, len(members))
	for _, p := range members {
		origin := a.personas[p].origin
		s, ok := byOrigin[origin]
		if !ok {
			s = &sums{}
			byOrigin[origin] = s
			order = append(order, origin)
		}
		if int(p) < len(base) && Float(base[p]).Defined() {
			s.base += base[p]
			s.nBase++
		}
		if int(p) < len(cand) && Float(cand[p]).Defined() {
			s.cand += cand[p]
			s.nCand++
		}
	}
	d := make([]float64, 0, len(order))
	for _, origin := range order {
		if s := byOrigin[origin]; s.nBase > 0 && s.nCand > 0 {
			d = append(d, s.cand/float64(s.nCand)-s.base/float64(s.nBase))
		}
	}
	return d
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

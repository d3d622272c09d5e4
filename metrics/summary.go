package metrics

import (
	"maps"
	"math"
	"slices"
)

// coldWarmShare is METRICS.md's rounds-to-warm threshold: the cold cohort's
// CTR must reach 90% of the warm cohort's.
const coldWarmShare = 0.9

// personaMetric computes one per-persona metric from a persona's state in
// one variant; NaN means undefined for that persona.
type personaMetric struct {
	name  string
	value func(ps *personaState) float64
}

var personaMetrics = []personaMetric{
	{CTR, func(ps *personaState) float64 { return ratio(ps.clicks, ps.impressions) }},
	{Acceptance, func(ps *personaState) float64 { return ratio(ps.accepted, ps.clicks) }},
	{MeanRating, func(ps *personaState) float64 { return ps.means[pmRating].mean() }},
	{Satisfaction, func(ps *personaState) float64 { return ps.means[pmSatisfaction].mean() }},
	{SessionLength, func(ps *personaState) float64 {
		if ps.ended {
			return float64(ps.viewed)
		}
		return float64(ps.slates)
	}},
	{ExitRate, func(ps *personaState) float64 {
		if ps.exitRound >= 0 {
			return 1
		}
		return 0
	}},
	{ILD, func(ps *personaState) float64 { return ps.means[pmILD].mean() }},
	{Novelty, func(ps *personaState) float64 { return ps.means[pmNovelty].mean() }},
	{Serendipity, func(ps *personaState) float64 { return ps.means[pmSerendipity].mean() }},
	{ContentSerendipity, func(ps *personaState) float64 { return ps.means[pmContentSerendipity].mean() }},
	{TrueSerendipityShare, func(ps *personaState) float64 { return ratio(ps.trueHits, ps.latentAccepted) }},
	{CalibrationKL, func(ps *personaState) float64 { return ps.means[pmCalibrationKL].mean() }},
	{Entropy, func(ps *personaState) float64 { return ps.means[pmEntropy].mean() }},
	{EntropyNormalised, func(ps *personaState) float64 { return ps.means[pmEntropyNorm].mean() }},
	{EntropySlope, func(ps *personaState) float64 { return ps.trend.slope() }},
	{TopCategoryShare, func(ps *personaState) float64 { return ps.means[pmTopShare].mean() }},
	{TasteDrift, func(ps *personaState) float64 {
		if math.IsInf(ps.drift, 0) {
			return math.NaN()
		}
		return ps.drift
	}},
}

// headlineOrder is the fixed order of VariantResult.Metrics in a run
// without a funnel or returning personas.
var headlineOrder = headlineNames()

// roundSeries are the per-round means kept in roundStats.acc.
var roundSeries = []struct {
	name string
	acc  int
}{
	{CTR, rmCTR}, {Acceptance, rmAcceptance}, {MeanRating, rmRating}, {Satisfaction, rmSatisfaction},
	{ILD, rmILD}, {Novelty, rmNovelty}, {Serendipity, rmSerendipity},
	{ContentSerendipity, rmContentSerendipity}, {TrueSerendipityShare, rmTrueSerendipity},
	{CalibrationKL, rmCalibrationKL}, {Entropy, rmEntropy}, {EntropyNormalised, rmEntropyNorm},
	{TopCategoryShare, rmTopShare}, {CTRCold, rmCTRCold}, {CTRWarm, rmCTRWarm},
}

// Results summarises everything written so far. Call it after the last
// event; without a run_end event the results are marked partial.
func (a *Aggregator) Results() *Results {
	a.finalise()
	res := &Results{
		Schema:      ResultsSchemaVersion,
		Personas:    len(a.personas),
		Items:       a.cat.Len(),
		Rounds:      a.roundCount(),
		Variants:    make([]VariantResult, len(a.variants)),
		Definitions: definitions(),
	}
	if a.run != nil {
		res.Scenario, res.Seed = a.run.Scenario, a.run.Seed
		if a.run.Personas > 0 {
			res.Personas = a.run.Personas
		}
		if a.run.Items > 0 {
			res.Items = a.run.Items
		}
	}
	switch {
	case a.ended:
		res.Partial, res.Reason = a.runEnd.Partial, a.runEnd.Reason
	default:
		res.Partial, res.Reason = true, "the event stream has no run_end event"
	}
	if a.conversational() {
		res.Definitions = conversationDefinitions()
	} else {
		a.outcomeDefinitions(res.Definitions)
	}
	segments := a.segments()
	var jobs []func()
	for k, v := range a.variants {
		jobs = append(jobs, a.variantResult(&res.Variants[k], v, segments, res.Rounds)...)
	}
	jobs = append(jobs, a.compare(res, segments)...)
	a.survival(res)
	res.Fingerprint = a.fingerprint(res)
	res.PersonaIDs = a.personaIDs()
	for k, v := range a.variants {
		res.Variants[k].PerPersona = a.perPersona(v)
	}
	runParallel(jobs)
	holmAcrossCandidates(res.Comparisons)
	return res
}

func (a *Aggregator) roundCount() int {
	n := 0
	if a.run != nil {
		n = a.run.Rounds
	}
	for _, v := range a.variants {
		n = max(n, len(v.rounds))
	}
	return n
}

type segment struct {
	name    string
	members []int32
}

// segments are cold, warm (always at indexes 0 and 1) and late joiners, then every persona label in
// sorted order. A label that repeats a built-in name is left out: the
// built-in segment is computed, not declared.
func (a *Aggregator) segments() []segment {
	builtin := []segment{{name: SegmentCold}, {name: SegmentWarm}, {name: SegmentLateJoiner}}
	labels := map[string][]int32{}
	for k, p := range a.personas {
		idx := int32(k)
		if p.cold {
			builtin[0].members = append(builtin[0].members, idx)
		} else {
			builtin[1].members = append(builtin[1].members, idx)
		}
		if p.joinRound > 0 {
			builtin[2].members = append(builtin[2].members, idx)
		}
		for _, s := range p.segments {
			if s != SegmentCold && s != SegmentWarm && s != SegmentLateJoiner {
				labels[s] = append(labels[s], idx)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(labels)) {
		builtin = append(builtin, segment{name: name, members: labels[name]})
	}
	return builtin
}

// variantResult fills out with everything that needs no resampling and
// returns the bootstrap jobs that fill in the rest.
func (a *Aggregator) variantResult(out *VariantResult, v *variantState, segments []segment, rounds int) []func() {
	out.Name, out.Recommender = v.name, v.recommender
	vals := a.personaValues(v)
	b := a.cfg.Bootstrap
	var jobs []func()

	out.Metrics = make([]Value, len(a.headline))
	slot := func(name string) *Value { return &out.Metrics[slices.Index(a.headline, name)] }
	for m, pm := range a.metrics {
		dst, defined, key := slot(pm.name), definedValues(vals[m]), bootstrapKey(a.cfg.Seed, v.name, pm.name, "")
		jobs = append(jobs, func() { *dst = meanCI(pm.name, key, defined, b) })
	}
	if !a.conversational() {
		jobs = append(jobs, a.globalJobs(v, slot)...)
	}

	out.Segments = make([]SegmentResult, len(segments))
	for s, seg := range segments {
		sr := &out.Segments[s]
		*sr = SegmentResult{Segment: seg.name, Personas: len(seg.members), Metrics: make([]Value, len(a.metrics))}
		for m, pm := range a.metrics {
			dst, defined, key := &sr.Metrics[m], definedMembers(vals[m], seg.members), bootstrapKey(a.cfg.Seed, v.name, pm.name, seg.name)
			jobs = append(jobs, func() { *dst = meanCI(pm.name, key, defined, b) })
		}
	}

	if a.conversational() {
		out.Rounds = conversationRounds(v, rounds)
		out.Conversation = v.conv.result(a.run.Conversation.MaxTurns)
	} else {
		out.Rounds = a.roundValues(v, rounds)
	}
	out.CategoryShare = a.categoryShares(v, rounds)
	jobs = append(jobs, a.coldStart(&out.ColdStart, v, vals, segments)...)
	out.Errors = v.errs
	out.Errors.Examples = slices.Clone(v.errs.Examples)
	out.Errors.Rate = Float(ratio(v.errs.Errors+v.errs.Timeouts+v.errs.Invalid, v.errs.Calls))
	out.Errors.ObserveErrors = a.runEnd.ObserveErrors[v.name]
	out.WallLatencyMS = v.lat.summary()
	out.Voices = v.voices.result(a.cfg.Seed, v.name, b)
	out.Explanations = a.explanations(v, b)
	return jobs
}

// personaValues is vals[metric][persona], NaN where undefined or where the
// persona never appeared in this variant.
func (a *Aggregator) personaValues(v *variantState) [][]float64 {
	vals := make([][]float64, len(a.metrics))
	for m, pm := range a.metrics {
		col := make([]float64, len(a.personas))
		for p := range col {
			col[p] = math.NaN()
			if p < len(v.states) && v.states[p] != nil {
				col[p] = pm.value(v.states[p])
			}
		}
		vals[m] = col
	}
	return vals
}

// definedValues returns the defined entries of col.
func definedValues(col []float64) []float64 {
	out := make([]float64, 0, len(col))
	for _, x := range col {
		if !math.IsNaN(x) {
			out = append(out, x)
		}
	}
	return out
}

// definedMembers returns the defined entries of col among members.
func definedMembers(col []float64, members []int32) []float64 {
	out := make([]float64, 0, len(members))
	for _, p := range members {
		if x := col[p]; !math.IsNaN(x) {
			out = append(out, x)
		}
	}
	return out
}

// globalJobs computes the global metrics (coverage, Gini, homogenisation,
// new-item exposure, error rate) and schedules their persona resampling.
func (a *Aggregator) globalJobs(v *variantState, slot func(string) *Value) []func() {
	b := min(a.cfg.Bootstrap, globalResamples)
	key := func(metric string) uint64 { return bootstrapKey(a.cfg.Seed, v.name, metric, "") }
	var newNum, newDen, errNum, errDen []float64
	shown := 0
	for _, ps := range v.states {
		if ps == nil {
			continue
		}
		if ps.impressions > 0 {
			shown++
			newNum, newDen = append(newNum, float64(ps.newSlots)), append(newDen, float64(ps.impressions))
		}
		if ps.calls > 0 {
			errNum, errDen = append(errNum, float64(ps.failures)), append(errDen, float64(ps.calls))
		}
	}
	var totalSlots, failures int
	for _, rs := range v.rounds {
		totalSlots += rs.slots
		failures += rs.failed
	}
	newEst, errEst := ratio(v.newImpressions, totalSlots), ratio(failures, v.errs.Calls)
	cov, gin, homog := slot(Coverage), slot(Gini), slot(Homogenisation)
	newExp, errRate := slot(NewItemExposure), slot(RecommenderErrRate)
	return []func(){
		func() { *cov, *gin = a.exposureCI(v, shown, key("exposure"), b) },
		func() { *homog = a.homogenisationCI(v, key(Homogenisation), b) },
		func() {
			*newExp = globalCI(NewItemExposure, newEst, len(newNum), ratioOfSumsStats(key(NewItemExposure), newNum, newDen, b))
		},
		func() {
			*errRate = globalCI(RecommenderErrRate, errEst, len(errNum), ratioOfSumsStats(key(RecommenderErrRate), errNum, errDen, b))
		},
	}
}

// exposureCI returns coverage and the Gini index with intervals from a
// grouped bootstrap: personas are dealt into a.groups groups (index mod
// groups) whose exposure counts are kept separately, and each resample
// draws groups with replacement. Both metrics share the resamples.
func (a *Aggregator) exposureCI(v *variantState, shown int, key uint64, b int) (cov, gin Value) {
	n := a.cat.Len()
	if v.exposure == nil {
		return globalCI(Coverage, math.NaN(), 0, nil), globalCI(Gini, math.NaN(), 0, nil)
	}
	covEst := float64(v.distinct) / float64(n)
	giniEst := gini(widen(v.exposure))
	if shown == 0 {
		covEst = math.NaN()
	}
	g := a.groups
	var covStats, giniStats []float64
	if g >= 2 && shown > 0 {
		r := newResampler(key)
		counts := make([]int64, n)
		mult := make([]int64, g)
		covStats, giniStats = make([]float64, b), make([]float64, b)
		for k := range b {
			clear(mult)
			for range g {
				mult[r.intn(g)]++
			}
			clear(counts)
			for grp, m := range mult {
				if m == 0 {
					continue
				}
				for i, c := range v.groupExposure[grp*n : (grp+1)*n] {
					counts[i] += m * int64(c)
				}
			}
			covered := 0
			for _, c := range counts {
				if c > 0 {
					covered++
				}
			}
			covStats[k] = float64(covered) / float64(n)
			giniStats[k] = gini(counts)
		}
	}
	return globalCI(Coverage, covEst, shown, covStats), globalCI(Gini, giniEst, shown, giniStats)
}

// homogenisationCI resamples personas with replacement; a pair's Jaccard
// index counts with weight w_a·w_b, the product of its members'
// multiplicities, so a resample is Σ w_a w_b J_ab / Σ w_a w_b over the
// pairs where J is defined.
func (a *Aggregator) homogenisationCI(v *variantState, key uint64, b int) Value {
	if v.exposure == nil {
		return globalCI(Homogenisation, math.NaN(), 0, nil)
	}
	plan := &a.pairs
	all := v.homog.jaccards(plan)
	var pairs []personaPair
	var js []float64
	counted := make([]bool, plan.universe)
	for k, j := range all {
		if math.IsNaN(j) {
			continue
		}
		pp := plan.pairs[k]
		pairs, js = append(pairs, pp), append(js, j)
		counted[pp.a], counted[pp.b] = true, true
	}
	n := 0
	for _, c := range counted {
		if c {
			n++
		}
	}
	est := sliceMean(js)
	u := plan.universe
	if len(js) == 0 || u < 2 {
		return globalCI(Homogenisation, est, n, nil)
	}
	r := newResampler(key)
	w := make([]float64, u)
	stats := make([]float64, b)
	for k := range stats {
		clear(w)
		for range u {
			w[r.intn(u)]++
		}
		var num, den float64
		for p, pp := range pairs {
			ww := w[pp.a] * w[pp.b]
			num += ww * js[p]
			den += ww
		}
		stats[k] = math.NaN()
		if den > 0 {
			stats[k] = num / den
		}
	}
	return globalCI(Homogenisation, est, n, stats)
}

// roundValues builds VariantResult.Rounds, NaN where a round is undefined or
// was never reached.
func (a *Aggregator) roundValues(v *variantState, rounds int) map[string][]Float {
	exits := make([]int, len(v.rounds))
	for _, ps := range v.states {
		if ps != nil && ps.exitRound >= 0 && ps.exitRound < len(exits) {
			exits[ps.exitRound]++
		}
	}
	series := func(f func(t int, rs *roundStats) float64) []Float {
		out := make([]Float, rounds)
		for t := range out {
			out[t] = nan()
			if t < len(v.rounds) {
				out[t] = Float(f(t, &v.rounds[t]))
			}
		}
		return out
	}
	m := map[string][]Float{}
	for _, rsr := range roundSeries {
		m[rsr.name] = series(func(_ int, rs *roundStats) float64 { return rs.acc[rsr.acc].mean() })
	}
	m[Coverage] = series(func(_ int, rs *roundStats) float64 { return rs.coverage })
	m[Homogenisation] = series(func(_ int, rs *roundStats) float64 { return rs.homog })
	m[NewItemExposure] = series(func(_ int, rs *roundStats) float64 { return ratio(rs.newSlots, rs.slots) })
	m[RecommenderErrRate] = series(func(_ int, rs *roundStats) float64 { return ratio(rs.failed, rs.calls) })
	m[ActivePersonas] = series(func(_ int, rs *roundStats) float64 { return float64(rs.active) })
	m[ExitRate] = series(func(t int, rs *roundStats) float64 { return ratio(exits[t], rs.active) })
	if a.outcomes.returning {
		m[Retention] = a.retentionSeries(v, rounds)
	}
	return m
}

// coldStart fills the cold-start summary and returns the jobs for its two
// ratio intervals.
func (a *Aggregator) coldStart(cs *ColdStart, v *variantState, vals [][]float64, segments []segment) []func() {
	ctrCol, accCol := a.column(vals, CTR), a.column(vals, Acceptance)
	cold, warm := segments[0].members, segments[1].members
	cs.ColdPersonas, cs.WarmPersonas = len(cold), len(warm)
	cs.RoundsToWarm = -1
	for t := range v.rounds {
		c, w := v.rounds[t].acc[rmCTRCold].mean(), v.rounds[t].acc[rmCTRWarm].mean()
		if !math.IsNaN(c) && !math.IsNaN(w) && c >= coldWarmShare*w {
			cs.RoundsToWarm = t
			break
		}
	}
	cs.NewItems = a.cat.NewItemCount()
	cs.NewItemCTR = Float(ratio(v.newClicks, v.newImpressions))
	var delay meanAcc
	for i, item := range a.items.info {
		if !item.isNew {
			continue
		}
		if v.firstShown == nil || v.firstShown[i] < 0 {
			cs.NewItemsNeverShown++
			continue
		}
		delay.add(float64(int(v.firstShown[i]) - a.cat.Item(i).ReleaseRound))
	}
	cs.NewItemRoundsToFirstExposure = Float(delay.mean())

	b := a.cfg.Bootstrap
	ctrKey := bootstrapKey(a.cfg.Seed, v.name, ColdCTRRatio, "")
	accKey := bootstrapKey(a.cfg.Seed, v.name, ColdAcceptanceRatio, "")
	coldCTR, warmCTR := definedMembers(ctrCol, cold), definedMembers(ctrCol, warm)
	coldAcc, warmAcc := definedMembers(accCol, cold), definedMembers(accCol, warm)
	return []func(){
		func() { cs.CTRRatio = cohortRatioCI(ColdCTRRatio, ctrKey, coldCTR, warmCTR, b) },
		func() { cs.AcceptanceRatio = cohortRatioCI(ColdAcceptanceRatio, accKey, coldAcc, warmAcc, b) },
	}
}

// column is a per-persona metric's column of vals, undefined for every
// persona when the run does not compute the metric (a conversational run
// has no CTR).
func (a *Aggregator) column(vals [][]float64, name string) []float64 {
	if m := slices.IndexFunc(a.metrics, func(m personaMetric) bool { return m.name == name }); m >= 0 {
		return vals[m]
	}
	col := make([]float64, len(a.personas))
	for p := range col {
		col[p] = math.NaN()
	}
	return col
}

func widen(counts []int32) []int64 {
	out := make([]int64, len(counts))
	for i, c := range counts {
		out[i] = int64(c)
	}
	return out
}

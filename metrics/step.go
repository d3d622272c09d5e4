package metrics

import (
	"math"
	"slices"

	"github.com/recloop/recloop/trajectory"
)

// step folds one slate into persona pi's accumulators and round t's. Every
// quantity that depends on the history uses H_u as it was when the slate
// was requested; the slate's clicks join the history afterwards.
func (a *Aggregator) step(v *variantState, pi int32, t int, st *trajectory.Step) {
	a.ensureExposure(v)
	a.advance(v, t)
	ps := a.state(v, pi)
	rs := v.round(t)
	if ps.lastActive != t {
		ps.lastActive = t
		rs.active++
		ps.visit(t)
	}
	ps.calls++
	rs.calls++
	v.errs.Calls++
	v.lat.add(st.WallLatencyUS)
	if st.Error != nil {
		ps.failures++
		rs.failed++
		v.countError(st.Error)
		return
	}
	if ps.round != t {
		a.flushRound(v, ps)
		ps.round = t
	}
	ps.slates++
	v.voices.step(st)
	if st.Exited {
		ps.exitRound = t
	}

	a.known, a.knownPos = a.known[:0], a.knownPos[:0]
	for k := range st.Slate {
		if i, ok := a.cat.Index(st.Slate[k].Item); ok {
			a.known = append(a.known, int32(i))
			a.knownPos = append(a.knownPos, int32(k))
		}
	}
	a.outcomeStep(ps, st)
	tally := a.tallySlate(v, pi, ps, t, st)
	a.fold(ps, rs, a.personas[pi].cold, &tally, st.Utility)
	if tally.clicks > 0 {
		a.consume(v, pi, ps, st)
	}
}

// slateTally is what one slate contributes, before it is folded into the
// persona's and the round's accumulators.
type slateTally struct {
	k, clicks, accepted, newSlots, unexpectedHits int
	latentAccepted, trueHits                      int
	novelty, kl, ild                              float64
	rating, contentSer                            meanAcc
}

// tallySlate walks the known items of the slate once: global exposure,
// novelty, the slate's category distribution q and feature sum (for KL and
// ILD), and the per-click and per-acceptance quantities.
func (a *Aggregator) tallySlate(v *variantState, pi int32, ps *personaState, t int, st *trajectory.Step) slateTally {
	p := a.personas[pi]
	group := a.groupExposureRow(v, pi)
	tl := slateTally{k: len(a.known)}
	var qTotal float64
	for j, i := range a.known {
		sh := &st.Slate[a.knownPos[j]]
		item := &a.items.info[i]
		if v.exposure[i] == 0 {
			v.distinct++
		}
		v.exposure[i]++
		group[i]++
		if item.isNew {
			tl.newSlots++
			v.newImpressions++
			if v.firstShown[i] < 0 {
				v.firstShown[i] = int32(t)
			}
			if sh.Clicked {
				v.newClicks++
			}
		}
		tl.novelty += item.novelty
		a.ildAdd(i)
		if cats := a.items.categories(i); len(cats) > 0 {
			share := 1 / float64(len(cats))
			for _, f := range cats {
				if a.q[f.idx] == 0 {
					a.touched = append(a.touched, f.idx)
				}
				a.q[f.idx] += share
			}
			qTotal++
		}
		if !sh.Clicked {
			continue
		}
		tl.clicks++
		if sh.Rating > 0 {
			tl.rating.add(sh.Rating)
		}
		if !sh.Accepted() {
			continue
		}
		tl.accepted++
		if a.unexpected(ps.hist, i) {
			tl.unexpectedHits++
		}
		if len(ps.hist) > 0 {
			tl.contentSer.add(a.minDistance(ps.hist, i))
		}
		if len(p.latent) > 0 {
			tl.latentAccepted++
			if a.trueHit(p, ps, i) {
				tl.trueHits++
			}
		}
	}
	tl.kl = calibrationKL(ps.histCats, ps.histTotal, a.q, qTotal)
	for _, g := range a.touched {
		a.q[g] = 0
	}
	a.touched = a.touched[:0]
	tl.ild = a.ildFinish(a.known)
	return tl
}

// fold adds a slate's tally to the persona's and the round's accumulators.
// Each per-round series averages per-slate values.
func (a *Aggregator) fold(ps *personaState, rs *roundStats, cold bool, tl *slateTally, utility float64) {
	ps.impressions += tl.k
	ps.clicks += tl.clicks
	ps.accepted += tl.accepted
	ps.newSlots += tl.newSlots
	ps.latentAccepted += tl.latentAccepted
	ps.trueHits += tl.trueHits
	rs.slots += tl.k
	rs.newSlots += tl.newSlots
	if tl.k > 0 {
		ctr := float64(tl.clicks) / float64(tl.k)
		rs.acc[rmCTR].add(ctr)
		if cold {
			rs.acc[rmCTRCold].add(ctr)
		} else {
			rs.acc[rmCTRWarm].add(ctr)
		}
		ps.means[pmNovelty].sum += tl.novelty
		ps.means[pmNovelty].n += tl.k
		rs.acc[rmNovelty].add(tl.novelty / float64(tl.k))
		srdp := float64(tl.unexpectedHits) / float64(tl.k)
		ps.means[pmSerendipity].add(srdp)
		rs.acc[rmSerendipity].add(srdp)
		ps.means[pmCalibrationKL].add(tl.kl)
		rs.acc[rmCalibrationKL].add(tl.kl)
	}
	if tl.k >= 2 {
		ps.means[pmILD].add(tl.ild)
		rs.acc[rmILD].add(tl.ild)
	}
	if tl.clicks > 0 {
		rs.acc[rmAcceptance].add(float64(tl.accepted) / float64(tl.clicks))
		ps.means[pmSatisfaction].add(utility)
		rs.acc[rmSatisfaction].add(utility)
	}
	addMeans(&ps.means[pmRating], &rs.acc[rmRating], tl.rating)
	addMeans(&ps.means[pmContentSerendipity], &rs.acc[rmContentSerendipity], tl.contentSer)
	if tl.latentAccepted > 0 {
		rs.acc[rmTrueSerendipity].add(float64(tl.trueHits) / float64(tl.latentAccepted))
	}
}

// addMeans pools a slate's values into the persona's mean (each value
// counts) and adds the slate's mean to the round's mean (each slate counts).
func addMeans(persona, round *meanAcc, slate meanAcc) {
	if slate.n == 0 {
		return
	}
	persona.sum += slate.sum
	persona.n += slate.n
	round.add(slate.mean())
}

// consume adds the slate's clicked items to the persona's round
// consumption, its history H_u and its run-consumed set.
func (a *Aggregator) consume(v *variantState, pi int32, ps *personaState, st *trajectory.Step) {
	for j, i := range a.known {
		if !st.Slate[a.knownPos[j]].Clicked {
			continue
		}
		cats := a.items.categories(i)
		ps.roundCats, _ = addSpread(ps.roundCats, cats)
		v.catShare.add(ps.round, a.numCats, cats)
		var added bool
		if ps.hist, added = insertSorted(ps.hist, i); added {
			var w float64
			ps.histCats, w = addSpread(ps.histCats, cats)
			ps.histTotal += w
		}
		v.homog.consume(&a.pairs, pi, i)
	}
}

// flushRound closes the persona's open round: consumption entropy, its
// normalised form and the top-category share of C_{u,t}.
func (a *Aggregator) flushRound(v *variantState, ps *personaState) {
	if ps.round < 0 {
		return
	}
	t := ps.round
	ps.round = -1
	h, top := entropyAndTopShare(ps.roundCats)
	ps.roundCats = ps.roundCats[:0]
	if math.IsNaN(h) {
		return
	}
	rs := v.round(t)
	ps.means[pmEntropy].add(h)
	rs.acc[rmEntropy].add(h)
	if a.numCats >= 2 {
		hn := h / math.Log2(float64(a.numCats))
		ps.means[pmEntropyNorm].add(hn)
		rs.acc[rmEntropyNorm].add(hn)
	}
	ps.means[pmTopShare].add(top)
	rs.acc[rmTopShare].add(top)
	ps.trend.add(float64(t), h)
}

func (a *Aggregator) groupExposureRow(v *variantState, pi int32) []int32 {
	n := a.cat.Len()
	g := int(pi) % a.groups
	return v.groupExposure[g*n : (g+1)*n]
}

// unexpected reports whether item i is outside PM_u: the top-N most popular
// items (by PopularityShare) not in the history hist. i is in PM_u iff it is
// not in hist and fewer than N unconsumed items rank above it.
func (a *Aggregator) unexpected(hist []int32, i int32) bool {
	if containsSorted(hist, i) {
		return true
	}
	r := int(a.items.info[i].popRank)
	topN := a.cfg.SerendipityTopN
	switch {
	case r < topN:
		return false
	case r-len(hist) >= topN:
		return true
	}
	above := 0
	for _, j := range hist {
		if int(a.items.info[j].popRank) < r {
			above++
		}
	}
	return r-above >= topN
}

// historyShares reports whether any item of hist has a category or tag in
// feats. It runs only for accepted items that already match the latent and
// not the stated interests, so it scans the history instead of keeping a
// feature set per persona up to date on every click.
// trueHit: the item matches a latent interest (any category or tag) while
// its primary category (its first) is neither a stated interest nor the
// primary category of anything in the history. Comparing all categories or
// tags instead would make discovery impossible after a few items: items
// carry several broad labels, and a history soon touches nearly all of them.
func (a *Aggregator) trueHit(p *persona, ps *personaState, i int32) bool {
	if !sharesFeature(p.latent, a.items.features(i)) {
		return false
	}
	primary, ok := a.primaryCategory(i)
	if !ok {
		return true
	}
	if containsSorted(p.stated, primary) {
		return false
	}
	for _, j := range ps.hist {
		if g, ok := a.primaryCategory(j); ok && g == primary {
			return false
		}
	}
	return true
}

func (a *Aggregator) primaryCategory(i int32) (int32, bool) {
	cats := a.cat.ItemCategories(int(i))
	if len(cats) == 0 {
		return 0, false
	}
	return cats[0], true
}

// minDistance is min_{j ∈ hist} d(i, j).
func (a *Aggregator) minDistance(hist []int32, i int32) float64 {
	best := math.Inf(1)
	for _, j := range hist {
		if d := a.cat.Distance(int(i), int(j)); d < best {
			best = d
			if best <= 0 {
				break
			}
		}
	}
	return best
}

// ILD(R) = 2 / (k(k−1)) · Σ_{a<b} d(i_a, i_b) = 1 − Σ_{a<b} cos / (k(k−1)/2),
// NaN for k < 2. Without embeddings cos is the dot product of L2-normalised
// multi-hot vectors, so Σ_{a<b} cos = (‖Σ_a x_a‖² − Σ_a ‖x_a‖²) / 2:
// O(k·features) instead of k(k−1)/2 Similarity calls. ildAdd accumulates
// the sum item by item (step does it while the item's features are in
// cache) and ildFinish reads and resets it. With embeddings the cosines
// are summed pairwise, since items without one fall back to features.
func (a *Aggregator) ildAdd(i int32) {
	if a.cat.HasEmbeddings() {
		return
	}
	for _, f := range a.items.features(i) {
		if a.featSum[f.idx] == 0 {
			a.featTouched = append(a.featTouched, f.idx)
		}
		a.featSum[f.idx] += f.val
		a.featSelf += f.val * f.val
	}
}

func (a *Aggregator) ildFinish(items []int32) float64 {
	var sumCos float64
	if a.cat.HasEmbeddings() {
		for x := 1; x < len(items); x++ {
			for y := range x {
				sumCos += a.cat.Similarity(int(items[x]), int(items[y]))
			}
		}
	} else {
		var total float64
		for _, idx := range a.featTouched {
			total += a.featSum[idx] * a.featSum[idx]
			a.featSum[idx] = 0
		}
		sumCos = (total - a.featSelf) / 2
		a.featTouched, a.featSelf = a.featTouched[:0], 0
	}
	if len(items) < 2 {
		return math.NaN()
	}
	k := float64(len(items))
	return 1 - sumCos/(k*(k-1)/2)
}

func (v *variantState) countError(e *trajectory.StepError) {
	switch e.Kind {
	case trajectory.ErrorKindTimeout:
		v.errs.Timeouts++
	case trajectory.ErrorKindInvalid:
		v.errs.Invalid++
	case trajectory.ErrorKindBehaviour:
		v.errs.Behaviour++
	default:
		v.errs.Errors++
	}
	msg := e.Message
	if msg == "" {
		msg = e.Kind
	}
	if len(v.errs.Examples) < maxErrorExamples && !slices.Contains(v.errs.Examples, msg) {
		v.errs.Examples = append(v.errs.Examples, msg)
	}
}

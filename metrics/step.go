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
	p := a.personas[pi]
	rs := v.round(t)
	if ps.lastActive != t {
		ps.lastActive = t
		rs.active++
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
	k := len(a.known)
	n := a.cat.Len()
	group := a.groupExposureRow(v, pi, n)

	var (
		clicks, accepted, newSlots, unexpectedHits int
		latentAccepted, trueHits                   int
		novelty, qTotal                            float64
		rating, contentSer                         meanAcc
	)
	for j, i := range a.known {
		sh := &st.Slate[a.knownPos[j]]
		if v.exposure[i] == 0 {
			v.distinct++
		}
		v.exposure[i]++
		group[i]++
		if a.isNew[i] {
			newSlots++
			v.newImpressions++
			if v.firstShown[i] < 0 {
				v.firstShown[i] = int32(t)
			}
			if sh.Clicked {
				v.newClicks++
			}
		}
		novelty += a.novelty[i]
		if cats := a.cat.ItemCategories(int(i)); len(cats) > 0 {
			share := 1 / float64(len(cats))
			for _, g := range cats {
				if a.q[g] == 0 {
					a.touched = append(a.touched, g)
				}
				a.q[g] += share
			}
			qTotal++
		}
		if !sh.Clicked {
			continue
		}
		clicks++
		if sh.Rating > 0 {
			rating.add(sh.Rating)
		}
		if !sh.Accepted() {
			continue
		}
		accepted++
		if a.unexpected(ps.hist, i) {
			unexpectedHits++
		}
		if len(ps.hist) > 0 {
			contentSer.add(a.minDistance(ps.hist, i))
		}
		if len(p.latent) > 0 {
			latentAccepted++
			feats := a.cat.Features(int(i)).Idx
			if intersects(p.latent, feats) && !intersects(p.stated, feats) && !intersects(ps.histFeat, feats) {
				trueHits++
			}
		}
	}

	ps.impressions += k
	ps.clicks += clicks
	ps.accepted += accepted
	ps.newSlots += newSlots
	ps.latentAccepted += latentAccepted
	ps.trueHits += trueHits
	rs.slots += k
	rs.newSlots += newSlots

	if k > 0 {
		ctr := float64(clicks) / float64(k)
		rs.acc[rmCTR].add(ctr)
		if p.cold {
			rs.acc[rmCTRCold].add(ctr)
		} else {
			rs.acc[rmCTRWarm].add(ctr)
		}
		ps.means[pmNovelty].sum += novelty
		ps.means[pmNovelty].n += k
		rs.acc[rmNovelty].add(novelty / float64(k))
		srdp := float64(unexpectedHits) / float64(k)
		ps.means[pmSerendipity].add(srdp)
		rs.acc[rmSerendipity].add(srdp)
		if kl := calibrationKL(ps.histCats, ps.histTotal, a.q, qTotal); !math.IsNaN(kl) {
			ps.means[pmCalibrationKL].add(kl)
			rs.acc[rmCalibrationKL].add(kl)
		}
	}
	for _, g := range a.touched {
		a.q[g] = 0
	}
	a.touched = a.touched[:0]
	if k >= 2 {
		ild := a.ild(a.known)
		ps.means[pmILD].add(ild)
		rs.acc[rmILD].add(ild)
	}
	if clicks > 0 {
		rs.acc[rmAcceptance].add(float64(accepted) / float64(clicks))
		ps.means[pmSatisfaction].add(st.Utility)
		rs.acc[rmSatisfaction].add(st.Utility)
	}
	if rating.n > 0 {
		ps.means[pmRating].sum += rating.sum
		ps.means[pmRating].n += rating.n
		rs.acc[rmRating].add(rating.mean())
	}
	if contentSer.n > 0 {
		ps.means[pmContentSerendipity].sum += contentSer.sum
		ps.means[pmContentSerendipity].n += contentSer.n
		rs.acc[rmContentSerendipity].add(contentSer.mean())
	}
	if latentAccepted > 0 {
		rs.acc[rmTrueSerendipity].add(float64(trueHits) / float64(latentAccepted))
	}
	if clicks > 0 {
		a.consume(v, pi, ps, st)
	}
}

// consume adds the slate's clicked items to the persona's round
// consumption, its history H_u and its run-consumed set.
func (a *Aggregator) consume(v *variantState, pi int32, ps *personaState, st *trajectory.Step) {
	for j, i := range a.known {
		if !st.Slate[a.knownPos[j]].Clicked {
			continue
		}
		cats := a.cat.ItemCategories(int(i))
		ps.roundCats, _ = addSpread(ps.roundCats, cats)
		var added bool
		if ps.hist, added = insertSorted(ps.hist, i); added {
			var w float64
			ps.histCats, w = addSpread(ps.histCats, cats)
			ps.histTotal += w
			for _, f := range a.cat.Features(int(i)).Idx {
				ps.histFeat, _ = insertSorted(ps.histFeat, f)
			}
		}
		if ps.consumed, added = insertSorted(ps.consumed, i); added {
			v.homog.consume(a.pairs, v.states, pi, i)
		}
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

func (a *Aggregator) groupExposureRow(v *variantState, pi int32, n int) []int32 {
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
	r := int(a.popRank[i])
	topN := a.cfg.SerendipityTopN
	switch {
	case r < topN:
		return false
	case r-len(hist) >= topN:
		return true
	}
	above := 0
	for _, j := range hist {
		if int(a.popRank[j]) < r {
			above++
		}
	}
	return r-above >= topN
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

// ild is 2 / (k(k−1)) · Σ_{a<b} d(i_a, i_b).
func (a *Aggregator) ild(items []int32) float64 {
	var sum float64
	for x := 1; x < len(items); x++ {
		for y := range x {
			sum += a.cat.Distance(int(items[x]), int(items[y]))
		}
	}
	k := float64(len(items))
	return 2 * sum / (k * (k - 1))
}

func (v *variantState) countError(e *trajectory.StepError) {
	switch e.Kind {
	case trajectory.ErrorKindTimeout:
		v.errs.Timeouts++
	case trajectory.ErrorKindInvalid:
		v.errs.Invalid++
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

package fidelity

import (
	"cmp"
	"math"
	"slices"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/personas"
)

// deriveTraits computes every user's Stats from its seed part and turns
// them into traits by percentile rank among the users (Agent4Rec's scheme,
// which cuts the percentiles into three tiers; recloop keeps the percentile
// itself):
//
//	activity   = pct(number of seed interactions)
//	conformity = 1 − pct(mean squared gap between the user's ratings and the items' mean ratings)
//	curiosity  = pct(number of categories making up 80% of the consumption)
//	pickiness  = pct(share of ratings below LikeAt)
//	mainstreamness = pct(mean popularity of the consumed items, ln(1 + c_i)/ln(1 + max_j c_j) with c the seed counts)
//
// A user without ratings gets 0.5 for conformity and pickiness; a catalog
// without categories counts tags for curiosity.
func deriveTraits(cat *catalog.Catalog, users []*userLog, opt DeriveOptions) []personas.Traits {
	itemMean := itemMeanRatings(cat, users)
	pop := logPopularity(cat)
	n := len(users)
	activity, gap, breadth, low, mainstream := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i, u := range users {
		u.stats = userStats(cat, u, itemMean, pop, opt)
		activity[i] = float64(u.stats.Interactions)
		gap[i] = float64(u.stats.RatingGap)
		breadth[i] = float64(u.stats.Categories80)
		low[i] = float64(u.stats.LowShare)
		mainstream[i] = u.stats.Mainstream
	}
	pa, pg, pb, pl, pm := Percentiles(activity), Percentiles(gap), Percentiles(breadth), Percentiles(low), Percentiles(mainstream)
	out := make([]personas.Traits, n)
	for i := range out {
		out[i] = personas.Traits{
			Activity:       round3(pa[i]),
			Conformity:     round3(1 - pg[i]),
			Curiosity:      round3(pb[i]),
			Pickiness:      round3(pl[i]),
			Mainstreamness: round3(pm[i]),
		}
	}
	return out
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// itemMeanRatings is each item's mean rating over the seed parts (NaN for
// items never rated there).
func itemMeanRatings(cat *catalog.Catalog, users []*userLog) []float64 {
	sum, count := make([]float64, cat.Len()), make([]float64, cat.Len())
	for _, u := range users {
		for k, in := range u.rows[:u.split] {
			if in.Rating > 0 {
				sum[u.items[k]] += in.Rating
				count[u.items[k]]++
			}
		}
	}
	for i := range sum {
		sum[i] /= count[i] // 0/0 = NaN for unrated items
	}
	return sum
}

// logPopularity is ln(1 + c_i)/ln(1 + max_j c_j) for the items' popularity
// priors c (the seed counts), the scale the utility model reads popularity
// on.
func logPopularity(cat *catalog.Catalog) []float64 {
	var top float64
	for i := range cat.Len() {
		top = max(top, cat.Item(i).Popularity)
	}
	out := make([]float64, cat.Len())
	if top == 0 {
		return out
	}
	for i := range out {
		out[i] = math.Log1p(cat.Item(i).Popularity) / math.Log1p(top)
	}
	return out
}

func userStats(cat *catalog.Catalog, u *userLog, itemMean, pop []float64, opt DeriveOptions) Stats {
	st := Stats{Interactions: u.split, RatingGap: metrics.Float(math.NaN()), LowShare: metrics.Float(math.NaN())}
	var gap, rated, low float64
	useTags := len(cat.Categories()) == 0
	share := map[int32]float64{}
	for k, in := range u.rows[:u.split] {
		idx := u.items[k]
		st.Mainstream += pop[idx] / float64(u.split)
		if in.Rating > 0 {
			d := in.Rating - itemMean[idx]
			gap += d * d
			rated++
			if in.Rating < opt.LikeAt {
				low++
			}
		}
		feats := cat.ItemCategories(idx)
		if useTags {
			feats = cat.ItemTags(idx)
		}
		for _, f := range feats {
			share[f] += 1 / float64(len(feats))
		}
	}
	if rated > 0 {
		st.RatingGap, st.LowShare = metrics.Float(gap/rated), metrics.Float(low/rated)
	}
	st.Categories80 = coverCount(share, 0.8)
	return st
}

// coverCount is the smallest number of keys whose shares, largest first,
// reach frac of the total (0 for an empty map).
func coverCount(share map[int32]float64, frac float64) int {
	var total float64
	ws := make([]float64, 0, len(share))
	for _, w := range share {
		ws = append(ws, w)
		total += w
	}
	slices.SortFunc(ws, func(a, b float64) int { return cmp.Compare(b, a) })
	var acc float64
	for k, w := range ws {
		acc += w
		if acc >= frac*total-1e-9 {
			return k + 1
		}
	}
	return len(ws)
}

// Percentiles maps each value to its mid-rank percentile (r − 0.5)/n, where
// r is its 1-based rank with ties given their average rank; NaN values get
// 0.5 and do not count towards n.
func Percentiles(xs []float64) []float64 {
	out := make([]float64, len(xs))
	var idx []int
	for i, x := range xs {
		out[i] = 0.5
		if !math.IsNaN(x) {
			idx = append(idx, i)
		}
	}
	ranks := averageRanks(idx, func(i int) float64 { return xs[i] })
	n := float64(len(idx))
	for k, i := range idx {
		out[i] = (ranks[k] - 0.5) / n
	}
	return out
}

// averageRanks returns the 1-based ranks of the values val(ids[k]), ties
// sharing their average rank, in the order of ids.
func averageRanks(ids []int, val func(int) float64) []float64 {
	order := make([]int, len(ids))
	for k := range order {
		order[k] = k
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(val(ids[a]), val(ids[b])) })
	ranks := make([]float64, len(ids))
	for lo := 0; lo < len(order); {
		hi := lo + 1
		for hi < len(order) && val(ids[order[hi]]) == val(ids[order[lo]]) {
			hi++
		}
		r := float64(lo+hi+1) / 2 // mean of lo+1 … hi
		for k := lo; k < hi; k++ {
			ranks[order[k]] = r
		}
		lo = hi
	}
	return ranks
}

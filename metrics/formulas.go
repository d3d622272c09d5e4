package metrics

import (
	"cmp"
	"math"
	"slices"
)

// calibrationAlpha is Steck's α: q̃ = (1 − α) q + α p keeps the KL finite.
const calibrationAlpha = 0.01

// catWeight is one entry of a sparse category distribution, kept sorted by cat.
type catWeight struct {
	cat int32
	w   float64
}

// addSpread adds weight 1 spread evenly over cats (METRICS.md: "each item
// spreads weight 1 evenly over its categories"). Items without categories
// add nothing. It returns the grown slice and the weight added.
func addSpread(ws []catWeight, cats []feature) ([]catWeight, float64) {
	if len(cats) == 0 {
		return ws, 0
	}
	share := 1 / float64(len(cats))
	for _, f := range cats {
		g := f.idx
		k, found := slices.BinarySearchFunc(ws, g, func(e catWeight, t int32) int { return cmp.Compare(e.cat, t) })
		if found {
			ws[k].w += share
			continue
		}
		ws = slices.Insert(ws, k, catWeight{cat: g, w: share})
	}
	return ws, 1
}

// calibrationKL is C_KL = Σ_g p(g) log2(p(g) / q̃(g)) with q̃ = (1 − α) q + α p.
// p is sparse with total pTotal; q is dense over categories with total
// qTotal (0 when the slate has no categorised item, so q̃ = α p). Only
// categories with p(g) > 0 contribute; where q(g) = 0 the term is exactly
// p(g) log2(1/α), which saves a logarithm for every history category the
// slate does not show. It is NaN when p is empty.
func calibrationKL(p []catWeight, pTotal float64, q []float64, qTotal float64) float64 {
	if pTotal <= 0 {
		return math.NaN()
	}
	var kl, unshown float64
	for _, e := range p {
		pg := e.w / pTotal
		if pg <= 0 {
			continue
		}
		if qTotal <= 0 || q[e.cat] == 0 {
			unshown += pg
			continue
		}
		qg := q[e.cat] / qTotal
		kl += pg * math.Log2(pg/((1-calibrationAlpha)*qg+calibrationAlpha*pg))
	}
	return kl + unshown*log2InvAlpha
}

var log2InvAlpha = math.Log2(1 / calibrationAlpha)

// entropyAndTopShare returns H = −Σ p log2 p of a sparse distribution and the
// share of its largest entry. Both are NaN for an empty distribution.
func entropyAndTopShare(ws []catWeight) (h, top float64) {
	var total, maxW float64
	for _, e := range ws {
		total += e.w
		maxW = max(maxW, e.w)
	}
	if total <= 0 {
		return math.NaN(), math.NaN()
	}
	for _, e := range ws {
		if e.w > 0 {
			p := e.w / total
			h -= p * math.Log2(p)
		}
	}
	return h, maxW / total
}

// gini is G = Σ_{j=1..n} (2j − n − 1) c_(j) / ((n − 1) Σ c) over counts
// sorted ascending, zeros included. It sorts counts in place. It is NaN for
// fewer than two items or no exposure at all.
func gini(counts []int64) float64 {
	n := len(counts)
	if n < 2 {
		return math.NaN()
	}
	slices.Sort(counts)
	var num, total float64
	for j, c := range counts {
		num += float64(2*(j+1)-n-1) * float64(c)
		total += float64(c)
	}
	if total == 0 {
		return math.NaN()
	}
	return num / (float64(n-1) * total)
}

// leastSquares accumulates (t, y) points for the slope of y on t.
type leastSquares struct {
	n, st, sy, stt, sty float64
}

func (l *leastSquares) add(t, y float64) {
	l.n++
	l.st += t
	l.sy += y
	l.stt += t * t
	l.sty += t * y
}

// slope is (n Σty − Σt Σy) / (n Σt² − (Σt)²), NaN with fewer than two
// distinct t.
func (l *leastSquares) slope() float64 {
	den := l.n*l.stt - l.st*l.st
	if l.n < 2 || den <= 1e-12*l.n*l.stt {
		return math.NaN()
	}
	return (l.n*l.sty - l.st*l.sy) / den
}

// nearestRank is the nearest-rank percentile of ascending data: the value at
// rank ⌈p·n⌉ (1-based, clamped to 1..n), p in [0, 1]. NaN for no data.
func nearestRank(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	return sorted[rankIndex(n, p)]
}

// rankIndex is the 0-based index of the nearest-rank p-quantile among n values.
func rankIndex(n int, p float64) int {
	r := int(math.Ceil(p*float64(n) - 1e-9))
	return min(max(r, 1), n) - 1
}

// meanAcc accumulates a mean; non-finite inputs are ignored so that one bad
// value from an in-process producer cannot poison a whole metric.
type meanAcc struct {
	sum float64
	n   int
}

func (m *meanAcc) add(x float64) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return
	}
	m.sum += x
	m.n++
}

func (m meanAcc) mean() float64 {
	if m.n == 0 {
		return math.NaN()
	}
	return m.sum / float64(m.n)
}

// ratio is num / den, NaN when den is 0.
func ratio(num, den int) float64 {
	if den == 0 {
		return math.NaN()
	}
	return float64(num) / float64(den)
}

// containsSorted reports whether x is in the ascending set s.
func containsSorted(s []int32, x int32) bool {
	_, found := slices.BinarySearch(s, x)
	return found
}

// insertSorted adds x to the ascending set s, reporting whether it was new.
func insertSorted(s []int32, x int32) ([]int32, bool) {
	k, found := slices.BinarySearch(s, x)
	if found {
		return s, false
	}
	return slices.Insert(s, k, x), true
}

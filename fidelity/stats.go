package fidelity

import (
	"cmp"
	"math"
	"slices"

	"github.com/recloop/recloop/fidelity/report"
	"github.com/recloop/recloop/metrics"
)

// Classify scores predictions against labels (same length).
func Classify(labels, predicted []bool) report.Classification {
	var c report.Classification
	for i, y := range labels {
		switch p := predicted[i]; {
		case y && p:
			c.TP++
		case !y && p:
			c.FP++
		case !y && !p:
			c.TN++
		default:
			c.FN++
		}
	}
	if n := c.TP + c.FP + c.TN + c.FN; n > 0 {
		c.Accuracy = float64(c.TP+c.TN) / float64(n)
	}
	if c.TP+c.FP > 0 {
		c.Precision = float64(c.TP) / float64(c.TP+c.FP)
	}
	if c.TP+c.FN > 0 {
		c.Recall = float64(c.TP) / float64(c.TP+c.FN)
	}
	if c.Precision+c.Recall > 0 {
		c.F1 = 2 * c.Precision * c.Recall / (c.Precision + c.Recall)
	}
	return c
}

// AUC is the area under the ROC curve: the probability that a random
// positive scores above a random negative, ties counting one half
// (Mann–Whitney U / (n₊·n₋)). NaN without positives or negatives.
func AUC(labels []bool, scores []float64) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	ranks := averageRanks(idx, func(i int) float64 { return scores[i] })
	var sumPos, nPos float64
	for i, y := range labels {
		if y {
			sumPos += ranks[i]
			nPos++
		}
	}
	nNeg := float64(len(labels)) - nPos
	if nPos == 0 || nNeg == 0 {
		return math.NaN()
	}
	return (sumPos - nPos*(nPos+1)/2) / (nPos * nNeg)
}

// Errors computes RMSE, MAE and Pearson's correlation (NaN for no pairs,
// and Pearson NaN when either side is constant).
func Errors(predicted, truth []float64) report.ErrorStats {
	e := report.ErrorStats{N: len(truth), RMSE: metrics.Float(math.NaN()), MAE: metrics.Float(math.NaN()), Pearson: metrics.Float(math.NaN())}
	if e.N == 0 {
		return e
	}
	var sq, abs float64
	for i, t := range truth {
		d := predicted[i] - t
		sq += d * d
		abs += math.Abs(d)
	}
	e.RMSE = metrics.Float(math.Sqrt(sq / float64(e.N)))
	e.MAE = metrics.Float(abs / float64(e.N))
	e.Pearson = metrics.Float(pearson(predicted, truth))
	return e
}

// Spearman is the rank correlation of x and y: Pearson's correlation of
// their average ranks (ties share a rank). NaN when either is constant or
// shorter than 2.
func Spearman(x, y []float64) float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	rx := averageRanks(idx, func(i int) float64 { return x[i] })
	ry := averageRanks(idx, func(i int) float64 { return y[i] })
	return pearson(rx, ry)
}

func pearson(x, y []float64) float64 {
	n := float64(len(x))
	if n < 2 {
		return math.NaN()
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx, my = mx/n, my/n
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}

// KendallTauB is Kendall's τ_b = (C − D) / √((n₀ − n₁)(n₀ − n₂)), with C
// and D the concordant and discordant pairs, n₀ = n(n−1)/2, and n₁, n₂ the
// pairs tied in x and in y. NaN when either is constant or shorter than 2.
// O(n²): it ranks a handful of recommenders.
func KendallTauB(x, y []float64) float64 {
	var c, d, tx, ty, n0 float64
	for i := range x {
		for j := i + 1; j < len(x); j++ {
			n0++
			sx, sy := sign(x[i]-x[j]), sign(y[i]-y[j])
			if sx == 0 {
				tx++
			}
			if sy == 0 {
				ty++
			}
			switch {
			case sx*sy > 0:
				c++
			case sx*sy < 0:
				d++
			}
		}
	}
	den := math.Sqrt((n0 - tx) * (n0 - ty))
	if den == 0 {
		return math.NaN()
	}
	return (c - d) / den
}

func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// meanSD is the mean and the (population) standard deviation of xs, NaN
// for none.
func meanSD(xs []float64) (mean, sd metrics.Float) {
	if len(xs) == 0 {
		return metrics.Float(math.NaN()), metrics.Float(math.NaN())
	}
	var m, ss float64
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return metrics.Float(m), metrics.Float(math.Sqrt(ss / float64(len(xs))))
}

// slicesSortByScore orders probe indexes by descending score, keeping the
// given order among ties.
func slicesSortByScore(order []int, scores []float64) {
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
}

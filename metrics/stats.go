package metrics

import (
	"cmp"
	"math"
	"slices"
)

// Paired A/B statistics over per-persona differences d_u = M_B(u) − M_A(u).
// Every function is pure and deterministic: resampling and sign flips come
// from the resampler seeded by key, never from global state. Inputs must not
// contain NaN; callers drop personas for whom the metric is undefined in
// either world before pairing. None of these functions parallelise: callers
// run comparisons side by side.

// mdeFactor is z₀.₉₇₅ + z₀.₈ = 1.960 + 0.842, rounded as in METRICS.md.
const mdeFactor = 2.80

// PairedBootstrapCI is the 95% percentile CI of mean(d) from b resamples of
// personas drawn with replacement. It is (NaN, NaN) for empty d or b < 1 and
// collapses to (d₀, d₀) for a single persona.
func PairedBootstrapCI(d []float64, b int, key uint64) (lo, hi float64) {
	if len(d) == 0 || b < 1 {
		return math.NaN(), math.NaN()
	}
	if len(d) == 1 {
		return d[0], d[0]
	}
	r := newResampler(key)
	stats := make([]float64, b)
	for k := range stats {
		stats[k] = resampledMean(&r, d)
	}
	return percentileInterval(stats)
}

// SignFlipP is the two-sided sign-flip permutation p-value of T = mean(d)
// under H₀: d is symmetric about 0.
//
// When 2ⁿ ≤ b it enumerates all 2ⁿ sign vectors and returns the exact
// p = #{|T*| ≥ |T|} / 2ⁿ, which counts the identity and its mirror, so p ≥ 2/2ⁿ.
// Otherwise it draws b random sign vectors and returns the Monte-Carlo
// p = (1 + #{|T*| ≥ |T|}) / (b + 1), which is never 0.
//
// |T*| ≥ |T| is judged with a relative tolerance of 10⁻⁹ · Σ|dᵢ| so that sign
// vectors tying |T| mathematically are not lost to rounding. p is NaN for
// empty d or b < 1, and 1 when every dᵢ is 0.
func SignFlipP(d []float64, b int, key uint64) float64 {
	n := len(d)
	if n == 0 || b < 1 {
		return math.NaN()
	}
	if n < 63 && 1<<n <= b {
		return signFlipExact(d)
	}
	return signFlipMonteCarlo(d, b, key)
}

// flipThreshold is the |Σ d*| at or above which a flipped sum counts as at
// least as extreme as Σ d; the mean's common 1/n factor is left out.
func flipThreshold(d []float64) float64 {
	var s, abs float64
	for _, x := range d {
		s += x
		abs += math.Abs(x)
	}
	return math.Abs(s) - 1e-9*abs
}

func signFlipExact(d []float64) float64 {
	threshold := flipThreshold(d)
	total := uint64(1) << len(d)
	var extreme uint64
	for mask := range total {
		var s float64
		for i, x := range d {
			if mask>>i&1 == 1 {
				x = -x
			}
			s += x
		}
		if math.Abs(s) >= threshold {
			extreme++
		}
	}
	return float64(extreme) / float64(total)
}

// flipTableMax is the most values signFlipMonteCarlo gives a lookup table
// (8 MB at 32 floats per value); beyond it the table would outgrow the
// caches and the input, and signs are applied value by value instead.
const flipTableMax = 1 << 15

func signFlipMonteCarlo(d []float64, b int, key uint64) float64 {
	if len(d) <= flipTableMax {
		return monteCarloP(d, b, key, tableFlipper(d))
	}
	return monteCarloP(d, b, key, directFlipper(d))
}

// monteCarloP counts how many of b random flips, each Σ ±dᵢ drawn by flip,
// are at least as extreme as Σ d.
func monteCarloP(d []float64, b int, key uint64, flip func(*resampler) float64) float64 {
	threshold := flipThreshold(d)
	r := newResampler(key)
	extreme := 0
	for range b {
		if math.Abs(flip(&r)) >= threshold {
			extreme++
		}
	}
	return float64(1+extreme) / float64(b+1)
}

// tableFlipper precomputes, for each run of eight consecutive values, Σ ±dᵢ
// under all 256 sign patterns, so that a random flip costs one lookup per
// eight values: each 64-bit draw picks the patterns of eight rows, and four
// accumulators keep the additions from waiting on each other.
func tableFlipper(d []float64) func(*resampler) float64 {
	const per, width = 8, 256
	rows := (len(d) + per - 1) / per
	table := make([]float64, rows*width)
	for row := range rows {
		vals := d[row*per : min(len(d), (row+1)*per)]
		sums := table[row*width : (row+1)*width]
		for mask := range sums {
			var s float64
			for j, x := range vals {
				if mask>>j&1 == 1 {
					x = -x
				}
				s += x
			}
			sums[mask] = s
		}
	}
	return func(r *resampler) float64 {
		var s [4]float64
		local := *r
		for row := 0; row < rows; {
			signs := local.next()
			for end := min(row+64/per, rows); row < end; row++ {
				s[row&3] += table[row*width+int(signs&(width-1))]
				signs >>= per
			}
		}
		*r = local
		return (s[0] + s[1]) + (s[2] + s[3])
	}
}

// directFlipper signs 64 values per 64-bit draw by XOR-ing its bits into
// their sign bits, with no table and no branches.
func directFlipper(d []float64) func(*resampler) float64 {
	return func(r *resampler) float64 { return directFlippedSum(r, d) }
}

func directFlippedSum(r *resampler, d []float64) float64 {
	const signBit = 63
	var s0, s1, s2, s3 float64
	local := *r
	for len(d) > 0 {
		chunk := d[:min(64, len(d))]
		d = d[len(chunk):]
		signs := local.next()
		i := 0
		for ; i+3 < len(chunk); i += 4 {
			s0 += math.Float64frombits(math.Float64bits(chunk[i]) ^ (signs>>i&1)<<signBit)
			s1 += math.Float64frombits(math.Float64bits(chunk[i+1]) ^ (signs>>(i+1)&1)<<signBit)
			s2 += math.Float64frombits(math.Float64bits(chunk[i+2]) ^ (signs>>(i+2)&1)<<signBit)
			s3 += math.Float64frombits(math.Float64bits(chunk[i+3]) ^ (signs>>(i+3)&1)<<signBit)
		}
		for ; i < len(chunk); i++ {
			s0 += math.Float64frombits(math.Float64bits(chunk[i]) ^ (signs>>i&1)<<signBit)
		}
	}
	*r = local
	return (s0 + s1) + (s2 + s3)
}

// Holm adjusts p-values for multiple comparisons by Holm's step-down method:
// the k-th smallest of m p-values becomes max over j ≤ k of (m − j + 1)·p₍ⱼ₎,
// capped at 1, so adjusted values keep the order of the raw ones. The result
// is in input order. A NaN p (a comparison with no data) stays NaN and does
// not count towards m.
func Holm(p []float64) []float64 {
	adjusted := make([]float64, len(p))
	order := make([]int, 0, len(p))
	for i, x := range p {
		adjusted[i] = math.NaN()
		if !math.IsNaN(x) {
			order = append(order, i)
		}
	}
	// stable, so tied p-values keep input order and the result is deterministic
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(p[a], p[b]) })
	m := len(order)
	running := 0.0
	for k, i := range order {
		running = max(running, min(1, float64(m-k)*p[i]))
		adjusted[i] = running
	}
	return adjusted
}

// EffectSizeDz is Cohen's d_z = mean(d) / sd(d) with the sample (n − 1)
// standard deviation. It is NaN when n < 2 and when sd(d) = 0, where the
// ratio would be ±Inf or 0/0.
func EffectSizeDz(d []float64) float64 {
	sd := sampleSD(d)
	if math.IsNaN(sd) || sd == 0 {
		return math.NaN()
	}
	return sliceMean(d) / sd
}

// MDE is the minimum detectable effect 2.80 · sd(d) / √n of a two-sided
// α = 0.05 test with power 0.8; NaN when n < 2.
func MDE(d []float64) float64 {
	return mdeFactor * sampleSD(d) / math.Sqrt(float64(len(d)))
}

// sampleSD is the (n − 1) standard deviation, computed in two passes so that
// a large mean does not cancel the deviations; NaN when n < 2.
func sampleSD(d []float64) float64 {
	n := len(d)
	if n < 2 {
		return math.NaN()
	}
	mean := sliceMean(d)
	var ss float64
	for _, x := range d {
		ss += (x - mean) * (x - mean)
	}
	return math.Sqrt(ss / float64(n-1))
}

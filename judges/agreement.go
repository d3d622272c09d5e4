package judges

import (
	"math"
	"slices"
)

// KrippendorffAlphaOrdinal is Krippendorff's α with the ordinal metric.
// Each unit (an explanation) holds the values its coders gave, NaN where a
// coder gave none; units with fewer than two values are not pairable and
// are skipped.
//
// With the coincidence matrix o_ck = Σ_u (number of ordered coder pairs in u
// valued c, k) / (m_u − 1), the marginals n_c = Σ_k o_ck, n = Σ_c n_c and
// the ordinal distance δ²_ck = (Σ_{g=c..k} n_g − (n_c + n_k)/2)²,
//
//	α = 1 − (n − 1) · Σ_{c,k} o_ck δ²_ck / Σ_{c,k} n_c n_k δ²_ck
//
// α is NaN when it is undefined: fewer than two pairable values, or no
// variation at all (every value the same).
func KrippendorffAlphaOrdinal(units [][]float64) float64 {
	var values []float64
	for _, u := range units {
		if pairable(u) < 2 {
			continue
		}
		for _, v := range u {
			if !math.IsNaN(v) {
				values = append(values, v)
			}
		}
	}
	slices.Sort(values)
	values = slices.Compact(values)
	k := len(values)
	if k == 0 {
		return math.NaN()
	}
	index := func(v float64) int { i, _ := slices.BinarySearch(values, v); return i }

	o := make([]float64, k*k)
	for _, u := range units {
		m := pairable(u)
		if m < 2 {
			continue
		}
		w := 1 / float64(m-1)
		for i, a := range u {
			if math.IsNaN(a) {
				continue
			}
			for j, b := range u {
				if i != j && !math.IsNaN(b) {
					o[index(a)*k+index(b)] += w
				}
			}
		}
	}
	nc := make([]float64, k)
	n := 0.0
	for c := range k {
		for d := range k {
			nc[c] += o[c*k+d]
		}
		n += nc[c]
	}
	// cum[c] = n_0 + … + n_{c−1}, so Σ_{g=c..d} n_g = cum[d+1] − cum[c].
	cum := make([]float64, k+1)
	for c := range k {
		cum[c+1] = cum[c] + nc[c]
	}
	observed, expected := 0.0, 0.0
	for c := range k {
		for d := c + 1; d < k; d++ {
			delta := cum[d+1] - cum[c] - (nc[c]+nc[d])/2
			delta2 := delta * delta
			// δ² is symmetric: count (c, d) and (d, c) once each.
			observed += (o[c*k+d] + o[d*k+c]) * delta2
			expected += 2 * nc[c] * nc[d] * delta2
		}
	}
	if expected == 0 {
		return math.NaN()
	}
	return 1 - (n-1)*observed/expected
}

func pairable(u []float64) int {
	m := 0
	for _, v := range u {
		if !math.IsNaN(v) {
			m++
		}
	}
	return m
}

// QuadraticKappa is Cohen's κ with quadratic weights for two raters' integer
// ratings on the scale min..max:
//
//	κ = 1 − Σ_ij w_ij O_ij / Σ_ij w_ij E_ij,   w_ij = (i − j)² / (max − min)²
//
// where O_ij counts the items rated i by a and j by b and E_ij = a_i · b_j / N
// is the count expected from the marginals. κ is NaN when undefined: empty or
// unequal inputs, a rating outside the scale, or no expected disagreement
// (both raters constant on the same value).
func QuadraticKappa(a, b []int, min, max int) float64 {
	if len(a) == 0 || len(a) != len(b) || max <= min {
		return math.NaN()
	}
	k := max - min + 1
	observed := make([]float64, k*k)
	ma := make([]float64, k)
	mb := make([]float64, k)
	for i := range a {
		x, y := a[i]-min, b[i]-min
		if x < 0 || x >= k || y < 0 || y >= k {
			return math.NaN()
		}
		observed[x*k+y]++
		ma[x]++
		mb[y]++
	}
	nItems := float64(len(a))
	span := float64((k - 1) * (k - 1))
	num, den := 0.0, 0.0
	for i := range k {
		for j := range k {
			w := float64((i-j)*(i-j)) / span
			num += w * observed[i*k+j]
			den += w * ma[i] * mb[j] / nItems
		}
	}
	if den == 0 {
		return math.NaN()
	}
	return 1 - num/den
}

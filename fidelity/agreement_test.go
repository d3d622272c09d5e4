package fidelity

import (
	"math"
	"testing"
)

func ptSeq(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(i + 1)
	}
	return out
}

func ptReversed(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(n - i)
	}
	return out
}

func ptFactorial(n int) float64 {
	f := 1.0
	for k := 2; k <= n; k++ {
		f *= float64(k)
	}
	return f
}

var ptStats = []struct {
	name string
	stat func(x, y []float64) float64
}{{"spearman", Spearman}, {"kendall", KendallTauB}}

// Exact enumeration (n ≤ 9), by hand. Without ties only the identity
// reaches ρ = 1 or τ = 1, so identical rankings of n give 1/n!; every
// ordering reaches at least −1, so a reversed ranking gives 1. x = 1 2 3 4
// against y = 1 2 4 3: Σd² = 2, ρ = 1 − 6·2/60 = 0.8, one inversion, τ =
// 1 − 4·1/12 = 2/3; the orderings that do as well are the identity and the
// three adjacent swaps (Σd² = 2, one inversion), 4 of 24 = 1/6 for both.
// Ties keep their own values: y = 1 1 2 against 1 2 3 is reached by the
// two orderings that keep the 2 last, 2 of 6 = 1/3. A constant y leaves
// the statistic undefined: NaN.
func TestRankAgreementPExactByHand(t *testing.T) {
	cases := []struct {
		name string
		x, y []float64
		want float64
	}{
		{"n=3 identical", ptSeq(3), ptSeq(3), 1.0 / 6},
		{"n=4 identical", ptSeq(4), ptSeq(4), 1.0 / 24},
		{"n=3 reversed", ptSeq(3), ptReversed(3), 1},
		{"n=4 reversed", ptSeq(4), ptReversed(4), 1},
		{"n=4 one swap", ptSeq(4), []float64{1, 2, 4, 3}, 4.0 / 24},
		{"n=3 tie in y", ptSeq(3), []float64{1, 1, 2}, 2.0 / 6},
		{"n=2 identical", ptSeq(2), ptSeq(2), 1.0 / 2},
		{"n=9 identical", ptSeq(9), ptSeq(9), 1 / ptFactorial(9)},
	}
	for _, s := range ptStats {
		for _, c := range cases {
			if got := RankAgreementP(c.x, c.y, s.stat, 1); math.Abs(got-c.want) > 1e-15 {
				t.Errorf("%s %s: p = %.17g, want %.17g", s.name, c.name, got, c.want)
			}
		}
		if got := RankAgreementP(ptSeq(4), []float64{2, 2, 2, 2}, s.stat, 1); !math.IsNaN(got) {
			t.Errorf("%s constant y: p = %v, want NaN", s.name, got)
		}
	}
}

// From n = 10 on RankAgreementP samples 100,000 orderings and returns
// (1 + hits)/(draws + 1). For identical rankings a hit is drawing the
// identity, which has probability 1/10! ≈ 2.8·10⁻⁷: about 0.03 hits are
// expected in 100,000 draws, and with this seeded key there are none, so
// p = 1/100,001 exactly (rather than the exact 1/10!, which the formula
// never goes below).
func TestRankAgreementPMonteCarloIdentical(t *testing.T) {
	for _, s := range ptStats {
		if got := RankAgreementP(ptSeq(10), ptSeq(10), s.stat, 7); got != 1.0/100_001 {
			t.Errorf("%s: p = %.17g, want 1/100001 = %.17g", s.name, got, 1.0/100_001)
		}
		if got := RankAgreementP(ptSeq(10), ptReversed(10), s.stat, 7); got != 1 {
			t.Errorf("%s reversed: p = %v, want (1 + 100000)/100001 = 1", s.name, got)
		}
	}
}

// ptMonteCarloY is a ranking of 10 against x = 1…10 with moderate
// agreement: d = y − x = 5 1 −2 −2 3 −2 3 −3 0 −3, Σd² = 74, ρ = 1 −
// 6·74/990 ≈ 0.552; inversions 5 + 2 + 3 + 3 + 1 = 14 (6 before 3 1 2 4 5,
// 3 before 1 2, 8 before 4 5 7, 10 before 5 9 7, 9 before 7), τ = 1 −
// 4·14/90 ≈ 0.378.
var ptMonteCarloY = []float64{6, 3, 1, 2, 8, 4, 10, 5, 9, 7}

// ptMahonian is the number of orderings of n distinct things with k
// inversions, for k = 0…n(n−1)/2: M(n, k) = Σ_{i=0}^{min(k, n−1)} M(n−1,
// k−i) (the last element adds i inversions), M(1, 0) = 1.
func ptMahonian(n int) []float64 {
	m := []float64{1}
	for size := 2; size <= n; size++ {
		next := make([]float64, len(m)+size-1)
		for k := range next {
			for i := 0; i <= min(k, size-1); i++ {
				if k-i < len(m) {
					next[k] += m[k-i]
				}
			}
		}
		m = next
	}
	return m
}

// ptSpearmanExactCount counts the orderings of y (distinct values 1…n)
// whose Σ(y′ᵢ − i)² is at most d, visiting all n! with Heap's algorithm
// and updating the sum at the two swapped places only.
func ptSpearmanExactCount(y []float64, d int) float64 {
	n := len(y)
	perm := make([]int, n)
	for i, v := range y {
		perm[i] = int(v)
	}
	sq := func(i int) int { return (perm[i] - i - 1) * (perm[i] - i - 1) }
	sum := 0
	for i := range n {
		sum += sq(i)
	}
	var count float64
	if sum <= d {
		count++
	}
	c := make([]int, n)
	for i := 1; i < n; {
		if c[i] < i {
			j := 0
			if i%2 == 1 {
				j = c[i]
			}
			sum -= sq(i) + sq(j)
			perm[i], perm[j] = perm[j], perm[i]
			sum += sq(i) + sq(j)
			if sum <= d {
				count++
			}
			c[i]++
			i = 1
		} else {
			c[i] = 0
			i++
		}
	}
	return count
}

// The Monte Carlo branch against exact values computed another way. With
// no ties, ρ′ ≥ ρ ⇔ Σd′² ≤ Σd² and τ′ ≥ τ ⇔ inversions′ ≤ inversions, so
// the exact one-sided p is the share of the 10! orderings with Σd² ≤ 74
// (counted by enumeration) and with at most 14 inversions (Mahonian
// numbers), about 0.052 and 0.078. The estimate (1 + hits)/100,001 has a
// standard error √(p(1 − p)/100,000) < 0.001; the tolerance is 4 of them
// plus the 1/100,001 the formula adds.
func TestRankAgreementPMonteCarloMatchesExact(t *testing.T) {
	total := ptFactorial(10)
	if m := ptMahonian(4); len(m) != 7 || m[0] != 1 || m[1] != 3 || m[2] != 5 || m[3] != 6 || m[6] != 1 {
		t.Fatalf("Mahonian numbers of 4: %v, want 1 3 5 6 5 3 1", m)
	}
	if got := ptSpearmanExactCount(ptSeq(4), 2); got != 4 {
		t.Fatalf("orderings of 4 with Σd² ≤ 2: %v, want 4", got)
	}
	if ptSumSq(ptMonteCarloY) != 74 || ptInversions(ptMonteCarloY) != 14 {
		t.Fatalf("Σd² %d, inversions %d: not the hand-worked case", ptSumSq(ptMonteCarloY), ptInversions(ptMonteCarloY))
	}
	var below float64
	for _, c := range ptMahonian(10)[:15] {
		below += c
	}
	exact := map[string]float64{
		"spearman": ptSpearmanExactCount(ptMonteCarloY, 74) / total,
		"kendall":  below / total,
	}
	for _, s := range ptStats {
		want := exact[s.name]
		if want < 0.02 || want > 0.2 {
			t.Fatalf("%s: exact p %v is not the moderate value the case is built for", s.name, want)
		}
		got := RankAgreementP(ptSeq(10), ptMonteCarloY, s.stat, 11)
		tol := 4*math.Sqrt(want*(1-want)/100_000) + 1.0/100_001
		t.Logf("%s: Monte Carlo p %.5f, exact %.5f (± %.5f)", s.name, got, want, tol)
		if math.Abs(got-want) > tol {
			t.Errorf("%s: Monte Carlo p %.5f, exact %.5f, tolerance %.5f", s.name, got, want, tol)
		}
		// Exact enumeration of the first 9 (n = 9 still takes that branch)
		// must agree with the same methods.
		y9 := []float64{6, 3, 1, 2, 8, 4, 9, 5, 7}
		var want9 float64
		if s.name == "spearman" {
			want9 = ptSpearmanExactCount(y9, ptSumSq(y9)) / ptFactorial(9)
		} else {
			var b float64
			for _, c := range ptMahonian(9)[:ptInversions(y9)+1] {
				b += c
			}
			want9 = b / ptFactorial(9)
		}
		if got := RankAgreementP(ptSeq(9), y9, s.stat, 11); math.Abs(got-want9) > 1e-12 {
			t.Errorf("%s n=9: exact branch %.15f, counted %.15f", s.name, got, want9)
		}
	}
}

func ptSumSq(y []float64) int {
	s := 0
	for i, v := range y {
		d := int(v) - i - 1
		s += d * d
	}
	return s
}

func ptInversions(y []float64) int {
	n := 0
	for i := range y {
		for j := i + 1; j < len(y); j++ {
			if y[i] > y[j] {
				n++
			}
		}
	}
	return n
}

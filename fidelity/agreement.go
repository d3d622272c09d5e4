package fidelity

import (
	"math"

	"github.com/recloop/recloop/internal/rng"
)

// exactPermutations is the largest n whose n! orderings RankAgreementP
// enumerates; beyond it, it samples permutationDraws of them.
const (
	exactPermutations = 9
	permutationDraws  = 100_000
)

// RankAgreementP is the one-sided p-value of chance agreement between two
// rankings of the same n things: the probability that stat(x, y′), with y′
// a uniformly random reordering of y, is at least stat(x, y). For n ≤ 9 it
// enumerates all n! orderings (exact; ties keep their own values, so the
// null distribution is the one of these very numbers); for larger n it
// draws 100,000 of them, seeded by key, and returns (1 + #{≥})/(draws + 1).
// NaN when stat(x, y) is undefined.
func RankAgreementP(x, y []float64, stat func(x, y []float64) float64, key uint64) float64 {
	observed := stat(x, y)
	if math.IsNaN(observed) {
		return math.NaN()
	}
	n := len(y)
	perm := append([]float64(nil), y...)
	tol := 1e-12
	atLeast := func() bool {
		s := stat(x, perm)
		return !math.IsNaN(s) && s >= observed-tol
	}
	if n <= exactPermutations {
		// Heap's algorithm visits every ordering once.
		var hits, total float64
		c := make([]int, n)
		total++
		if atLeast() {
			hits++
		}
		for i := 0; i < n; {
			if c[i] < i {
				if i%2 == 0 {
					perm[0], perm[i] = perm[i], perm[0]
				} else {
					perm[c[i]], perm[i] = perm[i], perm[c[i]]
				}
				total++
				if atLeast() {
					hits++
				}
				c[i]++
				i = 0
			} else {
				c[i] = 0
				i++
			}
		}
		return hits / total
	}
	r := rng.New(key)
	hits := 0
	for range permutationDraws {
		r.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		if atLeast() {
			hits++
		}
	}
	return float64(1+hits) / float64(permutationDraws+1)
}

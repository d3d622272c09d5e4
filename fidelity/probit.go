package fidelity

import (
	"math"

	"github.com/recloop/recloop/internal/linalg"
)

// fitProbit maximises the probit log-likelihood Σ log Φ(s_i·w·x_i), s_i =
// ±1 for the label, over the coefficients marked active (the others stay
// 0), with every active coefficient but the first (the intercept) kept
// ≥ 0. Newton's method solves the problem on a free set; an active-set
// loop fixes a coefficient that turns negative at 0 and frees a fixed one
// whose gradient points up, until neither happens. The log-likelihood is
// concave, so the result is the constrained maximum. It returns w and the
// mean log-likelihood.
func fitProbit(x [][]float64, labels []bool, active []bool) ([]float64, float64) {
	p := len(active)
	w := make([]float64, p)
	free := make([]bool, p)
	copy(free, active)
	for round := 0; round < 4*p; round++ {
		newtonProbit(x, labels, w, free)
		worst, worstAt := 0.0, -1
		for k := 1; k < p; k++ {
			if free[k] && w[k] < worst {
				worst, worstAt = w[k], k
			}
		}
		if worstAt >= 0 {
			free[worstAt], w[worstAt] = false, 0
			for k := 1; k < p; k++ {
				w[k] = max(w[k], 0)
			}
			continue
		}
		g := probitGradient(x, labels, w)
		best, bestAt := 1e-9*float64(len(x)), -1
		for k := 1; k < p; k++ {
			if active[k] && !free[k] && g[k] > best {
				best, bestAt = g[k], k
			}
		}
		if bestAt < 0 {
			break
		}
		free[bestAt] = true
	}
	return w, probitLogLik(x, labels, w) / float64(len(x))
}

// newtonProbit runs Newton's method on the free coefficients, halving a
// step that lowers the likelihood.
func newtonProbit(x [][]float64, labels []bool, w []float64, free []bool) {
	var idx []int
	for k, f := range free {
		if f {
			idx = append(idx, k)
		}
	}
	n := len(idx)
	ll := probitLogLik(x, labels, w)
	for iter := 0; iter < 100; iter++ {
		g := make([]float64, n)
		h := make([]float64, n*n)
		for i, row := range x {
			eta := linalg.Dot(row, w)
			lam := millsTerm(eta, labels[i])
			curv := lam * (lam + eta)
			for a, ka := range idx {
				g[a] += lam * row[ka]
				for b, kb := range idx[:a+1] {
					h[a*n+b] += curv * row[ka] * row[kb]
				}
			}
		}
		for a := range n {
			h[a*n+a] += 1e-9 * float64(len(x))
			for b := range a {
				h[b*n+a] = h[a*n+b]
			}
		}
		step := solveSPD(h, g, n)
		improved := false
		for t := 1.0; t > 1e-6; t /= 2 {
			next := append([]float64(nil), w...)
			for a, k := range idx {
				next[k] += t * step[a]
			}
			if l := probitLogLik(x, labels, next); l >= ll-1e-12 {
				improved = l > ll+1e-10*float64(len(x))
				copy(w, next)
				ll = l
				break
			}
		}
		if !improved {
			return
		}
	}
}

func probitGradient(x [][]float64, labels []bool, w []float64) []float64 {
	g := make([]float64, len(w))
	for i, row := range x {
		lam := millsTerm(linalg.Dot(row, w), labels[i])
		for k, v := range row {
			g[k] += lam * v
		}
	}
	return g
}

// probitLogLik is Σ log Φ(s_i·w·x_i).
func probitLogLik(x [][]float64, labels []bool, w []float64) float64 {
	var ll float64
	for i, row := range x {
		eta := linalg.Dot(row, w)
		if !labels[i] {
			eta = -eta
		}
		ll += logPhi(eta)
	}
	return ll
}

// millsTerm is ∂ log Φ(s·η)/∂η = s·φ(s·η)/Φ(s·η) for the label's sign s.
func millsTerm(eta float64, label bool) float64 {
	if label {
		return mills(eta)
	}
	return -mills(-eta)
}

// logPhi is log Φ(z), accurate far into the lower tail.
func logPhi(z float64) float64 {
	if z > -30 {
		return math.Log(0.5 * math.Erfc(-z/math.Sqrt2))
	}
	// Φ(z) ≈ φ(z)/(−z) · (1 − 1/z²) in the far lower tail.
	return -z*z/2 - math.Log(-z*math.Sqrt(2*math.Pi)) + math.Log1p(-1/(z*z))
}

// mills is φ(z)/Φ(z), the inverse Mills ratio.
func mills(z float64) float64 {
	if z > -30 {
		return math.Exp(-z*z/2) / math.Sqrt(2*math.Pi) / (0.5 * math.Erfc(-z/math.Sqrt2))
	}
	return -z / (1 - 1/(z*z))
}

// solveSPD solves a·x = b for the symmetric positive definite a (n × n),
// by Cholesky on a copy.
func solveSPD(a, b []float64, n int) []float64 {
	l := append([]float64(nil), a...)
	linalg.Cholesky(l, n)
	x := make([]float64, n)
	linalg.CholeskySolve(l, n, b, x)
	return x
}

// nonNegativeLeastSquares minimises ‖y − X·c‖² over the active columns
// (the others stay 0), every active coefficient but the first ≥ 0, by the
// same active-set loop as fitProbit.
func nonNegativeLeastSquares(x [][]float64, y []float64, active []bool) []float64 {
	p := len(active)
	c := make([]float64, p)
	free := make([]bool, p)
	copy(free, active)
	for round := 0; round < 4*p; round++ {
		var idx []int
		for k, f := range free {
			if f {
				idx = append(idx, k)
			}
		}
		n := len(idx)
		a, b := normalEquations(x, y, idx)
		for r := range n {
			a[r*n+r] += 1e-9 * float64(len(x))
		}
		sol := solveSPD(a, b, n)
		clear(c)
		for r, k := range idx {
			c[k] = sol[r]
		}
		worst, worstAt := 0.0, -1
		for k := 1; k < p; k++ {
			if free[k] && c[k] < worst {
				worst, worstAt = c[k], k
			}
		}
		if worstAt >= 0 {
			free[worstAt] = false
			continue
		}
		// Gradient of −½‖y − Xc‖² at the fixed columns.
		best, bestAt := 1e-9, -1
		for k := 1; k < p; k++ {
			if !active[k] || free[k] {
				continue
			}
			var g float64
			for i, row := range x {
				g += row[k] * (y[i] - linalg.Dot(row, c))
			}
			if g > best {
				best, bestAt = g, k
			}
		}
		if bestAt < 0 {
			break
		}
		free[bestAt] = true
	}
	return c
}

// normalEquations are XᵀX and Xᵀy over the columns idx of x.
func normalEquations(x [][]float64, y []float64, idx []int) (a, b []float64) {
	n := len(idx)
	a, b = make([]float64, n*n), make([]float64, n)
	for i, row := range x {
		for r, kr := range idx {
			b[r] += row[kr] * y[i]
			for s, ks := range idx {
				a[r*n+s] += row[kr] * row[ks]
			}
		}
	}
	return a, b
}

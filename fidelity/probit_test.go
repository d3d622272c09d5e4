package fidelity

import (
	"math"
	"testing"

	"github.com/recloop/recloop/internal/linalg"
	"github.com/recloop/recloop/internal/rng"
)

// ptPhi is the standard normal CDF Φ.
func ptPhi(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// ptProbitData draws n rows x = (1, z₁, …, z_k) with zⱼ ~ N(0, 1)
// independent, and labels with P(label) = Φ(w·x), from a seeded generator.
func ptProbitData(n int, w []float64, key uint64) ([][]float64, []bool) {
	r := rng.New(rng.Key(key, rng.PurposeSample))
	x := make([][]float64, n)
	labels := make([]bool, n)
	for i := range x {
		x[i] = make([]float64, len(w))
		x[i][0] = 1
		for k := 1; k < len(w); k++ {
			x[i][k] = r.NormFloat64()
		}
		labels[i] = r.Float64() < ptPhi(linalg.Dot(x[i], w))
	}
	return x, labels
}

// ptProbitSE is the asymptotic standard error of each free coefficient of
// a probit fit at w: the square roots of the diagonal of the inverse
// Fisher information over the free columns, I = Σᵢ φ(ηᵢ)²/(Φ(ηᵢ)(1 −
// Φ(ηᵢ)))·xᵢxᵢᵀ. Fixed coefficients get 0.
func ptProbitSE(x [][]float64, w []float64, free []bool) []float64 {
	var idx []int
	for k, f := range free {
		if f {
			idx = append(idx, k)
		}
	}
	n := len(idx)
	info := make([]float64, n*n)
	for _, row := range x {
		eta := linalg.Dot(row, w)
		p := ptPhi(eta)
		phi := math.Exp(-eta*eta/2) / math.Sqrt(2*math.Pi)
		c := phi * phi / (p * (1 - p))
		for a, ka := range idx {
			for b, kb := range idx {
				info[a*n+b] += c * row[ka] * row[kb]
			}
		}
	}
	se := make([]float64, len(w))
	for a, k := range idx {
		e := make([]float64, n)
		e[a] = 1
		se[k] = math.Sqrt(solveSPD(info, e, n)[a])
	}
	return se
}

// fitProbit recovers planted coefficients. 20,000 rows with z ~ N(0, 1)
// give standard errors of about 0.01–0.02 (ptProbitSE, checked below
// 0.03 so that the test has teeth); every coefficient must be within 4 of
// them of its target (a false alarm has probability about 6·10⁻⁵ per
// coefficient, and the data are seeded anyway).
//
//   - all free: w = (−0.3, 0.8, 0.5, 1.2) comes back, negative intercept
//     included (the intercept is not constrained).
//   - a planted negative slope, w = (0.2, 0.8, −0.6, 0.5): the constraint
//     holds it at exactly 0. The fit then sees z₂ as noise: ε − 0.6·z₂ ~
//     N(0, 1 + 0.36), so P(label | z₁, z₃) = Φ((0.2 + 0.8z₁ + 0.5z₃)/√1.36)
//     and the others converge to w/√1.36 = (0.171, 0.686, 0, 0.429).
//   - an inactive column, w = (0.1, 0.7, 0.4, 0.9) with z₃ inactive: its
//     coefficient stays exactly 0 although its gradient points up, and the
//     others converge to w/√(1 + 0.81) = w/√1.81.
func TestFitProbitRecoversPlantedCoefficients(t *testing.T) {
	all := []bool{true, true, true, true}
	for _, c := range []struct {
		name          string
		planted, want []float64
		active        []bool
		zero          int // index that must come back exactly 0 (−1 for none)
	}{
		{"free", []float64{-0.3, 0.8, 0.5, 1.2}, []float64{-0.3, 0.8, 0.5, 1.2}, all, -1},
		{"negative slope", []float64{0.2, 0.8, -0.6, 0.5}, ptScale([]float64{0.2, 0.8, 0, 0.5}, 1/math.Sqrt(1.36)), all, 2},
		{"inactive column", []float64{0.1, 0.7, 0.4, 0.9}, ptScale([]float64{0.1, 0.7, 0.4, 0}, 1/math.Sqrt(1.81)), []bool{true, true, true, false}, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			x, labels := ptProbitData(20_000, c.planted, 3)
			w, ll := fitProbit(x, labels, c.active)
			free := make([]bool, len(w))
			for k := range free {
				free[k] = k != c.zero
			}
			se := ptProbitSE(x, w, free)
			for k := range w {
				if k == c.zero {
					if w[k] != 0 {
						t.Errorf("w[%d] = %v, want exactly 0", k, w[k])
					}
					continue
				}
				if se[k] > 0.03 {
					t.Errorf("w[%d]: standard error %.4f, too wide for a sharp check", k, se[k])
				}
				if math.Abs(w[k]-c.want[k]) > 4*se[k] {
					t.Errorf("w[%d] = %.4f, want %.4f ± %.4f (4 SE)", k, w[k], c.want[k], 4*se[k])
				}
			}
			if want := probitLogLik(x, labels, w) / float64(len(x)); ll != want {
				t.Errorf("mean log-likelihood %v, recomputed %v", ll, want)
			}
			// The fit is a maximum: nudging any free coefficient (within
			// the constraint) does not raise the likelihood.
			for k := range w {
				for _, h := range []float64{-1e-3, 1e-3} {
					if k == c.zero || (k > 0 && w[k]+h < 0) {
						continue
					}
					v := append([]float64(nil), w...)
					v[k] += h
					if l := probitLogLik(x, labels, v) / float64(len(x)); l > ll+1e-12 {
						t.Errorf("w[%d] %+g raises the mean log-likelihood %v → %v", k, h, ll, l)
					}
				}
			}
			t.Logf("w = %.4f, SE = %.4f", w, se)
		})
	}
}

func ptScale(v []float64, s float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x * s
	}
	return out
}

// nonNegativeLeastSquares by hand. Rows are (1, x₁[, x₂]) with x₁ = 0 1 2
// 3 (and 4), x₂ = 0 1 0 0 (mean x₁ 1.5, Sxx = 5 over 0…3).
//
//   - y = 1 + 2x₁ exactly → (1, 2).
//   - y = −3 + 0.5x₁ → (−3, 0.5): the intercept may be negative.
//   - y = 5 − x₁ = 5 4 3 2: the slope is held at 0, the intercept is the
//     mean, 3.5.
//   - y = 1 + 2x₁ − x₂ = 1 2 5 7: the unconstrained fit is exact with
//     c₂ = −1; constrained, c₂ = 0 and y is fitted on (1, x₁): Sxy =
//     (−1.5)(−2.75) + (−0.5)(−1.75) + 0.5·1.25 + 1.5·3.25 = 10.5, slope
//     10.5/5 = 2.1, intercept 3.75 − 2.1·1.5 = 0.6. Residuals 0.4 −0.7 0.2
//     0.1, so x₂'s gradient Σx₂·r = −0.7 < 0: freeing it would not help,
//     (0.6, 2.1, 0) is the constrained optimum.
//   - y = 1 + 2x₁ + 3x₂ = 1 6 5 7: all active → (1, 2, 3); x₂ inactive →
//     fitted on (1, x₁): mean 4.75, Sxy = (−1.5)(−3.75) + (−0.5)(1.25) +
//     0.5·0.25 + 1.5·2.25 = 8.5, slope 1.7, intercept 4.75 − 2.55 = 2.2.
//
// The solver adds 10⁻⁹·n to the normal equations' diagonal, so answers are
// exact to about 10⁻⁸; the tolerance is 10⁻⁶.
func TestNonNegativeLeastSquaresByHand(t *testing.T) {
	x1 := func(xs ...float64) [][]float64 {
		out := make([][]float64, len(xs))
		for i, v := range xs {
			out[i] = []float64{1, v}
		}
		return out
	}
	x2 := [][]float64{{1, 0, 0}, {1, 1, 1}, {1, 2, 0}, {1, 3, 0}}
	for _, c := range []struct {
		name   string
		x      [][]float64
		y      []float64
		active []bool
		want   []float64
	}{
		{"exact line", x1(0, 1, 2, 3, 4), []float64{1, 3, 5, 7, 9}, []bool{true, true}, []float64{1, 2}},
		{"negative intercept", x1(0, 1, 2, 3), []float64{-3, -2.5, -2, -1.5}, []bool{true, true}, []float64{-3, 0.5}},
		{"negative slope", x1(0, 1, 2, 3), []float64{5, 4, 3, 2}, []bool{true, true}, []float64{3.5, 0}},
		{"negative second slope", x2, []float64{1, 2, 5, 7}, []bool{true, true, true}, []float64{0.6, 2.1, 0}},
		{"all positive", x2, []float64{1, 6, 5, 7}, []bool{true, true, true}, []float64{1, 2, 3}},
		{"inactive column", x2, []float64{1, 6, 5, 7}, []bool{true, true, false}, []float64{2.2, 1.7, 0}},
	} {
		got := nonNegativeLeastSquares(c.x, c.y, c.active)
		if len(got) != len(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
			continue
		}
		for k := range got {
			// A coefficient held at the bound, or inactive, is exactly 0.
			if math.Abs(got[k]-c.want[k]) > 1e-6 || (c.want[k] == 0 && got[k] != 0) {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
				break
			}
		}
	}
}

// ptBruteNNLS is the constrained least-squares optimum found the slow
// way: for every subset of the non-intercept active columns, the
// unconstrained fit on the intercept and that subset; among the fits whose
// subset coefficients are all ≥ 0, the one with the smallest residual.
func ptBruteNNLS(x [][]float64, y []float64, active []bool) ([]float64, float64) {
	p := len(active)
	var best []float64
	bestRSS := math.Inf(1)
	for mask := 0; mask < 1<<(p-1); mask++ {
		var idx []int
		if active[0] {
			idx = append(idx, 0)
		}
		ok := true
		for k := 1; k < p; k++ {
			if mask&(1<<(k-1)) != 0 {
				if !active[k] {
					ok = false
				}
				idx = append(idx, k)
			}
		}
		if !ok || len(idx) == 0 {
			continue
		}
		n := len(idx)
		a, b := normalEquations(x, y, idx)
		sol := solveSPD(a, b, n)
		c := make([]float64, p)
		for r, k := range idx {
			c[k] = sol[r]
			if k > 0 && sol[r] < 0 {
				ok = false
			}
		}
		if !ok {
			continue
		}
		var rss float64
		for i, row := range x {
			d := y[i] - linalg.Dot(row, c)
			rss += d * d
		}
		if rss < bestRSS {
			best, bestRSS = c, rss
		}
	}
	return best, bestRSS
}

// ptBruteProbit is the constrained probit optimum found the slow way, as
// ptBruteNNLS: Newton on every subset of the non-intercept active columns,
// the best likelihood among the fits whose subset coefficients are ≥ 0
// (the log-likelihood is concave, so the constrained maximum is the
// unconstrained maximum of some face that happens to be feasible).
func ptBruteProbit(x [][]float64, labels []bool, active []bool) ([]float64, float64) {
	p := len(active)
	var best []float64
	bestLL := math.Inf(-1)
	for mask := 0; mask < 1<<(p-1); mask++ {
		free := make([]bool, p)
		free[0] = active[0]
		ok := true
		for k := 1; k < p; k++ {
			if mask&(1<<(k-1)) != 0 {
				ok = ok && active[k]
				free[k] = true
			}
		}
		if !ok {
			continue
		}
		w := make([]float64, p)
		newtonProbit(x, labels, w, free)
		for k := 1; k < p; k++ {
			ok = ok && w[k] >= 0
		}
		if ll := probitLogLik(x, labels, w); ok && ll > bestLL {
			best, bestLL = w, ll
		}
	}
	return best, bestLL
}

// ptRandomDesign is a seeded problem whose columns are correlated (each a
// random mix of three common factors plus noise) and whose planted
// coefficients have random signs, so that the active-set loops have to
// drop columns and, sometimes, free a dropped one again.
func ptRandomDesign(seed uint64, n, p int) (x [][]float64, w []float64, r func() float64) {
	g := rng.New(rng.Key(seed, rng.PurposeSample))
	mix := make([][3]float64, p)
	for k := range mix {
		mix[k] = [3]float64{g.NormFloat64(), g.NormFloat64(), g.NormFloat64()}
	}
	w = make([]float64, p)
	for k := range w {
		w[k] = g.NormFloat64()
	}
	x = make([][]float64, n)
	for i := range x {
		z := [3]float64{g.NormFloat64(), g.NormFloat64(), g.NormFloat64()}
		x[i] = make([]float64, p)
		x[i][0] = 1
		for k := 1; k < p; k++ {
			x[i][k] = 0.3*g.NormFloat64() + mix[k][0]*z[0] + mix[k][1]*z[1] + mix[k][2]*z[2]
		}
	}
	return x, w, g.Float64
}

// On random problems with correlated columns the active-set solvers agree
// with exhaustive search over the faces of the constraint: every subset of
// columns fitted freely, the best feasible one kept. 19 of the 500
// least-squares problems and 1 of the 100 probit ones need a dropped
// column freed again, so a loop that never re-frees fails here.
func TestActiveSetMatchesExhaustiveSearch(t *testing.T) {
	active := []bool{true, true, true, true, true}
	for seed := range uint64(500) {
		x, w, noise := ptRandomDesign(seed, 30, 5)
		y := make([]float64, len(x))
		for i, row := range x {
			y[i] = linalg.Dot(row, w) + (noise()-0.5)*2
		}
		got := nonNegativeLeastSquares(x, y, active)
		want, _ := ptBruteNNLS(x, y, active)
		for k := range got {
			if math.Abs(got[k]-want[k]) > 1e-6 {
				t.Errorf("least squares, seed %d: %v, exhaustive %v", seed, got, want)
				break
			}
		}
	}
	for seed := range uint64(100) {
		x, w, u := ptRandomDesign(1000+seed, 400, 4)
		labels := make([]bool, len(x))
		for i, row := range x {
			labels[i] = u() < ptPhi(linalg.Dot(row, w))
		}
		got, ll := fitProbit(x, labels, active[:4])
		_, bestLL := ptBruteProbit(x, labels, active[:4])
		if n := float64(len(x)); math.Abs(ll-bestLL/n) > 1e-7 {
			t.Errorf("probit, seed %d: %v with mean log-likelihood %.9f, exhaustive %.9f", seed, got, ll, bestLL/n)
		}
	}
}

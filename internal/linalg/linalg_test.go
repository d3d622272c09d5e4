package linalg

import (
	"math"
	"testing"
)

// The Cholesky solve on a case small enough to check by hand:
// A = [[4, 2], [2, 3]] = L·Lᵀ with L = [[2, 0], [1, √2]]; A·x = [2, 1]
// gives x = [0.5, 0].
func TestCholeskySolve(t *testing.T) {
	a := []float64{4, 2, 2, 3}
	Cholesky(a, 2)
	if math.Abs(a[0]-2) > 1e-12 || math.Abs(a[2]-1) > 1e-12 || math.Abs(a[3]-math.Sqrt2) > 1e-12 {
		t.Errorf("L = %v, want [2 · 1 √2]", a)
	}
	x := make([]float64, 2)
	CholeskySolve(a, 2, []float64{2, 1}, x)
	if d := x[0] - 0.5; d*d > 1e-24 || x[1]*x[1] > 1e-24 {
		t.Errorf("x = %v, want [0.5 0]", x)
	}
}

// One row's solve against two fixed vectors v₀ = (1, 0), v₁ = (0, 1) with
// λ = 1, α = 2 and one entry (v₀, r = 1): A = VᵀV + λI + (c − 1)v₀v₀ᵀ with
// c = 3, so A = [[4, 0], [0, 2]], b = c·v₀ = (3, 0), x = (0.75, 0).
func TestSolveByHand(t *testing.T) {
	fixed := []float64{1, 0, 0, 1}
	g := Gram(fixed, 2, 1)
	if g[0] != 2 || g[1] != 0 || g[3] != 2 {
		t.Fatalf("Gram = %v, want [[2 0] [0 2]]", g)
	}
	x := make([]float64, 2)
	NewSolver(2).Solve(g, fixed, []Entry{{ID: 0, R: 1}}, 2, x)
	if math.Abs(x[0]-0.75) > 1e-12 || math.Abs(x[1]) > 1e-12 {
		t.Errorf("x = %v, want [0.75 0]", x)
	}
}

// Package linalg holds the dense linear algebra that implicit alternating
// least squares needs (Hu, Koren & Volinsky 2008): Gram matrices, one
// row's weighted least-squares solve, and Cholesky factorisation. The mf
// recommender and the learned taste model share it, so a user folded in by
// either is solved the same way.
package linalg

import "math"

// Entry is one observed pair of a row: the other side's index and its
// strength r, which weighs the pair by c = 1 + α·r.
type Entry struct {
	ID int32
	R  float32
}

// Dot is a·b over the length of a.
func Dot(a, b []float64) float64 {
	var s float64
	for k, x := range a {
		s += x * b[k]
	}
	return s
}

// Gram is VᵀV + λI for the rows of v (each f long).
func Gram(v []float64, f int, reg float64) []float64 {
	g := make([]float64, f*f)
	for off := 0; off < len(v); off += f {
		row := v[off : off+f]
		for a, x := range row {
			if x == 0 {
				continue
			}
			ga := g[a*f : a*f+f]
			for b := a; b < f; b++ {
				ga[b] += x * row[b]
			}
		}
	}
	for a := range f {
		g[a*f+a] += reg
		for b := range a {
			g[a*f+b] = g[b*f+a]
		}
	}
	return g
}

// Solver is the memory of one row's least-squares solve; reuse it across
// rows of the same dimension. It is not safe for concurrent use.
type Solver struct {
	f    int
	a, b []float64
}

// NewSolver makes a Solver for vectors of dimension f.
func NewSolver(f int) *Solver {
	return &Solver{f: f, a: make([]float64, f*f), b: make([]float64, f)}
}

// Solve writes to out the x minimising Σ_j c_j (p_j − x·v_j)² + λ‖x‖² over
// every row j of fixed, with p_j = 1 and c_j = 1 + α·r_j for the entries
// and p_j = 0, c_j = 1 elsewhere: (VᵀV + λI + Σ_e (c_e − 1) v_e v_eᵀ) x =
// Σ_e c_e v_e, with g = VᵀV + λI precomputed (Hu et al., eq. 4).
func (s *Solver) Solve(g, fixed []float64, entries []Entry, alpha float64, out []float64) {
	f := s.f
	copy(s.a, g)
	clear(s.b)
	for _, e := range entries {
		v := fixed[int(e.ID)*f : int(e.ID)*f+f]
		extra := alpha * float64(e.R)
		c := 1 + extra
		for a, va := range v {
			s.b[a] += c * va
			if va == 0 {
				continue
			}
			w := extra * va
			tail := v[a:]
			row := s.a[a*f+a : a*f+f]
			row = row[:len(tail)]
			for b, vb := range tail {
				row[b] += w * vb
			}
		}
	}
	for a := range f {
		for b := range a {
			s.a[a*f+b] = s.a[b*f+a]
		}
	}
	Cholesky(s.a, f)
	CholeskySolve(s.a, f, s.b, out)
}

// Cholesky factors the symmetric positive definite a (f × f, row-major) in
// place into L with a = L·Lᵀ, L in the lower triangle.
func Cholesky(a []float64, f int) {
	for j := range f {
		d := a[j*f+j] - Dot(a[j*f:j*f+j], a[j*f:j*f+j])
		d = math.Sqrt(max(d, 1e-12))
		a[j*f+j] = d
		for i := j + 1; i < f; i++ {
			a[i*f+j] = (a[i*f+j] - Dot(a[i*f:i*f+j], a[j*f:j*f+j])) / d
		}
	}
}

// CholeskySolve solves L·Lᵀ·x = b by forward and back substitution.
func CholeskySolve(l []float64, f int, b, x []float64) {
	for i := range f {
		x[i] = (b[i] - Dot(l[i*f:i*f+i], x[:i])) / l[i*f+i]
	}
	for i := f - 1; i >= 0; i-- {
		s := x[i]
		for k := i + 1; k < f; k++ {
			s -= l[k*f+i] * x[k]
		}
		x[i] = s / l[i*f+i]
	}
}

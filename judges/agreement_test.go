package judges

import (
	"math"
	"testing"
)

var nan = math.NaN()

// krippendorffExample is the reliability data of Krippendorff (2011),
// "Computing Krippendorff's Alpha-Reliability", section C: four observers,
// twelve units, values 1–5, with missing values. Rows are units, columns the
// observers A, B, C, D.
var krippendorffExample = [][]float64{
	{1, 1, nan, 1},
	{2, 2, 3, 2},
	{3, 3, 3, 3},
	{3, 3, 3, 3},
	{2, 2, 2, 2},
	{1, 2, 3, 4},
	{4, 4, 4, 4},
	{1, 1, 2, 1},
	{2, 2, 2, 2},
	{nan, 5, 5, 5},
	{nan, nan, 1, 1},
	{nan, 3, nan, nan},
}

func TestKrippendorffAlphaOrdinal(t *testing.T) {
	tests := []struct {
		name  string
		units [][]float64
		want  float64
	}{
		// Units (1,2), (2,3), (3,3), (1,1); two coders, so each ordered pair
		// weighs 1/(2−1) = 1:
		//   o_12 = o_21 = 1, o_23 = o_32 = 1, o_11 = 2, o_33 = 2
		//   n_1 = 3, n_2 = 2, n_3 = 3, n = 8
		//   δ²_12 = (n_1+n_2 − (n_1+n_2)/2)² = (5 − 2.5)² = 6.25
		//   δ²_23 = (n_2+n_3 − (n_2+n_3)/2)² = (5 − 2.5)² = 6.25
		//   δ²_13 = (n_1+n_2+n_3 − (n_1+n_3)/2)² = (8 − 3)² = 25
		//   Σ o δ² = 2·6.25 + 2·6.25 = 25
		//   Σ n_c n_k δ² = 2·(3·2·6.25 + 2·3·6.25 + 3·3·25) = 2·300 = 600
		//   α = 1 − 7·25/600 = 1 − 175/600 = 17/24
		{"hand-computed", [][]float64{{1, 2}, {2, 3}, {3, 3}, {1, 1}}, 17.0 / 24},
		// Krippendorff (2011) reports α_ordinal = 0.815. His marginals:
		// n_1..n_5 = 9, 13, 10, 5, 3, n = 40 (unit 12 is not pairable).
		// Off-diagonal o_ck: o_12 = o_23 = 4/3 (units 2, 6, 8), every other
		// pair among 1–4 gets 1/3 (unit 6 alone). δ² from the marginals, e.g.
		// δ²_12 = (9 + 13 − 11)² = 121, δ²_14 = (37 − 7)² = 900. Then
		// Σ o δ² = 1891, Σ n_c n_k δ² = 399480 and
		// α = 1 − 39·1891/399480 = 108577/133160 ≈ 0.81539.
		{"Krippendorff 2011 example", krippendorffExample, 108577.0 / 133160},
		{"perfect agreement", [][]float64{{1, 1}, {3, 3}, {5, 5, 5}, {2, nan, 2}}, 1},
		// Two units that flip: o_12 = o_21 = 2, n_1 = n_2 = 2, n = 4,
		// δ²_12 = (4 − 2)² = 4, α = 1 − 3·(4·4)/(2·2·2·4) = 1 − 48/32 = −0.5.
		{"systematic disagreement", [][]float64{{1, 2}, {2, 1}}, -0.5},
		{"no variation is undefined", [][]float64{{3, 3}, {3, 3}}, nan},
		{"nothing pairable is undefined", [][]float64{{1, nan}, {nan, 2}}, nan},
		{"empty is undefined", nil, nan},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := KrippendorffAlphaOrdinal(tt.units)
			if !closeOrBothNaN(got, tt.want, 1e-6) {
				t.Errorf("α = %.7f, want %.7f", got, tt.want)
			}
		})
	}
}

// TestKrippendorffOrdinalIsNotNominal: with three values, ordinal α charges
// a 1–3 disagreement more than a 1–2 one; a nominal α would not.
func TestKrippendorffOrdinalIsNotNominal(t *testing.T) {
	near := KrippendorffAlphaOrdinal([][]float64{{1, 2}, {2, 2}, {3, 3}, {1, 1}, {3, 3}})
	far := KrippendorffAlphaOrdinal([][]float64{{1, 3}, {2, 2}, {3, 3}, {1, 1}, {2, 2}})
	if !(near > far) {
		t.Errorf("α with a 1–2 disagreement %.4f, with a 1–3 disagreement %.4f: want the first higher", near, far)
	}
}

func TestQuadraticKappa(t *testing.T) {
	tests := []struct {
		name     string
		a, b     []int
		min, max int
		want     float64
	}{
		// a = 1 2 3 3, b = 1 3 3 2 on 1..3, w = (i−j)²/4:
		//   observed off-diagonal: (2,3) and (3,2), each w = 1/4 → Σ w O = 0.5
		//   marginals a: 1,1,2; b: 1,1,2; E_ij = a_i b_j / 4
		//   Σ w a_i b_j = ¼(1·1 + 1·1 + 1·2 + 2·1) + 1·(1·2 + 2·1) = 1.5 + 4 = 5.5
		//   Σ w E = 5.5/4 = 1.375;  κ = 1 − 0.5/1.375 = 1 − 4/11 = 7/11
		{"hand-computed", []int{1, 2, 3, 3}, []int{1, 3, 3, 2}, 1, 3, 7.0 / 11},
		{"perfect agreement", []int{1, 2, 5, 4, 3}, []int{1, 2, 5, 4, 3}, 1, 5, 1},
		// a = 1 5, b = 5 1 on 1..5: Σ w O = 1 + 1 = 2; marginals 1 and 5 once
		// each: Σ w a_i b_j = 1 + 1 = 2, Σ w E = 2/2 = 1; κ = 1 − 2/1 = −1.
		{"complete reversal", []int{1, 5}, []int{5, 1}, 1, 5, -1},
		{"constant raters are undefined", []int{3, 3}, []int{3, 3}, 1, 5, nan},
		{"unequal lengths", []int{1, 2}, []int{1}, 1, 5, nan},
		{"out of scale", []int{1, 6}, []int{1, 2}, 1, 5, nan},
		{"empty", nil, nil, 1, 5, nan},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := QuadraticKappa(tt.a, tt.b, tt.min, tt.max)
			if !closeOrBothNaN(got, tt.want, 1e-12) {
				t.Errorf("κ = %.7f, want %.7f", got, tt.want)
			}
		})
	}
}

func closeOrBothNaN(got, want, tol float64) bool {
	if math.IsNaN(want) || math.IsNaN(got) {
		return math.IsNaN(want) && math.IsNaN(got)
	}
	return math.Abs(got-want) <= tol
}

func BenchmarkKrippendorffAlphaOrdinal(b *testing.B) {
	units := make([][]float64, 1000)
	for i := range units {
		units[i] = []float64{float64(1 + i%5), float64(1 + (i*7)%5)}
	}
	for b.Loop() {
		KrippendorffAlphaOrdinal(units)
	}
}

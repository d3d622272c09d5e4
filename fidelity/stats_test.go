package fidelity

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= tol
}

func TestClassifyByHand(t *testing.T) {
	// labels    T T T F F F F
	// predicted T T F T F F F → TP 2, FN 1, FP 1, TN 3
	// accuracy 5/7; precision 2/3; recall 2/3; F1 = 2·(4/9)/(4/3) = 2/3
	labels := []bool{true, true, true, false, false, false, false}
	pred := []bool{true, true, false, true, false, false, false}
	c := Classify(labels, pred)
	if c.TP != 2 || c.FN != 1 || c.FP != 1 || c.TN != 3 {
		t.Fatalf("confusion %+v", c)
	}
	for _, tc := range []struct {
		name      string
		got, want float64
	}{
		{"accuracy", c.Accuracy, 5.0 / 7},
		{"precision", c.Precision, 2.0 / 3},
		{"recall", c.Recall, 2.0 / 3},
		{"f1", c.F1, 2.0 / 3},
	} {
		if !near(tc.got, tc.want, 1e-12) {
			t.Errorf("%s = %g, want %g", tc.name, tc.got, tc.want)
		}
	}
	// Precision 1/2, recall 1/3: F1 = 2·(1/6)/(5/6) = 0.4.
	c = Classify([]bool{true, true, true, false}, []bool{true, false, false, true})
	if !near(c.F1, 0.4, 1e-12) {
		t.Errorf("F1 = %g, want 0.4", c.F1)
	}
	// Nothing predicted positive: precision, recall and F1 are 0, not NaN.
	c = Classify([]bool{true, false}, []bool{false, false})
	if c.Precision != 0 || c.Recall != 0 || c.F1 != 0 || c.Accuracy != 0.5 {
		t.Errorf("undefined scores %+v", c)
	}
}

func TestAUCByHand(t *testing.T) {
	tests := []struct {
		name   string
		labels []bool
		scores []float64
		want   float64
	}{
		// Perfect separation.
		{"perfect", []bool{true, true, false, false}, []float64{0.9, 0.8, 0.3, 0.1}, 1},
		// Pairs (pos, neg): (0.8,0.6) win, (0.8,0.9) lose, (0.4,0.6) lose, (0.4,0.9) lose → 1/4.
		{"quarter", []bool{true, true, false, false}, []float64{0.8, 0.4, 0.6, 0.9}, 0.25},
		// Ties: positives 0.5, 0.7; negatives 0.5, 0.2.
		// (0.5,0.5) ½, (0.5,0.2) 1, (0.7,0.5) 1, (0.7,0.2) 1 → 3.5/4 = 0.875.
		{"ties", []bool{true, true, false, false}, []float64{0.5, 0.7, 0.5, 0.2}, 0.875},
		// Every score equal: every pair a tie, ½.
		{"constant", []bool{true, false, false}, []float64{1, 1, 1}, 0.5},
		// Binary scores: clicks on 2 of 3 positives and 1 of 2 negatives.
		// Pairs: click/no-click 2·1 = 2 wins, no-click/click 1·1 = 0,
		// click/click 2·1 ties = 1, no-click/no-click 1·1 tie = ½ → 3.5/6.
		{"binary", []bool{true, true, true, false, false}, []float64{1, 1, 0, 1, 0}, 3.5 / 6},
		{"no negatives", []bool{true, true}, []float64{1, 0}, math.NaN()},
	}
	for _, tc := range tests {
		if got := AUC(tc.labels, tc.scores); !near(got, tc.want, 1e-12) {
			t.Errorf("%s: AUC = %g, want %g", tc.name, got, tc.want)
		}
	}
}

func TestErrorsByHand(t *testing.T) {
	// Errors 1, −2, 0, 1: squares 1+4+0+1 = 6 → RMSE √(6/4) = 1.224745;
	// absolute 1+2+0+1 = 4 → MAE 1.
	e := Errors([]float64{4, 1, 3, 5}, []float64{3, 3, 3, 4})
	if e.N != 4 || !near(float64(e.RMSE), math.Sqrt(1.5), 1e-12) || !near(float64(e.MAE), 1, 1e-12) {
		t.Errorf("errors %+v", e)
	}
	if e := Errors(nil, nil); !math.IsNaN(float64(e.RMSE)) || e.N != 0 {
		t.Errorf("empty errors %+v", e)
	}
}

func TestSpearmanByHand(t *testing.T) {
	tests := []struct {
		name string
		x, y []float64
		want float64
	}{
		{"same order", []float64{1, 2, 3, 4}, []float64{10, 20, 30, 40}, 1},
		{"reversed", []float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}, -1},
		// Ranks x (1,2,3,4), y (2,1,4,3): Σd² = 4 → 1 − 6·4/(4·15) = 0.6.
		{"swaps", []float64{1, 2, 3, 4}, []float64{2, 1, 4, 3}, 0.6},
		// Ties: x = (1, 2, 2, 3) ranks (1, 2.5, 2.5, 4); y ranks (1, 2, 3, 4).
		// Centred: x (−1.5, 0, 0, 1.5), y (−1.5, −0.5, 0.5, 1.5);
		// Σxy = 2.25 + 2.25 = 4.5; Σx² = 4.5; Σy² = 5 → 4.5/√22.5 = 0.948683.
		{"ties", []float64{1, 2, 2, 3}, []float64{1, 2, 3, 4}, 4.5 / math.Sqrt(22.5)},
		{"constant", []float64{1, 1, 1}, []float64{1, 2, 3}, math.NaN()},
	}
	for _, tc := range tests {
		if got := Spearman(tc.x, tc.y); !near(got, tc.want, 1e-12) {
			t.Errorf("%s: Spearman = %g, want %g", tc.name, got, tc.want)
		}
	}
}

func TestKendallTauBByHand(t *testing.T) {
	tests := []struct {
		name string
		x, y []float64
		want float64
	}{
		{"same order", []float64{1, 2, 3}, []float64{1, 5, 9}, 1},
		// Pairs of (1,2,3,4) vs (2,1,4,3): (1,2) discordant, (3,4) discordant,
		// the other 4 concordant → (4 − 2)/6 = 1/3.
		{"swaps", []float64{1, 2, 3, 4}, []float64{2, 1, 4, 3}, 1.0 / 3},
		// x = (1, 2, 2, 3), y = (1, 2, 3, 4): n₀ = 6, pair (2,3) tied in x
		// (n₁ = 1), none in y; the other 5 concordant → 5/√(5·6) = 0.912871.
		{"ties in x", []float64{1, 2, 2, 3}, []float64{1, 2, 3, 4}, 5 / math.Sqrt(30)},
		// x = (1, 1, 2, 2), y = (1, 2, 1, 2): ties n₁ = 2, n₂ = 2; pairs
		// (1,3), (2,4) tied in y; (1,2), (3,4) tied in x; (1,4) concordant;
		// (2,3) discordant → 0/√(4·4) = 0.
		{"ties in both", []float64{1, 1, 2, 2}, []float64{1, 2, 1, 2}, 0},
		{"constant", []float64{3, 3}, []float64{1, 2}, math.NaN()},
	}
	for _, tc := range tests {
		if got := KendallTauB(tc.x, tc.y); !near(got, tc.want, 1e-12) {
			t.Errorf("%s: τ_b = %g, want %g", tc.name, got, tc.want)
		}
	}
}

func TestPercentilesByHand(t *testing.T) {
	// (10, 20, 20, NaN, 40): ranks 1, 2.5, 2.5, –, 4 over n = 4 →
	// (0.5/4, 2/4, 2/4, 0.5, 3.5/4).
	got := Percentiles([]float64{10, 20, 20, math.NaN(), 40})
	want := []float64{0.125, 0.5, 0.5, 0.5, 0.875}
	for i := range want {
		if !near(got[i], want[i], 1e-12) {
			t.Errorf("percentile[%d] = %g, want %g", i, got[i], want[i])
		}
	}
}

func TestCoverCountByHand(t *testing.T) {
	// Shares 5, 3, 1, 1 (total 10): 5 < 8, 5+3 = 8 ≥ 8 → 2 categories.
	if got := coverCount(map[int32]float64{0: 1, 1: 5, 2: 3, 3: 1}, 0.8); got != 2 {
		t.Errorf("coverCount = %d, want 2", got)
	}
	if got := coverCount(nil, 0.8); got != 0 {
		t.Errorf("coverCount(empty) = %d", got)
	}
}

func TestMeanSDByHand(t *testing.T) {
	// (1, 3, 5): mean 3; deviations −2, 0, 2 → variance 8/3, sd 1.632993.
	m, sd := meanSD([]float64{1, 3, 5})
	if !near(float64(m), 3, 1e-12) || !near(float64(sd), math.Sqrt(8.0/3), 1e-12) {
		t.Errorf("mean %g sd %g", m, sd)
	}
	if m, _ := meanSD(nil); !math.IsNaN(float64(m)) {
		t.Errorf("mean of nothing %g", m)
	}
}

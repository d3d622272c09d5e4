package metrics

import (
	"math"
	"slices"
	"testing"
)

func TestGini(t *testing.T) {
	tests := []struct {
		name   string
		counts []int64
		want   float64
	}{
		// all equal: every (2j − n − 1) term cancels → 0.
		{"all equal", []int64{5, 5, 5, 5}, 0},
		// one item gets every slot: (2·4 − 5)·8 / (3·8) = 24/24 = 1.
		{"one item all slots", []int64{0, 8, 0, 0}, 1},
		// sorted 1,2,2,3: (−3·1 − 1·2 + 1·2 + 3·3) / (3·8) = 6/24.
		{"hand case", []int64{3, 2, 2, 1}, 0.25},
		// n = 2, counts 1, 3: ((−1)·1 + 1·3) / (1·4) = 0.5.
		{"two items", []int64{3, 1}, 0.5},
		{"no exposure", []int64{0, 0, 0}, math.NaN()},
		{"single item", []int64{4}, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := gini(slices.Clone(tt.counts)); !approx(got, tt.want) {
				t.Errorf("gini(%v) = %v, want %v", tt.counts, got, tt.want)
			}
		})
	}
}

func TestCalibrationKL(t *testing.T) {
	tests := []struct {
		name   string
		p      []catWeight
		q      []float64
		want   float64
		pTotal float64
	}{
		// identical distributions: q̃ = p, every log term is log2 1 = 0.
		{"identical", []catWeight{{0, 1}, {1, 1}}, []float64{3, 3}, 0, 2},
		// p = (1, 0), q = (0, 1): q̃(0) = 0.01 → log2(1/0.01) = log2 100.
		{"disjoint", []catWeight{{0, 2}}, []float64{0, 5}, math.Log2(100), 2},
		// p = (½, ½), q = (1, 0): q̃ = (0.995, 0.005);
		// ½ log2(0.5/0.995) + ½ log2(0.5/0.005) = ½(−0.99281) + ½(6.64386) = 2.82552.
		{"half", []catWeight{{0, 1}, {1, 1}}, []float64{4, 0}, 0.5*math.Log2(0.5/0.995) + 0.5*math.Log2(0.5/0.005), 2},
		// an empty slate distribution: q̃ = α p, KL = log2(1/α).
		{"empty slate", []catWeight{{0, 1}}, []float64{0, 0}, math.Log2(100), 1},
		{"empty history", nil, []float64{1, 0}, math.NaN(), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var qTotal float64
			for _, x := range tt.q {
				qTotal += x
			}
			if got := calibrationKL(tt.p, tt.pTotal, tt.q, qTotal); !approx(got, tt.want) {
				t.Errorf("KL = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEntropyAndTopShare(t *testing.T) {
	tests := []struct {
		name      string
		ws        []catWeight
		entropy   float64
		topShares float64
	}{
		// one category: H = −1·log2 1 = 0, top share 1.
		{"single", []catWeight{{3, 2}}, 0, 1},
		// uniform over 4: H = log2 4 = 2, top 1/4.
		{"uniform 4", []catWeight{{0, 1}, {1, 1}, {2, 1}, {3, 1}}, 2, 0.25},
		// (½, ¼, ¼): H = ½·1 + ¼·2 + ¼·2 = 1.5, top ½.
		{"skewed", []catWeight{{0, 2}, {1, 1}, {2, 1}}, 1.5, 0.5},
		{"empty", nil, math.NaN(), math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, top := entropyAndTopShare(tt.ws)
			if !approx(h, tt.entropy) || !approx(top, tt.topShares) {
				t.Errorf("got H %v top %v, want %v %v", h, top, tt.entropy, tt.topShares)
			}
		})
	}
}

func TestAddSpread(t *testing.T) {
	// an item in two categories adds ½ to each; a second item in one of them adds 1.
	ws, w := addSpread(nil, []feature{{4, 1}, {1, 1}})
	ws, w2 := addSpread(ws, []feature{{4, 1}})
	want := []catWeight{{1, 0.5}, {4, 1.5}}
	if !slices.Equal(ws, want) || w != 1 || w2 != 1 {
		t.Errorf("got %v (%v, %v), want %v", ws, w, w2, want)
	}
	if _, w := addSpread(ws, nil); w != 0 {
		t.Errorf("an uncategorised item added %v", w)
	}
}

func TestEntropySlope(t *testing.T) {
	tests := []struct {
		name string
		pts  [][2]float64
		want float64
	}{
		// H = 2, 1.5, 1, 0.5 over t = 0..3: slope −0.5 exactly.
		{"falling line", [][2]float64{{0, 2}, {1, 1.5}, {2, 1}, {3, 0.5}}, -0.5},
		// (0,0), (1,2), (2,1): t̄ = 1, ȳ = 1, Σ(t−t̄)(y−ȳ) = (−1)(−1) + 0 + (1)(0) = 1,
		// Σ(t−t̄)² = 2 → slope 0.5.
		{"scatter", [][2]float64{{0, 0}, {1, 2}, {2, 1}}, 0.5},
		// rounds without consumption are skipped: t = 2, 5 only.
		{"gaps", [][2]float64{{2, 1}, {5, 0.4}}, -0.2},
		{"one point", [][2]float64{{3, 1}}, math.NaN()},
		{"same round twice", [][2]float64{{3, 1}, {3, 2}}, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l leastSquares
			for _, p := range tt.pts {
				l.add(p[0], p[1])
			}
			if got := l.slope(); !approx(got, tt.want) {
				t.Errorf("slope = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNearestRank(t *testing.T) {
	data := []float64{15, 20, 35, 40, 50}
	tests := []struct {
		p    float64
		want float64
	}{
		// rank ⌈p·5⌉: 0.05 → 1st, 0.3 → 2nd, 0.4 → 2nd, 0.5 → 3rd, 1 → 5th.
		{0.05, 15}, {0.3, 20}, {0.4, 20}, {0.5, 35}, {1, 50}, {0, 15},
	}
	for _, tt := range tests {
		if got := nearestRank(data, tt.p); got != tt.want {
			t.Errorf("p%v = %v, want %v", tt.p*100, got, tt.want)
		}
	}
	if !math.IsNaN(nearestRank(nil, 0.5)) {
		t.Error("empty data should give NaN")
	}
}

func TestLatencyPercentilesAcrossTheDenseLimit(t *testing.T) {
	var h latencyHist
	// 100 calls: 1..98 ms, then 70 s and 80 s (beyond the dense range).
	for ms := int64(1); ms <= 98; ms++ {
		h.add(ms * 1000)
	}
	h.add(70_000_000)
	h.add(80_000_000)
	h.add(-5) // a clock hiccup counts as 0
	// 101 values, sorted: 0, 1..98 ms, 70 s, 80 s.
	// p50 → rank ⌈50.5⌉ = 51 → 50 ms; p99 → ⌈99.99⌉ = 100 → 70 s; max 80 s.
	got := h.summary()
	want := Latency{P50: 50, P95: 95, P99: 70_000, Max: 80_000}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestJaccardFromCounts(t *testing.T) {
	tests := []struct {
		inter, a, b int
		want        float64
	}{
		{1, 2, 3, 0.25}, // {d,c} vs {a,c,b}: 1 / (2+3−1)
		{2, 2, 2, 1},    // identical sets
		{0, 1, 2, 0},    // disjoint
		{0, 0, 3, 0},    // one empty set: 0 / 3
		{0, 0, 0, math.NaN()},
	}
	for _, tt := range tests {
		if got := jaccardFromCounts(tt.inter, tt.a, tt.b); !approx(got, tt.want) {
			t.Errorf("J(%d, %d, %d) = %v, want %v", tt.inter, tt.a, tt.b, got, tt.want)
		}
	}
}

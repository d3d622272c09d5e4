package metrics

import (
	"math"
	"testing"

	"github.com/recloop/recloop/internal/rng"
)

func sameFloat(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= tol
}

func TestSignFlipPByHand(t *testing.T) {
	tests := []struct {
		name string
		d    []float64
		b    int
		want float64
	}{
		// Σd = 6; the 8 flipped sums are ±1±2±3 = 6, 4, 2, 0, 0, −2, −4, −6.
		// |S*| ≥ 6 for +6 and −6 only: p = 2/8.
		{"exact 1 2 3", []float64{1, 2, 3}, 8, 0.25},
		// Σd = 2; flipped sums 2, 0, 0, −2: p = 2/4.
		{"exact tie 1 1", []float64{1, 1}, 10000, 0.5},
		// Σd = 1; flipped sums ±1: both count, p = 2/2.
		{"exact single", []float64{1}, 2, 1},
		// Σd = 0: every flipped sum counts.
		{"exact zeros", []float64{0, 0, 0}, 8, 1},
		// 2⁴ = 16 > b = 15, so Monte Carlo: every |S*| = 0 ≥ 0, p = (1 + 15)/16.
		{"monte carlo zeros", []float64{0, 0, 0, 0}, 15, 1},
		// d = {0.1, 0.2, −0.3, 0.001}: the first three cancel, so mathematically
		// every flipped sum is ±0.001 plus one of 0, 0, ±0.2, ±0.4, ±0.6 and all
		// 16 reach |0.001|: p = 16/16. In floating point 0.1 + 0.2 − 0.3 is
		// 5.6e-17 and its flip −5.6e-17, so the tolerance keeps the ties.
		{"exact rounding tie", []float64{0.1, 0.2, -0.3, 0.001}, 16, 1},
		{"empty", nil, 100, math.NaN()},
		{"no resamples", []float64{1, 2}, 0, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SignFlipP(tt.d, tt.b, 1); !sameFloat(got, tt.want, 1e-12) {
				t.Errorf("SignFlipP(%v, %d) = %v, want %v", tt.d, tt.b, got, tt.want)
			}
		})
	}
}

// The Monte-Carlo p-value estimates the exact one: with B draws its standard
// error is √(p(1 − p)/B), and the check allows four of them.
func TestSignFlipMonteCarloAgreesWithExact(t *testing.T) {
	d := []float64{0.5, 1.2, -0.3, 0.8, 0.1, 1.5, -0.6, 0.9, 0.4, -0.2}
	exact := SignFlipP(d, 1<<len(d), 3)
	if exact <= 0.002 || exact >= 0.5 {
		t.Fatalf("exact p = %v, want a p-value that tests the agreement", exact)
	}
	flippers := map[string]func([]float64) func(*resampler) float64{"table": tableFlipper, "direct": directFlipper}
	for name, flipper := range flippers {
		for _, b := range []int{1<<len(d) - 1, 20000} {
			mc := monteCarloP(d, b, rng.Key(9, uint64(b)), flipper(d))
			se := math.Sqrt(exact * (1 - exact) / float64(b))
			if math.Abs(mc-exact) > 4*se+1/float64(b) {
				t.Errorf("%s, B = %d: Monte-Carlo p = %v, exact p = %v (se %.4f)", name, b, mc, exact, se)
			}
		}
	}
	// b = 2¹⁰ − 1 is below 2ⁿ, so the public function takes the Monte-Carlo path.
	if got, want := SignFlipP(d, 1<<len(d)-1, 5), signFlipMonteCarlo(d, 1<<len(d)-1, 5); got != want {
		t.Errorf("SignFlipP with b < 2ⁿ = %v, Monte-Carlo = %v", got, want)
	}
}

func TestHolmByHand(t *testing.T) {
	tests := []struct {
		name string
		p    []float64
		want []float64
	}{
		// sorted 0.01, 0.03, 0.04 with m = 3: 3·0.01 = 0.03, 2·0.03 = 0.06,
		// 1·0.04 = 0.04 raised to the running max 0.06; back in input order.
		{"step-down", []float64{0.01, 0.04, 0.03}, []float64{0.03, 0.06, 0.06}},
		// 2·0.5 = 1.0, 1·0.6 = 0.6 → max 1.0; 2·0.7 = 1.4 would be capped at 1.
		{"capped", []float64{0.6, 0.5}, []float64{1, 1}},
		{"capped above 1", []float64{0.7, 0.9}, []float64{1, 1}},
		// NaN does not count: m = 2, 2·0.01 = 0.02, 1·0.02 = 0.02.
		{"nan skipped", []float64{0.02, math.NaN(), 0.01}, []float64{0.02, math.NaN(), 0.02}},
		// ties: 3·0.01 = 0.03, 2·0.01 = 0.02 → 0.03, 1·0.2 = 0.2.
		{"ties", []float64{0.2, 0.01, 0.01}, []float64{0.2, 0.03, 0.03}},
		{"single", []float64{0.04}, []float64{0.04}},
		{"empty", nil, []float64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Holm(tt.p)
			if len(got) != len(tt.want) {
				t.Fatalf("Holm(%v) = %v, want %v", tt.p, got, tt.want)
			}
			for i := range got {
				if !sameFloat(got[i], tt.want[i], 1e-12) {
					t.Fatalf("Holm(%v) = %v, want %v", tt.p, got, tt.want)
				}
			}
		})
	}
}

func TestEffectSizeAndMDEByHand(t *testing.T) {
	tests := []struct {
		name    string
		d       []float64
		dz, mde float64
	}{
		// mean 2.5; squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5; sd = √(5/3)
		// = 1.2909944; d_z = 2.5 / 1.2909944 = 1.9364917;
		// MDE = 2.80 · 1.2909944 / √4 = 1.8073922.
		{"1 2 3 4", []float64{1, 2, 3, 4}, 1.9364917, 1.8073922},
		// mean −1; deviations ±1, squares sum 2; sd = √(2/1) = 1.4142136;
		// d_z = −0.7071068; MDE = 2.80 · 1.4142136 / √2 = 2.80.
		{"0 -2", []float64{0, -2}, -0.7071068, 2.80},
		// sd = 0: d_z would be +Inf; MDE = 0.
		{"constant", []float64{2, 2, 2}, math.NaN(), 0},
		{"single", []float64{1}, math.NaN(), math.NaN()},
		{"empty", nil, math.NaN(), math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EffectSizeDz(tt.d); !sameFloat(got, tt.dz, 1e-6) {
				t.Errorf("EffectSizeDz(%v) = %v, want %v", tt.d, got, tt.dz)
			}
			if got := MDE(tt.d); !sameFloat(got, tt.mde, 1e-6) {
				t.Errorf("MDE(%v) = %v, want %v", tt.d, got, tt.mde)
			}
		})
	}
}

func TestBootstrapCIEdges(t *testing.T) {
	tests := []struct {
		name   string
		ci     func() (lo, hi float64)
		wantLo float64
		wantHi float64
	}{
		{"paired empty", func() (float64, float64) { return PairedBootstrapCI(nil, 100, 1) }, math.NaN(), math.NaN()},
		{"paired no resamples", func() (float64, float64) { return PairedBootstrapCI([]float64{1, 2}, 0, 1) }, math.NaN(), math.NaN()},
		{"paired single", func() (float64, float64) { return PairedBootstrapCI([]float64{0.7}, 100, 1) }, 0.7, 0.7},
		{"paired constant", func() (float64, float64) { return PairedBootstrapCI([]float64{3, 3, 3}, 100, 1) }, 3, 3},
		{"unpaired empty x", func() (float64, float64) { return unpairedBootstrapCI(nil, []float64{1}, 100, 1) }, math.NaN(), math.NaN()},
		// one value per arm: every resample is 5 − 2 = 3.
		{"unpaired singles", func() (float64, float64) { return unpairedBootstrapCI([]float64{2}, []float64{5}, 100, 1) }, 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, hi := tt.ci()
			if !sameFloat(lo, tt.wantLo, 1e-12) || !sameFloat(hi, tt.wantHi, 1e-12) {
				t.Errorf("CI = [%v, %v], want [%v, %v]", lo, hi, tt.wantLo, tt.wantHi)
			}
		})
	}
}

// pairedSample draws n personas with effect sd personaSD, per-arm noise sd
// noiseSD and a true difference diff: a = u + e₁, b = u + diff + e₂.
func pairedSample(key uint64, n int, personaSD, noiseSD, diff float64) (a, b []float64) {
	a, b = make([]float64, n), make([]float64, n)
	for i := range n {
		u := personaSD * rng.Normal(rng.Key(key, uint64(i), 0))
		a[i] = u + noiseSD*rng.Normal(rng.Key(key, uint64(i), 1))
		b[i] = u + diff + noiseSD*rng.Normal(rng.Key(key, uint64(i), 2))
	}
	return a, b
}

func differences(a, b []float64) []float64 {
	d := make([]float64, len(a))
	for i := range a {
		d[i] = b[i] - a[i]
	}
	return d
}

// Over 400 seeded datasets of 50 pairs with true difference 0.3, a 95%
// interval should cover 0.3 about 380 times; the binomial sd is
// √(400 · 0.95 · 0.05) ≈ 4.4 datasets (1.1%), and the percentile bootstrap
// runs slightly narrow at n = 50, so the band is [0.91, 0.98].
func TestPairedBootstrapCoverage(t *testing.T) {
	if testing.Short() {
		t.Skip("simulation study")
	}
	const datasets, n, diff = 400, 50, 0.3
	covered := 0
	for k := range uint64(datasets) {
		a, b := pairedSample(rng.Key(11, k), n, 1, 1, diff)
		lo, hi := PairedBootstrapCI(differences(a, b), 2000, rng.Key(12, k))
		if lo <= diff && diff <= hi {
			covered++
		}
	}
	rate := float64(covered) / datasets
	t.Logf("coverage %d/%d = %.3f", covered, datasets, rate)
	if rate < 0.91 || rate > 0.98 {
		t.Errorf("paired CI covered the true difference in %.3f of datasets, want [0.91, 0.98]", rate)
	}
}

// With persona effects of sd 1 and noise of sd 0.1, d has sd 0.1·√2 ≈ 0.14
// while each arm has sd √1.01 ≈ 1, so the paired interval should be about
// 0.14 / √(2 · 1.01) ≈ 1/10 as wide as the unpaired one.
func TestPairingNarrowsTheInterval(t *testing.T) {
	a, b := pairedSample(21, 200, 1, 0.1, 0.3)
	plo, phi := PairedBootstrapCI(differences(a, b), 4000, 22)
	ulo, uhi := unpairedBootstrapCI(a, b, 4000, 22)
	if !(plo < 0.3 && 0.3 < phi) {
		t.Errorf("paired CI [%v, %v] misses 0.3", plo, phi)
	}
	if ratio := (phi - plo) / (uhi - ulo); !(ratio < 1.0/3) {
		t.Errorf("paired width %v / unpaired width %v = %v, want < 1/3", phi-plo, uhi-ulo, ratio)
	}
}

func TestStatsDeterministic(t *testing.T) {
	a, b := pairedSample(31, 300, 1, 1, 0.1)
	d := differences(a, b)
	type ci struct{ lo, hi float64 }
	run := func(key uint64) (ci, ci, float64) {
		plo, phi := PairedBootstrapCI(d, 500, key)
		ulo, uhi := unpairedBootstrapCI(a, b, 500, key)
		return ci{plo, phi}, ci{ulo, uhi}, SignFlipP(d, 500, key)
	}
	p1, u1, s1 := run(7)
	p2, u2, s2 := run(7)
	if p1 != p2 || u1 != u2 || s1 != s2 {
		t.Fatalf("same key, different results: %v %v %v vs %v %v %v", p1, u1, s1, p2, u2, s2)
	}
	p3, u3, s3 := run(8)
	if p1 == p3 || u1 == u3 || s1 == s3 {
		t.Errorf("different keys, identical results: %v %v %v", p3, u3, s3)
	}
}

func benchDifferences(n int) []float64 {
	d := make([]float64, n)
	for i := range d {
		d[i] = 0.02 + rng.Normal(rng.Key(41, uint64(i)))
	}
	return d
}

func BenchmarkPairedBootstrapCI(b *testing.B) {
	d := benchDifferences(10000)
	for b.Loop() {
		PairedBootstrapCI(d, 10000, 1)
	}
}

func BenchmarkSignFlipP(b *testing.B) {
	d := benchDifferences(10000)
	for b.Loop() {
		SignFlipP(d, 10000, 1)
	}
}

// BenchmarkSignFlipDirect times the table-free path used past flipTableMax
// values, at the same size for comparison.
func BenchmarkSignFlipDirect(b *testing.B) {
	d := benchDifferences(10000)
	for b.Loop() {
		monteCarloP(d, 10000, 1, directFlipper(d))
	}
}

// unpairedBootstrapCI is the 95% percentile CI of mean(y) − mean(x) from b
// resamples that draw x and y independently, ignoring any pairing: what
// the A/B statistics would give without common random numbers.
func unpairedBootstrapCI(x, y []float64, b int, key uint64) (lo, hi float64) {
	if len(x) == 0 || len(y) == 0 || b < 1 {
		return math.NaN(), math.NaN()
	}
	r := newResampler(key)
	stats := make([]float64, b)
	for k := range stats {
		mx := resampledMean(&r, x)
		stats[k] = resampledMean(&r, y) - mx
	}
	return percentileInterval(stats)
}

package metrics

import (
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/internal/rng"
	"github.com/recloop/recloop/trajectory"
)

func TestPrimitiveRecommenderMembership(t *testing.T) {
	// Popularity ranking of the tiny catalog: a (0), b (1), c (2), d (3).
	a := NewAggregator(tinyCatalog(t), Config{SerendipityTopN: 2})
	const ia, ib, ic, id = 0, 1, 2, 3
	tests := []struct {
		name       string
		hist       []int32
		item       int32
		unexpected bool
	}{
		{"empty history: PM = {a, b}, a expected", nil, ia, false},
		{"empty history: c unexpected", nil, ic, true},
		// H = {a}: PM = {b, c}.
		{"consumed a: c moves into PM", []int32{ia}, ic, false},
		{"consumed a: d still outside", []int32{ia}, id, true},
		{"a consumed item is never in PM", []int32{ia}, ia, true},
		// H = {d}: PM = {a, b}; d ranks below c, so c stays outside.
		{"consuming a less popular item changes nothing", []int32{id}, ic, true},
		// H = {a, b}: PM = {c, d}.
		{"consumed a and b: d in PM", []int32{ia, ib}, id, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := a.unexpected(tt.hist, tt.item); got != tt.unexpected {
				t.Errorf("unexpected = %v, want %v", got, tt.unexpected)
			}
		})
	}
}

// The sampled-pair path must count intersections exactly as the all-pairs
// path does, for the pairs it samples.
func TestSampledPairsMatchAllPairs(t *testing.T) {
	const personas, items = 6, 5
	all := planPairs(personas, Config{HomogenisationMaxPairs: 1}.WithDefaults())
	sampled := samplePairs(personas, 7, 99)
	if !all.all || sampled.all || len(sampled.pairs) != 7 {
		t.Fatalf("plans: all=%v sampled=%v (%d pairs)", all.all, sampled.all, len(sampled.pairs))
	}
	// (persona, item) consumption events, with a repeat ({1, 1} twice).
	consumption := [][2]int32{{0, 1}, {1, 1}, {2, 3}, {0, 3}, {3, 1}, {4, 0}, {5, 4}, {1, 3}, {1, 1}, {2, 1}, {0, 0}, {3, 3}}
	sets := make([][]int32, personas)
	hAll, hSampled := newHomogState(&all, items), newHomogState(&sampled, items)
	for _, c := range consumption {
		u, item := c[0], c[1]
		hAll.consume(&all, u, item)
		hSampled.consume(&sampled, u, item)
		sets[u], _ = insertSorted(sets[u], item)
	}
	jAll, jSampled := hAll.jaccards(&all), hSampled.jaccards(&sampled)
	for k, pp := range sampled.pairs {
		want := jAll[all.index(pp.a, pp.b)]
		// recompute from the sets directly
		inter := 0
		for _, x := range sets[pp.a] {
			if slices.Contains(sets[pp.b], x) {
				inter++
			}
		}
		byHand := jaccardFromCounts(inter, len(sets[pp.a]), len(sets[pp.b]))
		if !approx(jSampled[k], want) || !approx(want, byHand) {
			t.Errorf("pair %v: sampled %v, all %v, by hand %v", pp, jSampled[k], want, byHand)
		}
	}
	// Sampling is seeded: the same seed gives the same pairs, another seed others.
	if again := samplePairs(personas, 7, 99); !slices.Equal(again.pairs, sampled.pairs) {
		t.Error("sampling is not deterministic")
	}
	if other := samplePairs(personas, 7, 100); slices.Equal(other.pairs, sampled.pairs) {
		t.Error("the seed does not change the sample")
	}
	for _, pp := range sampled.pairs {
		if pp.a >= pp.b {
			t.Errorf("pair %v not ordered", pp)
		}
	}
}

func TestPairPlanSize(t *testing.T) {
	tests := []struct {
		personas, maxPairs int
		all                bool
		pairs              int
	}{
		{4, 1, true, 6},                  // ≤ 1000 personas: every pair regardless of the budget
		{1000, 10, true, 499500},         // the bound itself
		{1001, 20000, false, 20000},      // above it: the seeded sample
		{1500, 2_000_000, true, 1124250}, // the budget covers all pairs
	}
	for _, tt := range tests {
		plan := planPairs(tt.personas, Config{HomogenisationMaxPairs: tt.maxPairs})
		if plan.all != tt.all || len(plan.pairs) != tt.pairs {
			t.Errorf("%d personas, budget %d: all=%v pairs=%d, want %v %d", tt.personas, tt.maxPairs, plan.all, len(plan.pairs), tt.all, tt.pairs)
		}
	}
}

func TestMeanCI(t *testing.T) {
	vals := []float64{0.1, 0.4, 0.35, 0.8, 0.05, 0.6, 0.2, 0.9, 0.3, 0.45}
	// mean = 4.15 / 10
	got := meanCI("m", 11, vals, 1000)
	if !approx(float64(got.Value), 0.415) || got.N != 10 {
		t.Fatalf("value %v n %d", got.Value, got.N)
	}
	if !(got.CILow < got.Value && got.Value < got.CIHigh) {
		t.Errorf("CI [%v, %v] does not contain %v", got.CILow, got.CIHigh, got.Value)
	}
	// The standard error is sd/√n ≈ 0.2727/√10 ≈ 0.086, so a 95% interval
	// is roughly ±0.17: it must be neither degenerate nor wider than the data.
	if w := float64(got.CIHigh - got.CILow); w < 0.2 || w > 0.5 {
		t.Errorf("CI width %v outside [0.2, 0.5]", w)
	}
	if again := meanCI("m", 11, vals, 1000); again != got {
		t.Errorf("not deterministic: %+v vs %+v", again, got)
	}
	if other := meanCI("m", 12, vals, 1000); other.CILow == got.CILow && other.CIHigh == got.CIHigh {
		t.Error("another key gave the same interval")
	}
	if one := meanCI("m", 1, []float64{3}, 100); one.Value != 3 || one.CILow != 3 || one.CIHigh != 3 {
		t.Errorf("one value: %+v", one)
	}
	if none := meanCI("m", 1, nil, 100); none.Value.Defined() || none.N != 0 {
		t.Errorf("no values: %+v", none)
	}
}

func TestBootstrapKeysDiffer(t *testing.T) {
	k := bootstrapKey(1, "A", CTR, "")
	for _, other := range []uint64{
		bootstrapKey(2, "A", CTR, ""), bootstrapKey(1, "B", CTR, ""),
		bootstrapKey(1, "A", Acceptance, ""), bootstrapKey(1, "A", CTR, SegmentCold),
	} {
		if other == k {
			t.Error("a seed, variant, metric or segment change kept the key")
		}
	}
}

func TestResamplerIsUniform(t *testing.T) {
	// 30,000 intn draws over 6 values: each count should be near 5,000; a
	// deviation of 400 is over 6 standard deviations (σ = √(30000·⅙·⅚) ≈ 65).
	r := newResampler(3)
	counts := make([]int, 6)
	vals := []float64{0, 1, 2, 3, 4, 5}
	sum := 0.0
	for range 10000 {
		for range 3 {
			counts[r.intn(6)]++
		}
		sum += resampledMean(&r, vals) * 6
	}
	for v, c := range counts {
		if math.Abs(float64(c)-5000) > 400 {
			t.Errorf("value %d drawn %d times of 30000", v, c)
		}
	}
	// resampledMean: 10,000 × 6 draws with mean 2.5 → total ≈ 150,000.
	if math.Abs(sum-150000) > 1500 {
		t.Errorf("resampled sum %v, want ≈ 150000", sum)
	}
}

func TestGlobalCI(t *testing.T) {
	// Resamples biased low by 0.1: the interval is shifted back up.
	stats := make([]float64, 100)
	for k := range stats {
		stats[k] = 0.4 + float64(k)/1000 // 0.400 … 0.499, mean 0.4495
	}
	got := globalCI(Coverage, 0.55, 5, stats)
	// shift = 0.55 − 0.4495 = 0.1005; nearest-rank 2.5% → 3rd = 0.402,
	// 97.5% → 98th = 0.497; shifted: 0.5025, 0.5975.
	if !approx(float64(got.CILow), 0.5025) || !approx(float64(got.CIHigh), 0.5975) || got.N != 5 {
		t.Errorf("got %+v", got)
	}
	// clipped to [0, 1]
	if hi := globalCI(Gini, 0.99, 1, []float64{0.9, 1.0, 0.95}); hi.CIHigh != 1 {
		t.Errorf("not clipped: %+v", hi)
	}
	if none := globalCI(Gini, 0.3, 1, nil); none.CILow != 0.3 || none.CIHigh != 0.3 {
		t.Errorf("no resamples: %+v", none)
	}
}

func TestCohortRatioCI(t *testing.T) {
	cold := []float64{0.1, 0.2, 0.3}
	warm := []float64{0.4, 0.4, 0.4, 0.4}
	// mean 0.2 / 0.4 = 0.5; warm never varies, so the interval is cold's
	// interval over 0.4, inside [0.1/0.4, 0.3/0.4].
	got := cohortRatioCI(ColdCTRRatio, 5, cold, warm, 500)
	if !approx(float64(got.Value), 0.5) || got.N != 7 {
		t.Fatalf("got %+v", got)
	}
	if got.CILow < 0.25 || got.CIHigh > 0.75 || !(got.CILow < 0.5 && 0.5 < got.CIHigh) {
		t.Errorf("interval [%v, %v]", got.CILow, got.CIHigh)
	}
	if zero := cohortRatioCI(ColdCTRRatio, 5, cold, []float64{0, 0}, 10); zero.Value.Defined() {
		t.Errorf("a zero warm mean must leave the ratio undefined: %+v", zero)
	}
}

func TestConfigDefaults(t *testing.T) {
	got := Config{Seed: 3}.WithDefaults()
	want := Config{ColdMaxHistory: 5, SerendipityTopN: 50, Bootstrap: 1000, Seed: 3, HomogenisationMaxPairs: 20000}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if keep := (Config{ColdMaxHistory: -1, Bootstrap: 7}).WithDefaults(); keep.ColdMaxHistory != -1 || keep.Bootstrap != 7 {
		t.Errorf("set fields were replaced: %+v", keep)
	}
}

// ild's vector-sum identity must agree with the pairwise definition
// 2/(k(k−1)) Σ_{a<b} catalog.Distance on feature catalogs, and embedding
// catalogs must use Distance directly.
func TestILDMatchesPairwiseDistance(t *testing.T) {
	emb, err := catalog.New([]catalog.Item{
		{ID: "a", Categories: []string{"x"}, Embedding: []float32{1, 0}},
		{ID: "b", Categories: []string{"x"}, Embedding: []float32{0, 1}},
		{ID: "c", Categories: []string{"y"}, Embedding: []float32{1, 1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		cat  *catalog.Catalog
	}{{"features", syntheticCatalog(t, 500)}, {"embeddings", emb}}
	for _, tc := range cases {
		cat := tc.cat
		t.Run(tc.name, func(t *testing.T) {
			a := NewAggregator(cat, Config{})
			for trial := range 200 {
				k := 2 + trial%9
				items := make([]int32, k)
				for s := range items {
					items[s] = int32(rng.Mix(uint64(trial*16+s)) % uint64(cat.Len()))
				}
				var sum float64
				for x := 1; x < k; x++ {
					for y := range x {
						sum += cat.Distance(int(items[x]), int(items[y]))
					}
				}
				want := 2 * sum / float64(k*(k-1))
				if got := slateILD(a, items); math.Abs(got-want) > 1e-12 {
					t.Fatalf("slate %v: ild %v, pairwise %v", items, got, want)
				}
			}
		})
	}
	// By hand on the embeddings: cos(a,b) = 0, cos(a,c) = cos(b,c) = 1/√2.
	// ILD([a,b,c]) = (1 + 2·(1 − 1/√2)) / 3.
	a := NewAggregator(emb, Config{})
	if got, want := slateILD(a, []int32{0, 1, 2}), (1+2*(1-1/math.Sqrt2))/3; math.Abs(got-want) > 1e-12 {
		t.Errorf("ild = %v, want %v", got, want)
	}
}

func TestColdCohort(t *testing.T) {
	cat := tinyCatalog(t)
	tests := []struct {
		name    string
		maxHist int
		history []string
		join    int
		cold    bool
	}{
		{"default 5: five items is cold", 0, []string{"a", "b", "c", "d", "a"}, 0, true},
		{"default 5: six items is warm", 0, []string{"a", "b", "c", "d", "a", "b"}, 0, false},
		{"late joiner is cold whatever its history", 0, []string{"a", "b", "c", "d", "a", "b"}, 2, true},
		{"negative threshold: empty history is cold", -1, nil, 0, true},
		{"negative threshold: one item is warm", -1, []string{"a"}, 0, false},
		{"threshold 1: unknown ids count toward the length", 1, []string{"a", "zz"}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewAggregator(cat, Config{ColdMaxHistory: tt.maxHist})
			p := a.personas[a.addPersona("p", &trajectory.Profile{History: tt.history, JoinRound: tt.join})]
			if p.cold != tt.cold {
				t.Errorf("cold = %v, want %v", p.cold, tt.cold)
			}
		})
	}
}

func TestReplicatesAreAveragedWithinAPersonaBeforePairing(t *testing.T) {
	a := NewAggregator(tinyCatalog(t), Config{})
	for _, ev := range []trajectory.Event{
		personaEvent("p1", trajectory.Profile{}),
		personaEvent("p1~r1", trajectory.Profile{ReplicateOf: "p1"}),
		personaEvent("p2", trajectory.Profile{}),
		personaEvent("p1~r2", trajectory.Profile{ReplicateOf: "p1"}),
	} {
		if err := a.Write(&ev); err != nil {
			t.Fatal(err)
		}
	}
	nan := math.NaN()
	//            p1   p1~r1 p2   p1~r2
	base := []float64{0.2, 0.4, 0.1, 0.6}
	cand := []float64{0.5, nan, 0.4, 0.7}
	// p1: candidate (0.5 + 0.7)/2 = 0.6, baseline (0.2 + 0.4 + 0.6)/3 = 0.4,
	// d = 0.2; p2: 0.4 − 0.1 = 0.3. Four rows, two personas.
	got := a.pairedDifferences(base, cand, []int32{0, 1, 2, 3})
	want := []float64{0.2, 0.3}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	// Within a segment holding only p2 and one replicate of p1.
	got = a.pairedDifferences(base, cand, []int32{1, 2})
	if len(got) != 1 || math.Abs(got[0]-0.3) > 1e-12 {
		t.Fatalf("segment: got %v, want [0.3] (p1~r1 has no candidate value)", got)
	}
}

// slateILD is ILD(R) of one slate, added and finished the way step does it.
func slateILD(a *Aggregator, items []int32) float64 {
	for _, i := range items {
		a.ildAdd(i)
	}
	return a.ildFinish(items)
}

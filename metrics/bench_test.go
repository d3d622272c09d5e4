package metrics

import (
	"fmt"
	"testing"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/internal/rng"
	"github.com/recloop/recloop/trajectory"
)

// syntheticCatalog builds n items over the synthetic vocabulary: one or two
// categories, two or three tags, a long-tailed popularity and 5% new items.
func syntheticCatalog(tb testing.TB, n int) *catalog.Catalog {
	tb.Helper()
	cats := catalog.SyntheticCategories
	items := make([]catalog.Item, n)
	for i := range items {
		key := rng.Key(7, uint64(i))
		c1 := cats[i%len(cats)]
		c2 := cats[int(rng.Mix(key)%uint64(len(cats)))]
		tags := catalog.SyntheticTags[c1]
		items[i] = catalog.Item{
			ID:         fmt.Sprintf("item-%05d", i),
			Categories: []string{c1, c2},
			Tags:       []string{tags[int(rng.Mix(key+1)%6)], tags[int(rng.Mix(key+2)%6)]},
			Popularity: 1 / float64(1+i%997),
		}
		if i%20 == 0 {
			items[i].ReleaseRound = 1 + i%10
		}
	}
	cat, err := catalog.New(items)
	if err != nil {
		tb.Fatal(err)
	}
	return cat
}

// syntheticRun streams a whole run into sink the way the simulator does:
// one reused event and slate buffer. Clicks happen with probability ~0.12
// and half of the clicks are rated 4 or 5.
func syntheticRun(tb testing.TB, cat *catalog.Catalog, sink trajectory.Sink, personas, rounds, k int) {
	tb.Helper()
	ids := make([]string, personas)
	for p := range ids {
		ids[p] = fmt.Sprintf("p%05d", p)
	}
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(sink.Write(&trajectory.Event{V: 1, Kind: trajectory.KindRun, Run: &trajectory.RunInfo{
		Scenario: "bench", Seed: 1, Rounds: rounds, SlateSize: k, Personas: personas, Items: cat.Len(),
		Variants: []trajectory.VariantInfo{{Name: "A", Recommender: "itemknn"}},
	}}))
	cats := catalog.SyntheticCategories
	for p, id := range ids {
		hist := make([]string, 3+p%10)
		for h := range hist {
			hist[h] = cat.Item(int(rng.Mix(uint64(p*31+h)) % uint64(cat.Len()))).ID
		}
		must(sink.Write(&trajectory.Event{V: 1, Kind: trajectory.KindPersona, Persona: id, Profile: &trajectory.Profile{
			Segments:        []string{[]string{"casual", "power"}[p%2]},
			JoinRound:       p % 7 / 6 * 3,
			History:         hist,
			Interests:       catalog.Taste{Categories: map[string]float64{cats[p%len(cats)]: 1}},
			LatentInterests: catalog.Taste{Categories: map[string]float64{cats[(p+5)%len(cats)]: 1}},
		}}))
	}
	ev := trajectory.Event{V: 1, Kind: trajectory.KindStep, Variant: "A", Step: &trajectory.Step{Slate: make([]trajectory.Shown, k)}}
	for r := range rounds {
		for p, id := range ids {
			ev.Round, ev.Persona = r, id
			st := ev.Step
			st.Utility, st.WallLatencyUS = 0, int64(200+p%500)
			for s := range st.Slate {
				key := rng.Key(uint64(r), uint64(p), uint64(s))
				u := rng.Mix(key)
				st.Slate[s] = trajectory.Shown{Item: cat.Item(int(u % uint64(cat.Len()))).ID, Examined: true}
				if u>>40%100 < 12 {
					st.Slate[s].Clicked = true
					st.Slate[s].Rating = float64(1 + u>>20%5)
					st.Utility = 0.5
				}
			}
			must(sink.Write(&ev))
		}
	}
	for _, id := range ids {
		must(sink.Write(&trajectory.Event{V: 1, Kind: trajectory.KindPersonaEnd, Variant: "A", Persona: id,
			PersonaEnd: &trajectory.PersonaEnd{TasteDrift: 0.1, ExitRound: -1, SlatesViewed: rounds}}))
	}
	must(sink.Write(&trajectory.Event{V: 1, Kind: trajectory.KindRunEnd, RunEnd: &trajectory.RunEnd{}}))
}

// BenchmarkAggregate feeds 10,000 personas × 30 rounds × slate 10 = 3M
// impressions (one variant) and computes the results with B = 1000.
func BenchmarkAggregate(b *testing.B) {
	cat := syntheticCatalog(b, 10000)
	b.ReportAllocs()
	for b.Loop() {
		agg := NewAggregator(cat, Config{Seed: 1})
		syntheticRun(b, cat, agg, 10000, 30, 10)
		res := agg.Results()
		if len(res.Variants) != 1 {
			b.Fatal("no variant")
		}
	}
}

// BenchmarkResampledMean is the bootstrap's inner loop: one resample of
// 10,000 per-persona values.
func BenchmarkResampledMean(b *testing.B) {
	vals := make([]float64, 10000)
	for i := range vals {
		vals[i] = float64(i % 7)
	}
	r := newResampler(1)
	for b.Loop() {
		resampledMean(&r, vals)
	}
}

// BenchmarkResults is Results alone (bootstrap included) over the same
// 3M-impression run.
func BenchmarkResults(b *testing.B) {
	cat := syntheticCatalog(b, 10000)
	agg := NewAggregator(cat, Config{Seed: 1})
	syntheticRun(b, cat, agg, 10000, 30, 10)
	for b.Loop() {
		agg.Results()
	}
}

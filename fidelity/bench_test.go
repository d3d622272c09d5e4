package fidelity

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/internal/rng"
	"github.com/recloop/recloop/personas"
)

// movieLensSized is a synthetic log the size of MovieLens 100k: 943 users,
// 1682 items over 19 genres, about 100,000 ratings. Each user has two or
// three favourite genres, a rating bias and a skewed number of ratings
// (20 to 700, mean ≈ 126 drawn, ≈ 106 after repeats); 70% of a user's items come from its
// favourite genres, and ratings are 3 + 1.2 (favourite) − 0.6 + bias + noise,
// rounded into 1–5.
func movieLensSized(tb testing.TB) (*catalog.Catalog, []catalog.Interaction) {
	tb.Helper()
	cat, err := catalog.Synthetic(catalog.SyntheticConfig{Items: 1682, Categories: 19, Tags: 60, Seed: 100})
	if err != nil {
		tb.Fatal(err)
	}
	byCat := make([][]int, len(cat.Categories()))
	for i := range cat.Len() {
		for _, c := range cat.ItemCategories(i) {
			byCat[c] = append(byCat[c], i)
		}
	}
	r := rng.New(rng.Key(100, rng.PurposeSample))
	var log []catalog.Interaction
	for u := range 943 {
		favs := map[int32]bool{}
		for len(favs) < 2+r.IntN(2) {
			favs[int32(r.IntN(len(byCat)))] = true
		}
		favList := make([]int32, 0, len(favs))
		for c := range 19 {
			if favs[int32(c)] && len(byCat[c]) > 0 {
				favList = append(favList, int32(c))
			}
		}
		bias := 0.5 * r.NormFloat64()
		n := min(700, 20+int(106*r.ExpFloat64()))
		seen := map[int]bool{}
		user := fmt.Sprintf("%d", u+1)
		for k := 0; k < n; k++ {
			var idx int
			if r.Float64() < 0.7 && len(favList) > 0 {
				list := byCat[favList[r.IntN(len(favList))]]
				idx = list[r.IntN(len(list))]
			} else {
				idx = r.IntN(cat.Len())
			}
			if seen[idx] {
				continue
			}
			seen[idx] = true
			match := 0.0
			for _, c := range cat.ItemCategories(idx) {
				if favs[c] {
					match = 1
				}
			}
			rating := min(5, max(1, math.Round(3+1.2*match-0.6+bias+0.8*r.NormFloat64())))
			log = append(log, catalog.Interaction{User: user, Item: cat.Item(idx).ID, Rating: rating, Timestamp: int64(k)})
		}
	}
	sortLog(log)
	return cat, log
}

func BenchmarkDerive100K(b *testing.B) {
	cat, log := movieLensSized(b)
	b.ReportMetric(float64(len(log)), "ratings")
	b.ResetTimer()
	for b.Loop() {
		if _, err := Derive(cat, log, DeriveOptions{Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvaluate100K(b *testing.B) {
	cat, log := movieLensSized(b)
	ds, err := Derive(cat, log, DeriveOptions{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	beh := utility(b, ds.Catalog, nil)
	b.ResetTimer()
	for b.Loop() {
		rep, err := Evaluate(context.Background(), ds, beh, personas.UtilityName, nil, Options{Seed: 2})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(rep.Samplers[0].Ratios[0].Scorers[0].AUC), "auc1:1")
	}
}

func BenchmarkFit100K(b *testing.B) {
	cat, log := movieLensSized(b)
	ds, err := Derive(cat, log, DeriveOptions{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		_, _, rep, err := Fit(context.Background(), ds, nil, Options{Seed: 2})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(rep.HeldOut[0].AUCFitted-rep.HeldOut[0].AUCDefault), "auc-gain1:1")
	}
}

// BenchmarkFidelityML100K times what recloop fidelity --movielens ml-100k
// --fit does, step by step, beside the cost of scoring the probes with the
// four baselines alone: the offline evaluation a team would run anyway.
func BenchmarkFidelityML100K(b *testing.B) {
	cat, log := ptMovieLens(b)
	ds, err := Derive(cat, log, DeriveOptions{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("derive", func(b *testing.B) {
		for b.Loop() {
			if _, err := Derive(cat, log, DeriveOptions{Seed: 1}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baselines", func(b *testing.B) {
		opt := Options{Seed: 1}.withDefaults()
		for b.Loop() {
			if _, err := scoreBaselines(ctx, ds, probeSets(ds, opt), opt); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("evaluate", func(b *testing.B) {
		beh, err := newUtilityModel(ds.Catalog, ds.Taste, utilityDefaults(), 1)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := Evaluate(ctx, ds, beh, personas.UtilityName, nil, Options{Seed: 1}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fit", func(b *testing.B) {
		for b.Loop() {
			if _, _, _, err := Fit(ctx, ds, nil, Options{Seed: 1}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

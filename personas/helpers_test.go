package personas

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/internal/rng"
)

// vocabCatalog builds an n-item catalog over the synthetic vocabulary: one or
// two categories per item, two to four tags mostly from those categories'
// lists, Zipf-like popularity.
func vocabCatalog(tb testing.TB, n int) *catalog.Catalog {
	tb.Helper()
	r := rng.New(rng.Key(42, rng.PurposeCatalog))
	cats := catalog.SyntheticCategories
	items := make([]catalog.Item, n)
	for i := range items {
		it := catalog.Item{ID: fmt.Sprintf("item-%05d", i), Popularity: 1 / math.Pow(float64(i+1), 0.8)}
		it.Categories = append(it.Categories, cats[r.IntN(len(cats))])
		if r.Float64() < 0.4 {
			it.Categories = append(it.Categories, cats[r.IntN(len(cats))])
		}
		for range 2 + r.IntN(3) {
			pool := catalog.SyntheticTags[it.Categories[r.IntN(len(it.Categories))]]
			if r.Float64() < 0.15 {
				pool = catalog.SyntheticTags[cats[r.IntN(len(cats))]]
			}
			if tag := pool[r.IntN(len(pool))]; !slices.Contains(it.Tags, tag) {
				it.Tags = append(it.Tags, tag)
			}
		}
		items[i] = it
	}
	cat, err := catalog.New(items)
	if err != nil {
		tb.Fatal(err)
	}
	return cat
}

// tinyCatalog is small enough to compute utilities by hand. Features, in
// catalog order: categories comedy(0) documentary(1) drama(2), tags
// slow-burn(3). Every item has the same popularity, so pop(i) = 1.
func tinyCatalog(tb testing.TB) *catalog.Catalog {
	tb.Helper()
	cat, err := catalog.New([]catalog.Item{
		{ID: "a", Categories: []string{"comedy"}, Popularity: 1},
		{ID: "b", Categories: []string{"documentary"}, Popularity: 1},
		{ID: "c", Categories: []string{"drama"}, Tags: []string{"slow-burn"}, Popularity: 1},
		{ID: "d", Categories: []string{"drama"}, Popularity: 1},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return cat
}

// tinyPersona likes comedy 0.6 and drama 0.8 (‖I‖ = 1) and, unknowingly,
// documentary 1.
func tinyPersona(id string) Persona {
	return Persona{
		ID:              id,
		Interests:       catalog.Taste{Categories: map[string]float64{"comedy": 0.6, "drama": 0.8}},
		LatentInterests: catalog.Taste{Categories: map[string]float64{"documentary": 1}},
		Traits:          Traits{Activity: 0.5, Conformity: 0.5, Curiosity: 0.5, Pickiness: 0.5, Mainstreamness: 0.5},
	}
}

func mustBuild(tb testing.TB, ps []Persona, cat *catalog.Catalog, seed uint64) []*State {
	tb.Helper()
	states, err := Build(ps, cat, seed)
	if err != nil {
		tb.Fatal(err)
	}
	return states
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

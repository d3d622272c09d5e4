package recommenders

import (
	"cmp"
	"math"
	"slices"
	"testing"

	"github.com/recloop/recloop/catalog"
)

// knnInteractions: u1 consumed a, b, c; u2 a, b; u3 b, d; u4 c, d.
// Consumers: n_a = 2, n_b = 3, n_c = 2, n_d = 2.
// Co-occurrences: co(a,b) = 2 (u1, u2), co(a,c) = 1, co(b,c) = 1,
// co(b,d) = 1, co(c,d) = 1, co(a,d) = 0.
// With shrinkage 0, sim = co/√(n·n):
//
//	sim(a,b) = 2/√6 = 0.816497   sim(a,c) = 1/√4 = 0.5
//	sim(b,c) = 1/√6 = 0.408248   sim(b,d) = 1/√6 = 0.408248
//	sim(c,d) = 1/√4 = 0.5
func knnInteractions() []catalog.Interaction {
	var log []catalog.Interaction
	for _, ui := range []struct{ user, items string }{{"u1", "abc"}, {"u2", "ab"}, {"u3", "bd"}, {"u4", "cd"}} {
		for ts, it := range ui.items {
			log = append(log, catalog.Interaction{User: ui.user, Item: string(it), Timestamp: int64(ts)})
		}
	}
	return log
}

func TestItemKNNHandComputed(t *testing.T) {
	cat := tinyCatalog(t)
	env := Env{Catalog: cat, Interactions: knnInteractions()}
	sqrt6 := math.Sqrt(6)
	runHandCases(t, "itemknn", env, []handCase{
		{
			// Neighbours of a: b 0.816497, c 0.5. The third slot is the
			// popularity filler, shifted by −1: d = 30/210 − 1.
			name: "one history item, filler below", params: map[string]any{"shrinkage": 0},
			req: Request{User: "x", K: 3, History: hist("a")},
			want: []want{
				{"b", 2 / sqrt6, "because you watched Alpha"},
				{"c", 0.5, "because you watched Alpha"},
				{"d", 30.0/210 - 1, "popular in drama (#2 of 2 by catalog popularity)"},
			},
		},
		{
			// b = sim(a,b) + sim(c,b) = 0.816497 + 0.408248 = 1.224745,
			// explained by a (the larger term); d = sim(c,d) = 0.5.
			name: "scores sum over history", params: map[string]any{"shrinkage": 0},
			req: Request{User: "x", K: 2, History: hist("a", "c")},
			want: []want{
				{"b", 3 / sqrt6, "because you watched Alpha"},
				{"d", 0.5, "because you watched Charlie"},
			},
		},
		{
			// sim(a,b) = 2/(√6 + 1) = 2/3.449490 = 0.579796;
			// sim(a,c) = 1/(2 + 1) = 0.333333.
			name: "shrinkage", params: map[string]any{"shrinkage": 1},
			req:  Request{User: "x", K: 2, History: hist("a")},
			want: []want{{"b", 2 / (sqrt6 + 1), ""}, {"c", 1.0 / 3, ""}},
		},
		{
			// Only c counts: its neighbours are a (in the history), d 0.5
			// and b 0.408248.
			name: "window keeps the latest items", params: map[string]any{"shrinkage": 0, "window": 1},
			req:  Request{User: "x", K: 2, History: hist("a", "c")},
			want: []want{{"d", 0.5, "because you watched Charlie"}, {"b", 1 / sqrt6, "because you watched Charlie"}},
		},
		{
			// a keeps only b; the rest is filler in popularity order.
			name: "neighbours cap", params: map[string]any{"shrinkage": 0, "neighbours": 1},
			req:  Request{User: "x", K: 3, History: hist("a")},
			want: []want{{"b", 2 / sqrt6, ""}, {"c", 40.0/210 - 1, ""}, {"d", 30.0/210 - 1, ""}},
		},
		{
			// No history: the popularity ranking, unshifted.
			name: "cold user", params: nil,
			req:  Request{User: "x", K: 2},
			want: []want{{"a", 60.0 / 210, "popular in sci-fi (#1 of 2 by catalog popularity)"}, {"b", 50.0 / 210, ""}},
		},
		{
			// f has no co-occurrences at all, so it is all filler.
			name: "history without neighbours", params: nil,
			req:  Request{User: "x", K: 2, History: hist("f")},
			want: []want{{"a", 60.0/210 - 1, ""}, {"b", 50.0/210 - 1, ""}},
		},
	})
}

func TestItemKNNLearnsFromObserve(t *testing.T) {
	cat := tinyCatalog(t)
	r := build(t, "itemknn", Env{Catalog: cat, Interactions: knnInteractions()}, map[string]any{"shrinkage": 0})
	ask := Request{User: "y", Round: 1, K: 1, History: hist("c")}
	// Neighbours of c: a 0.5 and d 0.5 tie; a wins on index.
	checkSlate(t, recommend(t, r, ask), []want{{"a", 0.5, "because you watched Charlie"}})

	// A click by a user the model has never met teaches nothing about
	// co-occurrence: z has no known history to pair d with.
	observe(t, r, clicked("z", 0, "d")...)
	checkSlate(t, recommend(t, r, ask), []want{{"a", 0.5, ""}})

	// x asks first, so the model learns x's history {c}; x then clicks d.
	// y's own requests taught the model y's history {c} as well, so
	// n_c = 4 (u1, u4, x, y) and n_d = 4 (u3, u4, z, x); co(c,d) = 2 (u4, x):
	// sim(c,d) = 2/√16 = 0.5 while sim(c,a) drops to 1/√8 = 0.353553.
	recommend(t, r, Request{User: "x", Round: 0, K: 1, History: hist("c")})
	observe(t, r, clicked("x", 0, "d")...)
	checkSlate(t, recommend(t, r, Request{User: "y", Round: 1, K: 2, History: hist("c")}), []want{
		{"d", 0.5, "because you watched Charlie"},
		{"a", 1 / math.Sqrt(8), "because you watched Charlie"},
	})

	if err := r.(Resetter).Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkSlate(t, recommend(t, r, ask), []want{{"a", 0.5, ""}})
}

func TestItemKNNNeighbourLists(t *testing.T) {
	cat := tinyCatalog(t)
	r := build(t, "itemknn", Env{Catalog: cat, Interactions: knnInteractions()}, map[string]any{"shrinkage": 0}).(*itemKNN)
	// Row b: a 0.816497, then c and d tie at 0.408248 and are ordered by index.
	want := []neighbour{{0, float32(2 / math.Sqrt(6))}, {2, float32(1 / math.Sqrt(6))}, {3, float32(1 / math.Sqrt(6))}}
	got := slices.Clone(r.model.nbrs[1])
	slices.SortFunc(got, func(x, y neighbour) int { return cmp.Or(cmp.Compare(y.sim, x.sim), cmp.Compare(x.item, y.item)) })
	if len(got) != len(want) {
		t.Fatalf("neighbours of b = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("neighbours of b = %v, want %v", got, want)
		}
	}
}

package recommenders

import (
	"math"
	"slices"
	"testing"
)

func TestContentHandComputed(t *testing.T) {
	cat := tinyCatalog(t)
	env := Env{Catalog: cat}
	rated := func(id string, rating float64) HistoryItem { return HistoryItem{Item: id, Round: -1, Rating: rating} }
	runHandCases(t, "content", env, []handCase{
		{
			// q = x_a = (sci-fi, space)/√2. cos with b and c is
			// (1/√2)(1/√2) = 0.5 each (b first on index); d and f share
			// nothing (0, by index); e is unreleased in round 0.
			name: "one history item", params: nil,
			req: Request{User: "u", K: 4, History: hist("a")},
			want: []want{
				{"b", 0.5, "matches your interest in sci-fi"},
				{"c", 0.5, "matches your interest in space"},
				{"d", 0, "something different for you: drama"},
				{"f", 0, "something different for you: comedy"},
			},
		},
		{
			// Decay 0.5: d (newest) weighs 1, a weighs 0.5.
			// h = x_d + 0.5·x_a: drama .7071, wedding .7071, sci-fi .3536, space .3536;
			// ‖h‖² = 0.5 + 0.5 + 0.125 + 0.125 = 1.25.
			// c: .7071·.7071 + .7071·.3536 = 0.5 + 0.25 = 0.75 → 0.75/√1.25 = 0.670820
			// b: .7071·.3536 = 0.25 → 0.25/√1.25 = 0.223607
			name: "recency", params: map[string]any{"recency_decay": 0.5},
			req: Request{User: "u", K: 2, History: hist("a", "d")},
			want: []want{
				{"c", 0.75 / math.Sqrt(1.25), "matches your interest in drama and space"},
				{"b", 0.25 / math.Sqrt(1.25), "matches your interest in sci-fi"},
			},
		},
		{
			// ρ(5) = (5 − 2.5)/2.5 = 1, ρ(1) = (1 − 2.5)/2.5 = −0.6, no decay.
			// h = x_a − 0.6·x_c: sci-fi .7071, space .7071 − .4243 = .2828, drama −.4243;
			// ‖h‖² = 0.5 + 0.08 + 0.18 = 0.76.
			// b: .7071·.7071 = 0.5 → 0.5/√0.76 = 0.573539
			// f: 0;  d: −.4243·.7071 = −0.3 → −0.3/√0.76 = −0.344124
			name: "ratings", params: map[string]any{"recency_decay": 1},
			req: Request{User: "u", K: 3, History: []HistoryItem{rated("a", 5), rated("c", 1)}},
			want: []want{
				{"b", 0.5 / math.Sqrt(0.76), "matches your interest in sci-fi"},
				{"f", 0, "something different for you: comedy"},
				{"d", -0.3 / math.Sqrt(0.76), "something different for you: drama"},
			},
		},
		{
			// Only the newest item (c) is in the window: q = x_c.
			name: "window", params: map[string]any{"window": 1},
			req:  Request{User: "u", K: 1, History: hist("a", "c")},
			want: []want{{"d", 0.5, "matches your interest in drama"}},
		},
		{
			// A search for "drama" adds 0.5 to drama: q = x_a + 0.5·e_drama =
			// sci-fi .7071, space .7071, drama .5; ‖q‖² = 0.5 + 0.5 + 0.25 = 1.25.
			// c: .7071·.7071 + .7071·.5 = 0.5 + 0.353553 = 0.853553 → /√1.25 = 0.763441
			// b: .7071·.7071 = 0.5 → 0.447214;  d: .7071·.5 = 0.353553 → 0.316228
			name: "search query", params: nil,
			req: Request{User: "u", K: 3, History: hist("a"), Context: map[string]string{"query": "drama"}},
			want: []want{
				{"c", (0.5 + 0.5/math.Sqrt2) / math.Sqrt(1.25), "matches your search for drama"},
				{"b", 0.5 / math.Sqrt(1.25), "matches your interest in sci-fi"},
				{"d", 0.5 / math.Sqrt2 / math.Sqrt(1.25), "matches your search for drama"},
			},
		},
		{
			// No history: the query alone, q = 0.5·e_comedy; f = (comedy, time-travel)/√2
			// scores 0.5·.7071/0.5 = 0.707107 (e, comedy only, is not released yet).
			name: "search without history", params: nil,
			req:  Request{User: "u", K: 1, Context: map[string]string{"query": "comedy"}},
			want: []want{{"f", 1 / math.Sqrt2, "matches your search for comedy"}},
		},
		{
			name: "a query naming nothing in the catalog changes nothing", params: map[string]any{"query_weight": 3},
			req:  Request{User: "u", K: 1, History: hist("a"), Context: map[string]string{"query": "westerns"}},
			want: []want{{"b", 0.5, "matches your interest in sci-fi"}},
		},
		{
			name: "cold user gets popularity", params: nil,
			req:  Request{User: "u", K: 2},
			want: []want{{"a", 60.0 / 210, ""}, {"b", 50.0 / 210, ""}},
		},
	})
}

func TestContentLearnsFromSkips(t *testing.T) {
	cat := tinyCatalog(t)
	r := build(t, "content", Env{Catalog: cat}, nil)
	req := Request{User: "u", Round: 1, K: 1, History: hist("a")}
	checkSlate(t, recommend(t, r, req), []want{{"b", 0.5, ""}})

	// u was shown b and passed it over: s = x_b, β = 0.15.
	// q = x_a − 0.15·x_b: sci-fi .7071 − .1061 = .6010, space .7071, time-travel −.1061;
	// ‖q‖² = 0.36125 + 0.5 + 0.01125 = 0.8725.
	// c: .7071·.7071 = 0.5 → 0.5/√0.8725 = 0.535288
	// b: .7071·.6010 − .7071·.1061 = 0.425 − 0.075 = 0.35 → 0.374701
	observe(t, r, Feedback{User: "u", Round: 0, Item: "b", Rank: 1})
	checkSlate(t, recommend(t, r, req), []want{{"c", 0.5 / math.Sqrt(0.8725), "matches your interest in space"}})
	// Another user's skips do not move u.
	other := req
	other.User = "v"
	checkSlate(t, recommend(t, r, other), []want{{"b", 0.5, ""}})

	if err := r.(Resetter).Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkSlate(t, recommend(t, r, req), []want{{"b", 0.5, ""}})

	// A click the user bounced off teaches what a skip does.
	observe(t, r, Feedback{User: "u", Round: 0, Item: "b", Rank: 1, Clicked: true, Bounced: true})
	checkSlate(t, recommend(t, r, req), []want{{"c", 0.5 / math.Sqrt(0.8725), "matches your interest in space"}})
}

// TestContentPruningIsExact compares the pruned ranking with scoring every
// item, for users whose profiles carry ratings and skips (negative weights).
func TestContentPruningIsExact(t *testing.T) {
	cat := mediumCatalog(t)
	r := build(t, "content", Env{Catalog: cat}, map[string]any{"skip_weight": 0.5}).(*content)
	w := newWorld(cat, 300, 12, 5)
	for u := range w.history {
		for j := range w.history[u] {
			w.history[u][j].Rating = float64(1 + (u+j)%5)
		}
	}
	slates, err := w.recommendAll(t.Context(), r, 0, 2, identity(len(w.users)))
	if err != nil {
		t.Fatal(err)
	}
	observe(t, r, w.feedback(0, slates, nil)...)
	for u := range w.users {
		req := w.request(u, 1)
		for _, k := range []int{1, 10, 400} {
			req.K = k
			s := r.pool.Get().(*scratch)
			s.loadHistory(cat, req.History)
			qn := r.buildProfile(s, req.User, -1)
			if qn == 0 {
				r.pool.Put(s)
				continue
			}
			r.rank(s, s.profile, qn, k, req.Round)
			got := slices.Clone(s.top.sorted())
			var all []candidate
			for i := range int32(cat.Len()) {
				if r.eligible(s, i, req.Round) {
					idx, val := r.features(i)
					var dot float64
					for j, f := range idx {
						dot += val[j] * s.profile[f]
					}
					all = append(all, candidate{score: dot / qn, item: i})
				}
			}
			r.pool.Put(s)
			slices.SortFunc(all, compareCandidates)
			if want := all[:min(k, len(all))]; !slices.Equal(got, want) {
				t.Fatalf("user %d, k %d: pruned ranking differs\n got %v\nwant %v", u, k, got, want)
			}
		}
	}
}

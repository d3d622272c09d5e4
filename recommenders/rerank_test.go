package recommenders

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
)

// fixedInner answers every request with the same ranked items, scored from
// the top down, whatever K asks for: a pool the test controls exactly.
type fixedInner struct {
	items  []string
	scores []float64
}

func (f fixedInner) Recommend(_ context.Context, req Request) (Slate, error) {
	var s Slate
	for j, it := range f.items[:min(len(f.items), req.K)] {
		s.Items = append(s.Items, Scored{Item: it, Score: f.scores[j], Explanation: "inner likes " + it})
	}
	return s, nil
}

func (fixedInner) Observe(context.Context, []Feedback) error { return nil }

func wrapTiny(t *testing.T, wrapper string, inner Recommender, raw map[string]any) Recommender {
	t.Helper()
	spec, _ := LookupWrapper(wrapper)
	params, errs := spec.Resolve(nil, "params", raw)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	_, factory, _ := wrappers.Factory(wrapper)
	r, err := factory(Env{Catalog: tinyCatalog(t), Seed: 1}, params, inner)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Similarities on the tiny catalog (cosine of the multi-hot features, each
// item with two features having 1/√2 on each): sim(a, b) = 0.5 (sci-fi),
// sim(a, c) = 0.5 (space), sim(b, f) = 0.5 (time-travel), sim(c, d) = 0.5
// (drama); a–d, a–f, b–c, b–d, c–f and d–f share nothing (0).
func TestMMRHandComputed(t *testing.T) {
	// rel = min-max of 4, 3, 2, 1: a = 1, b = 2/3, c = 1/3, d = 0.
	inner := fixedInner{items: []string{"a", "b", "c", "d"}, scores: []float64{4, 3, 2, 1}}
	req := Request{User: "u", Round: 0, K: 3}
	tests := []struct {
		name   string
		lambda float64
		want   []want
	}{
		// λ = 0 is the inner's order.
		{"lambda=0", 0, []want{{"a", 3, "inner likes a"}, {"b", 2, "inner likes b"}, {"c", 1, "inner likes c"}}},
		// λ = 0.5. Pick 1: 0.5·rel, a wins (0.5). maxSim: b 0.5, c 0.5, d 0.
		// Pick 2: b 0.5·2/3 − 0.5·0.5 = 0.0833, c 0.5·1/3 − 0.25 = −0.0833,
		// d 0 − 0 = 0: b. maxSim after b: c 0.5, d 0.
		// Pick 3: c −0.0833, d 0: d, raised from #4.
		{"lambda=0.5", 0.5, []want{{"a", 3, "inner likes a"}, {"b", 2, "inner likes b"},
			{"d", 1, "inner likes d; mmr: raised from #4 to #3 for variety (λ = 0.5)"}}},
		// λ = 0.8. Pick 2: b 0.2·2/3 − 0.8·0.5 = −0.267, c 0.2·1/3 − 0.4 =
		// −0.333, d 0: d. maxSim after d: b 0.5, c max(0.5, 0.5) = 0.5.
		// Pick 3: b −0.267 beats c −0.333.
		{"lambda=0.8", 0.8, []want{{"a", 3, "inner likes a"},
			{"d", 2, "inner likes d; mmr: raised from #4 to #2 for variety (λ = 0.8)"},
			{"b", 1, "inner likes b; mmr: lowered from #2 to #3 for variety (λ = 0.8)"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := wrapTiny(t, "mmr", inner, map[string]any{"lambda": tt.lambda})
			checkSlate(t, recommend(t, r, req), tt.want)
		})
	}
}

func TestCalibratedHandComputed(t *testing.T) {
	// History a (sci-fi), c (drama): p = {sci-fi ½, drama ½}. Pool b
	// (sci-fi) 3, f (comedy) 2, d (drama) 1: rel b = 1, f = ½, d = 0.
	inner := fixedInner{items: []string{"b", "f", "d"}, scores: []float64{3, 2, 1}}
	req := Request{User: "u", Round: 0, K: 2, History: hist("a", "c")}
	tests := []struct {
		name   string
		lambda float64
		want   []string
	}{
		{"lambda=0", 0, []string{"b", "f"}},
		// Slot 1, the slate {b}: q = {sci-fi 1}, q̃ = {sci-fi 0.995, drama
		// 0.005}, KL = ½·log2(0.5/0.995) + ½·log2(0.5/0.005) = 2.8255 bits;
		// {d} mirrors that; {f}: q̃ = 0.005 on both, KL = log2 100 = 6.6439.
		// λ = 0.1: b 0.9·1 − 0.1·2.8255 = 0.617 beats d −0.283, f −0.214.
		// Slot 2: {b, f}: q̃ = {sci-fi 0.5, drama 0.005}, KL = ½·log2 100 =
		// 3.3219, objective 0.9·1.5 − 0.33219 = 1.0178; {b, d}: KL 0,
		// objective 0.9·1 = 0.9. f wins.
		{"lambda=0.1", 0.1, []string{"b", "f"}},
		// λ = 0.5. Slot 1: b 0.5 − 1.4128 = −0.913, f 0.25 − 3.3219 = −3.07,
		// d 0 − 1.4128 = −1.413: b. Slot 2: f 0.75 − 1.661 = −0.911, d 0.5 −
		// 0 = 0.5: d.
		{"lambda=0.5", 0.5, []string{"b", "d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := wrapTiny(t, "calibrated", inner, map[string]any{"lambda": tt.lambda})
			got := recommend(t, r, req)
			checkContract(t, tinyCatalog(t), req, got)
			if !slices.Equal(ids(got), tt.want) {
				t.Errorf("got %v, want %v", ids(got), tt.want)
			}
		})
	}
	r := wrapTiny(t, "calibrated", inner, map[string]any{"lambda": 0.5})
	if why := recommend(t, r, req).Items[1].Explanation; why != "inner likes d; calibrated: raised from #3 to #2 to mirror the mix of genres you watch (λ = 0.5)" {
		t.Errorf("explanation %q", why)
	}
}

func TestCalibrationKLMatchesHand(t *testing.T) {
	c := &calibrated{reranker: &reranker{}}
	c.init(tinyCatalog(t))
	p := c.categoryDistribution([]int32{0, 2}) // a, c
	mass := make([]float64, len(p))
	for _, tt := range []struct {
		item int32
		want float64
	}{
		{1, 0.5*math.Log2(0.5/0.995) + 0.5*math.Log2(0.5/0.005)}, // b: 2.8255
		{5, math.Log2(100)}, // f: 6.6439
	} {
		if got := c.klAdding(p, mass, 0, tt.item); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("item %d: KL %v, want %v", tt.item, got, tt.want)
		}
	}
}

func TestExploreShare(t *testing.T) {
	const epsilon, users, rounds, k = 0.3, 200, 10, 10
	cat := mediumCatalog(t)
	inner := build(t, "popular", Env{Catalog: cat}, nil)
	spec, _ := LookupWrapper("explore")
	params, _ := spec.Resolve(nil, "", map[string]any{"epsilon": epsilon, "pool": 2})
	_, factory, _ := wrappers.Factory("explore")
	r, err := factory(Env{Catalog: cat, Seed: 9}, params, inner)
	if err != nil {
		t.Fatal(err)
	}
	explored, slots := 0, 0
	for u := range users {
		for round := range rounds {
			req := Request{User: "u" + string(rune('A'+u%26)) + strings.Repeat("x", u/26), Round: round, K: k}
			pool := map[string]bool{}
			for _, it := range recommend(t, inner, Request{User: req.User, Round: round, K: 2 * k}).Items {
				pool[it.Item] = true
			}
			got := recommend(t, r, req)
			checkContract(t, cat, req, got)
			for _, it := range got.Items {
				slots++
				if strings.Contains(it.Explanation, "explore:") {
					explored++
					if pool[it.Item] {
						t.Fatalf("explored %s is in the inner's pool", it.Item)
					}
				} else if !pool[it.Item] {
					t.Fatalf("%s is neither explored nor from the pool", it.Item)
				}
			}
		}
	}
	// 20,000 Bernoulli(0.3) slots: standard error √(0.3·0.7/20000) = 0.0032;
	// the tolerance is five of them.
	if share := float64(explored) / float64(slots); math.Abs(share-epsilon) > 0.016 {
		t.Errorf("explored share %.4f, want %.2f ± 0.016", share, epsilon)
	}
	if again := recommend(t, r, Request{User: "uA", Round: 3, K: k}); !slices.Equal(ids(again), ids(recommend(t, r, Request{User: "uA", Round: 3, K: k}))) {
		t.Error("the same user and round explored differently")
	}
}

// closingInner counts Close calls and answers with a fixed slate.
type closingInner struct {
	fixedInner
	closed *int
}

func (c closingInner) Close() error {
	*c.closed++
	return nil
}

func TestWrappersDropWhatTheContractForbidsAndForwardClose(t *testing.T) {
	// e is released in round 2, a is in the history, "zz" is unknown and b
	// comes twice: of the inner's items only b, d and f may reach the slate.
	closed := 0
	inner := closingInner{fixedInner{items: []string{"e", "a", "zz", "b", "b", "d", "f"}, scores: []float64{7, 6, 5, 4, 3, 2, 1}}, &closed}
	req := Request{User: "u", Round: 0, K: 5, History: hist("a")}
	for _, w := range []string{"mmr", "calibrated", "explore"} {
		t.Run(w, func(t *testing.T) {
			r := wrapTiny(t, w, inner, map[string]any{"pool": 2})
			got := recommend(t, r, req)
			checkContract(t, tinyCatalog(t), req, got)
			// The inner offered three usable items for a slate of four
			// eligible ones: c, which it never offered, fills the last slot
			// from the popularity prior.
			if last := got.Items[len(got.Items)-1]; w != "explore" && (last.Item != "c" || !strings.HasPrefix(last.Explanation, "popular in drama")) {
				t.Errorf("got %v", got.Items)
			}
			before := closed
			if err := r.(Closer).Close(); err != nil || closed != before+1 {
				t.Errorf("Close: %v, inner closed %d times", err, closed-before)
			}
		})
	}
}

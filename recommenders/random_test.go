package recommenders

import (
	"slices"
	"strconv"
	"testing"

	"github.com/recloop/recloop/catalog"
)

func TestRandomAvoidsShownItems(t *testing.T) {
	cat := tinyCatalog(t)
	r := build(t, "random", Env{Catalog: cat, Seed: 7}, nil)
	// Eligible in rounds 0 and 1 with a consumed: b, c, d, f.
	first := recommend(t, r, Request{User: "u", Round: 0, K: 2, History: hist("a")})
	checkContract(t, cat, Request{User: "u", Round: 0, K: 2, History: hist("a")}, first)
	for _, it := range first.Items {
		if it.Explanation != "random pick among 4 items you have not been shown" {
			t.Fatalf("explanation %q", it.Explanation)
		}
	}
	var fb []Feedback
	for rank, it := range first.Items {
		fb = append(fb, Feedback{User: "u", Round: 0, Item: it.Item, Rank: rank + 1})
	}
	observe(t, r, fb...)

	req := Request{User: "u", Round: 1, K: 3, History: hist("a")}
	second := recommend(t, r, req)
	checkContract(t, cat, req, second)
	rest := []string{"b", "c", "d", "f"}
	rest = slices.DeleteFunc(rest, func(id string) bool { return slices.Contains(ids(first), id) })
	fresh := ids(second)[:2]
	slices.Sort(fresh)
	if !slices.Equal(fresh, rest) {
		t.Fatalf("round 1 started with %v, want the unshown %v", ids(second), rest)
	}
	if !slices.Contains(ids(first), second.Items[2].Item) {
		t.Fatalf("third item %s should be topped up from the shown %v", second.Items[2].Item, ids(first))
	}
	if got := second.Items[2].Explanation; got != "random pick among 2 items shown to you before" {
		t.Fatalf("top-up explanation %q", got)
	}
	// Scores follow rank: 3/3, 2/3, 1/3.
	for rank, it := range second.Items {
		if want := float64(3-rank) / 3; it.Score != want {
			t.Fatalf("rank %d score %v, want %v", rank+1, it.Score, want)
		}
	}

	if err := r.(Resetter).Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	again := recommend(t, r, Request{User: "u", Round: 0, K: 2, History: hist("a")})
	if !slices.Equal(ids(again), ids(first)) {
		t.Fatalf("after Reset %v, want %v", ids(again), ids(first))
	}
}

func TestRandomWithoutMemoryIgnoresFeedback(t *testing.T) {
	cat := tinyCatalog(t)
	r := build(t, "random", Env{Catalog: cat, Seed: 7}, map[string]any{"avoid_shown": false})
	req := Request{User: "u", Round: 1, K: 2, History: hist("a")}
	before := recommend(t, r, req)
	observe(t, r, Feedback{User: "u", Round: 0, Item: before.Items[0].Item, Rank: 1})
	if after := recommend(t, r, req); !slices.Equal(ids(before), ids(after)) {
		t.Fatalf("slate moved from %v to %v", ids(before), ids(after))
	}
	if got := before.Items[0].Explanation; got != "random pick among 4 available items" {
		t.Fatalf("explanation %q", got)
	}
}

// TestRandomIsUniform draws many slates and checks every eligible item's
// count against its expectation. The draws are seeded, so the test is
// deterministic; the bounds are about six standard deviations wide.
func TestRandomIsUniform(t *testing.T) {
	tests := []struct {
		name     string
		newItems int // unreleased in round 0; many force the enumeration path
	}{
		{"rejection sampling", 0},
		{"enumeration", 950},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat, err := catalog.Synthetic(catalog.SyntheticConfig{Items: 1000, NewItems: tt.newItems, ReleaseFrom: 1, ReleaseTo: 5, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			r := build(t, "random", Env{Catalog: cat, Seed: 11}, nil)
			eligible := cat.Len() - tt.newItems
			const requests, k = 20000, 5
			counts := make([]int, cat.Len())
			firsts := make([]int, cat.Len())
			for u := range requests {
				req := Request{User: "u" + strconv.Itoa(u), Round: 0, K: k}
				s := recommend(t, r, req)
				if u < 200 {
					checkContract(t, cat, req, s)
				}
				for rank, it := range s.Items {
					i, _ := cat.Index(it.Item)
					counts[i]++
					if rank == 0 {
						firsts[i]++
					}
				}
			}
			mean := float64(requests*k) / float64(eligible)
			firstMean := float64(requests) / float64(eligible)
			for i, c := range counts {
				if cat.Item(i).ReleaseRound > 0 {
					if c != 0 {
						t.Fatalf("unreleased item %d drawn %d times", i, c)
					}
					continue
				}
				if d := float64(c) - mean; d*d > 36*mean {
					t.Fatalf("item %d drawn %d times, expected about %.0f", i, c, mean)
				}
				if d := float64(firsts[i]) - firstMean; d*d > 36*firstMean {
					t.Fatalf("item %d first %d times, expected about %.0f", i, firsts[i], firstMean)
				}
			}
		})
	}
}

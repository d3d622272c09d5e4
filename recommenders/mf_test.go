package recommenders

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/internal/rng"
)

// blockWorld is a planted rank-2 structure: items 0–19 form block A and
// 20–39 block B (with no categories or tags in common, so nothing but the
// interactions can tell them apart); users 0–29 consume only from A and
// 30–59 only from B, six items each.
func blockWorld(t *testing.T) (*catalog.Catalog, []catalog.Interaction) {
	t.Helper()
	items := make([]catalog.Item, 40)
	for i := range items {
		items[i] = catalog.Item{ID: fmt.Sprintf("i%02d", i), Categories: []string{"drama"}, Popularity: float64(100 - i)}
	}
	cat, err := catalog.New(items)
	if err != nil {
		t.Fatal(err)
	}
	var log []catalog.Interaction
	for u := range 60 {
		block := 0
		if u >= 30 {
			block = 20
		}
		seen := map[int]bool{}
		for j := 0; len(seen) < 6; j++ {
			i := block + int(rng.Uniform(rng.Key(7, uint64(u), uint64(j)))*20)
			if !seen[i] {
				seen[i] = true
				log = append(log, catalog.Interaction{User: fmt.Sprintf("u%d", u), Item: items[i].ID, Timestamp: int64(j)})
			}
		}
	}
	return cat, log
}

func TestMFRecoversBlocks(t *testing.T) {
	cat, log := blockWorld(t)
	r := build(t, "mf", Env{Catalog: cat, Interactions: log, Seed: 1}, map[string]any{"factors": 4, "iterations": 10})
	tests := []struct {
		name    string
		history []string
		block   string // the ids' tens digit range
	}{
		// A new user who watched three B items gets B items only, although
		// A's items are all more popular.
		{"block B", []string{"i25", "i31", "i38"}, "B"},
		{"block A", []string{"i02", "i11"}, "A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := Request{User: "new", K: 5, History: hist(tt.history...)}
			got := recommend(t, r, req)
			checkContract(t, cat, req, got)
			for _, it := range got.Items {
				inB := it.Item >= "i20"
				if inB != (tt.block == "B") {
					t.Errorf("%s recommended for a block-%s history: %v", it.Item, tt.block, ids(got))
				}
				if !strings.HasPrefix(it.Explanation, "because you watched i") {
					t.Errorf("explanation %q", it.Explanation)
				}
				name := strings.TrimPrefix(it.Explanation, "because you watched ")
				if !strings.Contains(strings.Join(tt.history, " "), name) {
					t.Errorf("explanation names %s, not in the history %v", name, tt.history)
				}
			}
		})
	}
}

func TestMFColdAndUntrainedFallBackToPopularity(t *testing.T) {
	cat, log := blockWorld(t)
	trained := build(t, "mf", Env{Catalog: cat, Interactions: log}, nil)
	untrained := build(t, "mf", Env{Catalog: cat}, nil)
	popular := build(t, "popular", Env{Catalog: cat}, nil)
	for _, tt := range []struct {
		name string
		r    Recommender
		req  Request
	}{
		{"cold user", trained, Request{User: "c", K: 3}},
		{"no training data", untrained, Request{User: "w", K: 3, History: hist("i05")}},
	} {
		got, want := recommend(t, tt.r, tt.req), recommend(t, popular, tt.req)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, want popular's %v", tt.name, got, want)
		}
	}
}

func TestMFRetrainsEveryN(t *testing.T) {
	cat, log := blockWorld(t)
	r := build(t, "mf", Env{Catalog: cat, Interactions: log}, map[string]any{"retrain_every": 3}).(*mf)
	first := r.model.Load()
	for round := range 3 {
		observe(t, r, clicked("u0", round, "i30")...)
		if changed := r.model.Load() != first; changed != (round == 2) {
			t.Fatalf("after round %d: model replaced = %v", round, changed)
		}
	}
	// The click went into the training data with the seed history.
	if got := len(r.rows[r.users["u0"]]); got != 7 {
		t.Errorf("u0 has %d training entries, want 6 + 1", got)
	}
}

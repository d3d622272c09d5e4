package recommenders

import (
	"slices"
	"testing"

	"github.com/recloop/recloop/internal/rng"
)

// TestTopKMatchesFullSort checks the heap against sorting everything, with
// many ties so the index tie-break matters.
func TestTopKMatchesFullSort(t *testing.T) {
	var top topK
	for trial := range 200 {
		n := int(rng.Uniform(rng.Key(1, uint64(trial))) * 60)
		k := int(rng.Uniform(rng.Key(2, uint64(trial))) * 15)
		all := make([]candidate, n)
		for i := range all {
			// Scores from {0, 0.25, 0.5, 0.75}: plenty of ties.
			all[i] = candidate{score: float64(int(rng.Uniform(rng.Key(3, uint64(trial), uint64(i)))*4)) / 4, item: int32(n - i)}
		}
		top.reset(k)
		for _, c := range all {
			top.push(c)
		}
		got := slices.Clone(top.sorted())
		slices.SortFunc(all, compareCandidates)
		if want := all[:min(k, n)]; !slices.Equal(got, want) {
			t.Fatalf("trial %d (n=%d, k=%d): got %v, want %v", trial, n, k, got, want)
		}
	}
}

func TestMarksSurviveGenerationWrap(t *testing.T) {
	m := newMarks(4)
	m.add(2)
	m.gen = ^uint32(0) // the next clear wraps to 0
	m.stamp[1] = 1     // a stale stamp that would collide after the wrap
	m.clear()
	for i := range int32(4) {
		if m.has(i) {
			t.Fatalf("item %d still marked after clear", i)
		}
	}
	m.add(3)
	if !m.has(3) || m.has(1) {
		t.Fatal("marks after wrap are wrong")
	}
}

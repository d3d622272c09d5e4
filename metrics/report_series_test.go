package metrics

import (
	"testing"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/trajectory"
)

func TestCategoryShare(t *testing.T) {
	// handStream's clicks by round and the categories of the items:
	//   round 0: d (y), a (x), c (y) → x 1/3, y 2/3
	//   round 1: c (y), b (x)        → x 1/2, y 1/2
	res := aggregate(t, tinyCatalog(t), handConfig, handStream())
	got := res.Variants[0].CategoryShare
	want := map[string][]float64{"x": {1.0 / 3, 0.5}, "y": {2.0 / 3, 0.5}}
	if len(got) != len(want) {
		t.Fatalf("CategoryShare = %v, want categories x and y", got)
	}
	for cat, series := range want {
		for r, w := range series {
			if g := float64(got[cat][r]); !approx(g, w) {
				t.Errorf("share of %s in round %d = %v, want %v", cat, r, g, w)
			}
		}
	}
}

func TestCategoryShareSpreadsItemsAndSkipsSilentRounds(t *testing.T) {
	cat, err := catalog.New([]catalog.Item{
		{ID: "e", Categories: []string{"x", "y"}},
		{ID: "f", Categories: []string{"y"}},
		{ID: "g", Categories: []string{"z"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	events := []trajectory.Event{
		runEvent(3, "A"),
		personaEvent("p1", trajectory.Profile{History: []string{"f"}}),
		// Round 0: e spreads 1/2 to x and 1/2 to y, f gives 1 to y:
		// x = 0.5 / 2 = 0.25, y = 1.5 / 2 = 0.75.
		stepEvent("A", 0, "p1", 0, clicked("e", 4), clicked("f", 4)),
		// Round 1: nothing clicked, so no share is defined.
		stepEvent("A", 1, "p1", 0, seen("e"), seen("g")),
		// Round 2: f only → y = 1.
		stepEvent("A", 2, "p1", 0, clicked("f", 3), seen("g")),
		runEndEvent(),
	}
	got := aggregate(t, cat, handConfig, events).Variants[0].CategoryShare
	if _, ok := got["z"]; ok {
		t.Error("a category nobody consumed is listed")
	}
	want := map[string][]float64{"x": {0.25, float64(nan()), 0}, "y": {0.75, float64(nan()), 1}}
	for c, series := range want {
		for r, w := range series {
			if g := float64(got[c][r]); !approx(g, w) {
				t.Errorf("share of %s in round %d = %v, want %v", c, r, g, w)
			}
		}
	}
}

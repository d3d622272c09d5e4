package personas

import (
	"math"
	"strings"
	"testing"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
)

// tinyPersona with history c and dislikes {drama: 1}: D = (0, 0, 1, 0),
// ‖D‖ = 1. TestUtilityByHand's figures then change only for items with
// drama in them (σ = ρ = 0, β_d = 1):
//
//	a (comedy): cos(x_a, D) = 0 → U = 0.9, rating 4 as before
//	d (drama):  cos(x_d, D) = 1 → U = 0.99393 − 1 = −0.00607;
//	            rating round(1.5 + 5·(0.8/√2 − 1)) = round(−0.672) → clamped to 1
//
// With the default σ = 0.15 and τ = 0.45 + 0.3·0.5 = 0.6:
//
//	P(click a | examined) = Φ((0.9 − 0.6)/0.15) = Φ(2) = 0.97725
//	P(click d | examined) = Φ((−0.00607 − 0.6)/0.15) = Φ(−4.0405) = 2.67e−5
func TestDislikesByHand(t *testing.T) {
	cat := tinyCatalog(t)
	p := tinyPersona("hand")
	p.History = []string{"c"}
	p.Dislikes = catalog.Taste{Categories: map[string]float64{"drama": 1}}
	st := mustBuild(t, []Persona{p}, cat, 1)[0]
	exact := newModel(t, cat, config.Params{"noise": 0.0, "rating_noise": 0.0})
	noisy := newModel(t, cat, config.Params{})
	tests := []struct {
		item    string
		utility float64
		rating  float64
		pClick  float64
	}{
		{"a", 0.9, 4, 0.97725},
		{"d", 0.8 + 0.15 + 0.15*(1-1/math.Sqrt2) - 1, 1, 2.67e-5},
	}
	for _, tc := range tests {
		idx, _ := cat.Index(tc.item)
		terms := exact.Terms(st, idx)
		if u := exact.utility(st, idx, 0, &terms); !near(u, tc.utility) {
			t.Errorf("U(%s) = %.5f, want %.5f", tc.item, u, tc.utility)
		}
		if r := exact.rating(st, idx, 0, &terms); r != tc.rating {
			t.Errorf("rating(%s) = %g, want %g", tc.item, r, tc.rating)
		}
		if r := exact.Rate(st, 0, idx); r != tc.rating {
			t.Errorf("Rate(%s) = %g, want %g", tc.item, r, tc.rating)
		}
		if pc := noisy.ClickProbability(st, idx); math.Abs(pc-tc.pClick) > 1e-5*max(1, tc.pClick*100) {
			t.Errorf("ClickProbability(%s) = %.6g, want %.6g", tc.item, pc, tc.pClick)
		}
		// σ = 0 makes the probability a step at τ.
		if pc, want := exact.ClickProbability(st, idx), tc.utility > 0.6; (pc == 1) != want {
			t.Errorf("exact ClickProbability(%s) = %g, want click=%v", tc.item, pc, want)
		}
		if got, want := exact.WouldClick(st, 0, idx), tc.utility > 0.6; got != want {
			t.Errorf("WouldClick(%s) = %v, want %v", tc.item, got, want)
		}
	}
}

// A persona without dislikes behaves exactly as before the field existed.
func TestNoDislikesChangesNothing(t *testing.T) {
	cat := tinyCatalog(t)
	p := tinyPersona("plain")
	withEmpty := tinyPersona("plain-2")
	withEmpty.Dislikes = catalog.Taste{Categories: map[string]float64{}}
	states := mustBuild(t, []Persona{p, withEmpty}, cat, 1)
	m := newModel(t, cat, config.Params{})
	for idx := range cat.Len() {
		if a, b := m.ClickProbability(states[0], idx), m.ClickProbability(states[1], idx); a != b {
			t.Errorf("item %d: %g vs %g", idx, a, b)
		}
	}
}

func TestDislikesAreValidated(t *testing.T) {
	yml := `personas:
  - id: x
    interests: {categories: {comedy: 1}}
    dislikes: {categories: {drama: -1, horrr: 1}}
`
	ps, errs := Parse("p.yaml", []byte(yml))
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "dislikes.categories.drama") {
		t.Fatalf("parse errors = %v, want one about dislikes.categories.drama", errs)
	}
	verrs := Validate(ps, tinyCatalog(t), 0)
	if len(verrs) != 1 || !strings.Contains(verrs[0].Error(), `unknown category "horrr"`) {
		t.Fatalf("validate errors = %v, want the unknown category", verrs)
	}
}

package personas

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/recloop/recloop/config"
)

// FuzzReadTasteModel feeds the taste model reader arbitrary files: it
// returns a model or an error, never panics, and a model it returns binds
// to a catalog with finite vectors of the declared length.
func FuzzReadTasteModel(f *testing.F) {
	f.Add([]byte(`{"version":1,"factors":2,"regularization":1,"alpha":2,"recency":3,"items":[{"id":"a","vector":[0.5,-1],"quality":0.2}]}`))
	f.Add([]byte(`{"version":1,"factors":0,"items":[]}`))
	f.Add([]byte(`{"version":1,"factors":1,"regularization":1,"alpha":1,"items":[{"id":"a","vector":[1e309]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "m.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := ReadTasteModel(path)
		if err != nil {
			return
		}
		for _, it := range m.Items {
			if len(it.Vector) != m.Factors {
				t.Fatalf("item %q has %d values, model %d", it.ID, len(it.Vector), m.Factors)
			}
			for _, x := range it.Vector {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					t.Fatalf("item %q has %g", it.ID, x)
				}
			}
		}
	})
}

// A persona's learned vector by hand: one factor, item vectors y_a = 1,
// y_b = 0.5 (y_c = 0), λ = 1, α = 1, no recency. With history [a]:
// (ΣY² + λ + α·y_a²) x = (1 + α)·y_a, i.e. (1.25 + 1 + 1) x = 2, x = 8/13;
// its score for b is 0.5·8/13 = 4/13. A persona without history scores 0.
// β_f = 1 and every other weight 0 make the utility that score alone.
func TestTasteScoreByHand(t *testing.T) {
	cat := tinyCatalog(t)
	model := &TasteModel{Version: TasteModelVersion, Factors: 1, Regularization: 1, Alpha: 1,
		Items: []TasteItem{{ID: "a", Vector: []float64{1}}, {ID: "b", Vector: []float64{0.5}, Quality: 0.3}}}
	params := config.Params{"weight_stated": 0.0, "weight_latent": 0.0, "weight_popularity": 0.0, "weight_novelty": 0.0,
		"weight_quality": 0.0, "weight_factors": 1.0, "noise": 0.0}
	spec, _ := LookupBehaviour(UtilityName)
	full := spec.Defaults()
	for k, v := range params {
		full[k] = v
	}
	b, err := NewBehaviour(UtilityName, BehaviourEnv{Catalog: cat, Taste: model}, full)
	if err != nil {
		t.Fatal(err)
	}
	p := tinyPersona("x")
	p.History = []string{"a"}
	cold := tinyPersona("y")
	states := mustBuild(t, []Persona{p, cold}, cat, 1)
	bIdx, _ := cat.Index("b")
	terms := b.(TermScorer).Terms(states[0], bIdx)
	if math.Abs(terms.Factors-4.0/13) > 1e-12 || terms.Quality != 0.3 {
		t.Errorf("terms %+v, want factors 4/13 and quality 0.3", terms)
	}
	if got := b.(TermScorer).Terms(states[1], bIdx); got.Factors != 0 {
		t.Errorf("a persona without history scores %g", got.Factors)
	}
	// The vector follows the history: after consuming b as well, the
	// vector is solved again, (3.25 + 0.25) x = 2 + 1, x = 6/7.
	states[0].record(bIdx, 0, 4)
	if got := b.(TermScorer).Terms(states[0], bIdx); math.Abs(got.Factors-0.5*6/7) > 1e-12 {
		t.Errorf("after consuming b: %g, want %g", got.Factors, 0.5*6/7)
	}
}

package fidelity

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/personas"
)

// The rating biases by hand. u1 and u2 both rate i1 5 and i2 3; u3 rates
// i3 and i4 5, u4 rates them 3, so μ = 32/8 = 4. From b_u = 0 the first
// sweep gives b_i1 = (1 + 1)/(2 + 10) = 1/6, b_i2 = −1/6, b_i3 = b_i4 =
// (1 − 1)/12 = 0; then b_u1 = ((1 − 1/6) + (−1 + 1/6))/(2 + 5) = 0, and
// b_u3 = (1 + 1)/7 = 2/7, b_u4 = −2/7. The next sweeps change nothing:
// b_i3 = ((1 − 2/7) + (−1 + 2/7))/12 = 0.
func TestRatingBiasesByHand(t *testing.T) {
	cat, err := catalog.New([]catalog.Item{{ID: "i1"}, {ID: "i2"}, {ID: "i3"}, {ID: "i4"}})
	if err != nil {
		t.Fatal(err)
	}
	log := []catalog.Interaction{
		row("u1", "i1", 5, 1), row("u1", "i2", 3, 2), row("u2", "i1", 5, 3), row("u2", "i2", 3, 4),
		row("u3", "i3", 5, 5), row("u3", "i4", 5, 6), row("u4", "i3", 3, 7), row("u4", "i4", 3, 8),
	}
	mu, quality, bias := ratingBiases(cat, log)
	if mu != 4 {
		t.Errorf("μ = %g, want 4", mu)
	}
	for i, want := range []float64{1.0 / 6, -1.0 / 6, 0, 0} {
		if math.Abs(quality[i]-want) > 1e-12 {
			t.Errorf("quality of i%d = %g, want %g", i+1, quality[i], want)
		}
	}
	for u, want := range map[string]float64{"u1": 0, "u2": 0, "u3": 2.0 / 7, "u4": -2.0 / 7} {
		if math.Abs(bias[u]-want) > 1e-12 {
			t.Errorf("bias of %s = %g, want %g", u, bias[u], want)
		}
	}
}

// A taste model written to its file and read back drives the utility
// model exactly as the one in memory, and training twice gives the same
// model.
func TestTasteModelRoundTrip(t *testing.T) {
	w := plantedWorld(t, 60, 200, 20, nil)
	ds, err := Derive(w.cat, w.log, DeriveOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	again, _, err := trainTaste(ds.Catalog, ds.SeedLog, ds.Options.Taste, ds.Options.Seed)
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	if err := ds.Taste.WriteJSON(&a); err != nil {
		t.Fatal(err)
	}
	if err := again.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("training the taste model twice gave two models")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "taste.json"), a.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	params := utilityDefaults()
	inMemory, err := personas.NewBehaviour(personas.UtilityName, personas.BehaviourEnv{Catalog: ds.Catalog, Taste: ds.Taste}, params)
	if err != nil {
		t.Fatal(err)
	}
	fromFile := config.Params{}
	for k, v := range params {
		fromFile[k] = v
	}
	fromFile["taste_model"] = "taste.json"
	onDisk, err := personas.NewBehaviour(personas.UtilityName, personas.BehaviourEnv{Catalog: ds.Catalog, Dir: dir}, fromFile)
	if err != nil {
		t.Fatal(err)
	}
	states, err := personas.Build(ds.Personas(), ds.Catalog, 1)
	if err != nil {
		t.Fatal(err)
	}
	var factors float64
	for u, st := range states[:10] {
		for i := range ds.Catalog.Len() {
			x := inMemory.(personas.TermScorer).Terms(st, i)
			y := onDisk.(personas.TermScorer).Terms(st, i)
			if x != y {
				t.Fatalf("persona %d item %d: %+v in memory, %+v from the file", u, i, x, y)
			}
			factors += math.Abs(x.Factors)
		}
	}
	if factors == 0 {
		t.Error("the taste model scores every item 0")
	}
}

// A taste model that does not fit the catalog is refused with a reason.
func TestTasteModelFileErrors(t *testing.T) {
	cat := handCatalog(t)
	dir := t.TempDir()
	for name, body := range map[string]string{
		"version":   `{"version": 2, "factors": 1, "regularization": 1, "alpha": 1, "items": [{"id": "a", "vector": [1]}]}`,
		"dimension": `{"version": 1, "factors": 2, "regularization": 1, "alpha": 1, "items": [{"id": "a", "vector": [1]}]}`,
		"unknown":   `{"version": 1, "factors": 1, "regularization": 1, "alpha": 1, "items": [{"id": "zz", "vector": [1]}]}`,
		"field":     `{"version": 1, "factors": 1, "regularization": 1, "alpha": 1, "colour": 3, "items": []}`,
	} {
		path := filepath.Join(dir, name+".json")
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		params := utilityDefaults()
		params["taste_model"] = path
		if _, err := personas.NewBehaviour(personas.UtilityName, personas.BehaviourEnv{Catalog: cat}, params); err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

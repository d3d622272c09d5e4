package fidelity

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/recloop/recloop/fidelity/report"
	"github.com/recloop/recloop/personas"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./fidelity -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; if the change is intended, run go test ./fidelity -update", name)
	}
}

// The report's two formats, and the persona file, on a small planted world;
// evaluating twice gives the same bytes.
func TestReportGolden(t *testing.T) {
	w := plantedWorld(t, 40, 300, 30, nil)
	ds, err := Derive(w.cat, w.log, DeriveOptions{Seed: 1, Sample: 30})
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{Seed: 2, Bootstrap: 200, Recommenders: []string{"random", "popular", "itemknn", "content"}}
	run := func() *report.Report {
		fitted, taste, fit, err := Fit(context.Background(), ds, nil, opt)
		if err != nil {
			t.Fatal(err)
		}
		b, err := newUtilityModel(ds.Catalog, taste, fitted, 2)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Evaluate(context.Background(), ds, b, personas.UtilityName, fitted, opt)
		if err != nil {
			t.Fatal(err)
		}
		rep.Fit = fit
		return rep
	}
	rep := run()
	js, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	again, _ := run().JSON()
	if !bytes.Equal(js, again) {
		t.Error("two evaluations with the same seed differ")
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	yml, err := PersonasYAML(ds, "planted.csv", "planted.taste.json")
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "report.json.golden", js)
	checkGolden(t, "report.table.golden", table.Bytes())
	checkGolden(t, "personas.yaml.golden", yml)
}

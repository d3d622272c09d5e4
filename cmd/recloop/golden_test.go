package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/recloop/recloop/runner"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// The whole pipeline, end to end, against a golden results file: any change
// to the catalog generator, the personas, the user model, a recommender or a
// metric shows up here, and must be looked at before -update accepts it.
func TestSmallRunMatchesGolden(t *testing.T) {
	dir := t.TempDir()
	scenario := writeFile(t, dir, "small.yaml", smallScenario)
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	if code := Main(context.Background(), []string{"run", "--out", out, scenario}, nil, &stdout, &stderr); code != runner.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	data, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, withoutWallClock(t, "results.json", data), "", "  "); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "small.results.golden", pretty.Bytes())
	table := stdout.Bytes()[:bytes.LastIndex(stdout.Bytes(), []byte("\nwrote "))]
	checkGolden(t, "small.table.golden", table)
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; if the change is intended, run go test ./cmd/recloop -update", name)
	}
}

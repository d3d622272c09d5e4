package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recloop/recloop/runner"
)

// Runs of the same scenario compare persona by persona; runs of different
// persona sets are refused.
func TestCompareRuns(t *testing.T) {
	dir := t.TempDir()
	scenario := writeFile(t, dir, "small.yaml", smallScenario)
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, out := range []string{a, b} {
		if code, _, stderr := cli(t, context.Background(), "run", "--quiet", "--out", out, scenario); code != runner.ExitOK {
			t.Fatalf("run: %d %s", code, stderr)
		}
	}
	code, stdout, stderr := cli(t, context.Background(), "compare", filepath.Join(a, "results.json"), filepath.Join(b, "results.json"))
	if code != runner.ExitOK || !strings.Contains(stdout, "ctr") || strings.Contains(stdout, "]*") {
		t.Fatalf("compare identical runs: exit %d, a significant difference?\n%s\n%s", code, stdout, stderr)
	}

	// --baseline adds the comparison with the previous run to results.json.
	c := filepath.Join(dir, "c")
	if code, _, stderr := cli(t, context.Background(), "run", "--quiet", "--baseline", filepath.Join(a, "results.json"), "--out", c, scenario); code != runner.ExitOK {
		t.Fatalf("run --baseline: %d %s", code, stderr)
	}
	var res struct {
		Comparisons []struct {
			Baseline, Candidate, Metric string
			Diff                        *float64
		}
	}
	if err := json.Unmarshal(readFile(t, c, "results.json"), &res); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, cmp := range res.Comparisons {
		if cmp.Baseline == "previous:content" && cmp.Metric == "ctr" {
			found = true
			if cmp.Diff == nil || *cmp.Diff != 0 {
				t.Errorf("identical runs differ on ctr: %v", cmp.Diff)
			}
		}
	}
	if !found {
		t.Error("no comparison with the previous run")
	}

	other := writeFile(t, dir, "other.yaml", strings.Replace(smallScenario, "count: 12}", "count: 13}", 1))
	d := filepath.Join(dir, "d")
	if code, _, _ := cli(t, context.Background(), "run", "--quiet", "--out", d, other); code != runner.ExitOK {
		t.Fatal("other run failed")
	}
	code, _, stderr = cli(t, context.Background(), "compare", filepath.Join(a, "results.json"), filepath.Join(d, "results.json"))
	if code != runner.ExitInvalid || !strings.Contains(stderr, "persona sets differ") {
		t.Errorf("incompatible runs: exit %d %q", code, stderr)
	}
}

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recloop/recloop/runner"
)

func TestReportRerendersARunDirectory(t *testing.T) {
	dir := t.TempDir()
	scenario := writeFile(t, dir, "small.yaml", smallScenario)
	run := filepath.Join(dir, "run")
	if code, _, stderr := cli(t, context.Background(), "run", "--quiet", "--out", run, scenario); code != runner.ExitOK {
		t.Fatalf("run: %d %s", code, stderr)
	}
	if err := os.Remove(filepath.Join(run, "report.html")); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := cli(t, context.Background(), "report", run)
	if code != runner.ExitOK || !strings.Contains(stdout, "wrote "+filepath.Join(run, "report.html")) {
		t.Fatalf("report: exit %d\n%s\n%s", code, stdout, stderr)
	}
	page := string(readFile(t, run, "report.html"))
	for _, want := range []string{`<h2 id="verdict">`, `<h2 id="scorecard">`, `<h2 id="personas">`, "Follow one persona",
		"12 of 40 personas, drawn with the run&#39;s seed (7)", `id="chart-options"`} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Titles come from the scenario's catalog, which still builds.
	if strings.Contains(page, "not looked at: item-") {
		t.Error("the drill-down shows item ids although the scenario names the items")
	}

	// --out elsewhere, and the same bytes again: rendering is deterministic.
	other := filepath.Join(dir, "copy.html")
	if code, _, stderr := cli(t, context.Background(), "report", "--out", other, "--personas", "3", run); code != runner.ExitOK {
		t.Fatalf("report --out: %d %s", code, stderr)
	}
	again := filepath.Join(dir, "again.html")
	if code, _, stderr := cli(t, context.Background(), "report", run, "--out", again, "--personas", "3"); code != runner.ExitOK {
		t.Fatalf("report --out: %d %s", code, stderr)
	}
	if a, b := readFile(t, dir, "copy.html"), readFile(t, dir, "again.html"); !bytes.Equal(a, b) || !bytes.Contains(a, []byte("3 of 40 personas")) {
		t.Error("two renderings of the same run differ, or --personas was ignored")
	}

	// results.json alone is enough: no drill-down, but a whole report.
	bare := filepath.Join(dir, "bare")
	if err := os.MkdirAll(bare, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, bare, "results.json", string(readFile(t, run, "results.json")))
	if code, _, stderr := cli(t, context.Background(), "report", bare); code != runner.ExitOK {
		t.Fatalf("report from results.json alone: %d %s", code, stderr)
	}
	if page := string(readFile(t, bare, "report.html")); strings.Contains(page, "Follow one persona") || !strings.Contains(page, `<h2 id="scorecard">`) {
		t.Error("a report from results.json alone should have the scorecard and no drill-down")
	}
}

func TestReportRejects(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "results.json", `{"schema": 99}`)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no run directory", []string{"report"}, "report takes one run directory"},
		{"not a run directory", []string{"report", t.TempDir()}, "is not a recloop run directory"},
		{"unknown schema", []string{"report", dir}, "schema 99"},
		{"negative sample", []string{"report", "--personas", "-1", dir}, "--personas -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := cli(t, context.Background(), tt.args...)
			if code != runner.ExitInvalid || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, runner.ExitInvalid, tt.want)
			}
		})
	}
}

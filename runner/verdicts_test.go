package runner_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/recloop/recloop/runner"
	"github.com/recloop/recloop/trajectory"
)

const verdictsScenario = `name: verdicts
seed: 3
rounds: 3
slate_size: 4
catalog:
  synthetic: {items: 200}
personas:
  population:
    - {archetype: cinephile, count: 6}
    - {archetype: romantic, count: 4}
variants:
  - {name: content, recommender: content}
  - {name: itemknn, recommender: itemknn}
output: {verdicts: VERDICTS}
`

// Compact verdicts count the grounding judge's passes per variant, round
// and segment; the results are those of the full verdicts, and the counts
// add up to the lines they replace.
func TestCompactVerdictsKeepTheResults(t *testing.T) {
	dir := t.TempDir()
	run := func(mode string) (results []byte, lines [][]byte) {
		path := filepath.Join(dir, mode+".yaml")
		if err := os.WriteFile(path, bytes.ReplaceAll([]byte(verdictsScenario), []byte("VERDICTS"), []byte(mode)), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, mode)
		if _, err := runner.Run(t.Context(), path, runner.Options{Out: out}); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(out, "verdicts.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		return withoutWallClock(t, readResults(t, out)), bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	}
	fullResults, full := run("full")
	compactResults, compact := run("compact")
	if !bytes.Equal(fullResults, compactResults) {
		t.Fatalf("compact verdicts changed the results: %s", firstDifference(fullResults, compactResults))
	}
	counted := 0
	segments := map[string]bool{}
	for _, line := range compact {
		var ev struct {
			Verdict struct {
				Judge   string `json:"judge"`
				Passes  int    `json:"passes"`
				Segment string `json:"segment"`
			} `json:"verdict"`
		}
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Verdict.Passes == 0 {
			counted++ // a failure, in full
			continue
		}
		counted += ev.Verdict.Passes
		segments[ev.Verdict.Segment] = true
	}
	if counted != len(full) || len(compact) >= len(full) {
		t.Fatalf("compact: %d lines standing for %d verdicts; full: %d lines", len(compact), counted, len(full))
	}
	// The archetypes' first segment labels (a population's are added after
	// them) are the strata.
	if len(segments) < 2 {
		t.Errorf("segments counted: %v", segments)
	}
}

// A compressed run is read everywhere a plain one is: re-judging,
// re-rendering the report, merging compressed shards and exporting give
// what the plain run gives.
func TestCompressedRunsReadEverywhere(t *testing.T) {
	dir := t.TempDir()
	write := func(name, extra string) string {
		path := filepath.Join(dir, name+".yaml")
		text := bytes.ReplaceAll([]byte(verdictsScenario), []byte("output: {verdicts: VERDICTS}"), []byte("output: {"+extra+"}"))
		if err := os.WriteFile(path, text, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	plain := filepath.Join(dir, "plain")
	if _, err := runner.Run(t.Context(), write("plain", ""), runner.Options{Out: plain}); err != nil {
		t.Fatal(err)
	}
	want := withoutWallClock(t, readResults(t, plain))
	plainExport := exportBytes(t, plain, filepath.Join(dir, "plain.jsonl"))
	for _, c := range []struct{ name, suffix string }{{"gzip", ".gz"}, {"zstd", ".zst"}} {
		t.Run(c.name, func(t *testing.T) {
			scenario := write(c.name, "compress: "+c.name)
			out := filepath.Join(dir, c.name)
			if _, err := runner.Run(t.Context(), scenario, runner.Options{Out: out}); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"trajectories.jsonl", "verdicts.jsonl"} {
				if _, err := os.Stat(filepath.Join(out, f+c.suffix)); err != nil {
					t.Fatalf("%s%s: %v", f, c.suffix, err)
				}
				if _, err := os.Stat(filepath.Join(out, f)); err == nil {
					t.Fatalf("a plain %s beside the compressed one", f)
				}
			}
			if got := withoutWallClock(t, readResults(t, out)); !bytes.Equal(got, want) {
				t.Fatalf("results differ from the plain run's: %s", firstDifference(want, got))
			}
			if _, err := runner.Rejudge(t.Context(), out, runner.Options{}); err != nil {
				t.Fatalf("re-judge: %v", err)
			}
			if got := withoutWallClock(t, readResults(t, out)); !bytes.Equal(got, want) {
				t.Fatalf("re-judged results differ: %s", firstDifference(want, got))
			}
			if _, err := runner.Report(t.Context(), out, runner.ReportOptions{}); err != nil {
				t.Fatalf("report: %v", err)
			}
			if got := exportBytes(t, out, filepath.Join(dir, c.name+".jsonl")); !bytes.Equal(got, plainExport) {
				t.Fatal("the export differs from the plain run's")
			}
			var shards []string
			for i := 1; i <= 2; i++ {
				shard := filepath.Join(dir, fmt.Sprintf("%s-shard%d", c.name, i))
				if _, err := runner.Run(t.Context(), scenario, runner.Options{Out: shard, Shard: &trajectory.Shard{Index: i, Count: 2}}); err != nil {
					t.Fatal(err)
				}
				shards = append(shards, shard)
			}
			merged := filepath.Join(dir, c.name+"-merged")
			if _, err := runner.Merge(t.Context(), shards, runner.Options{Out: merged}); err != nil {
				t.Fatalf("merge: %v", err)
			}
			if got := withoutWallClock(t, readResults(t, merged)); !bytes.Equal(got, want) {
				t.Fatalf("merged results differ: %s", firstDifference(want, got))
			}
		})
	}
}

func exportBytes(t *testing.T, run, out string) []byte {
	t.Helper()
	if _, err := runner.Export(t.Context(), run, runner.ExportOptions{Format: "segment", Out: out,
		Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

package runner_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/recloop/recloop/runner"
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

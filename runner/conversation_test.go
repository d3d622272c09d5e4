package runner_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/runner"
)

var turnLatency = regexp.MustCompile(`,"wall_latency_us":\d+`)

// runConversational runs the built-in conversational scenario and returns
// its results and its trajectories without wall-clock fields.
func runConversational(t *testing.T, concurrency int) (*runner.Outcome, []byte, []byte) {
	t.Helper()
	dir := t.TempDir()
	out, err := runner.Run(t.Context(), "conversational", runner.Options{Out: dir, Concurrency: concurrency})
	if err != nil {
		t.Fatalf("concurrency %d: %v", concurrency, err)
	}
	traj, err := os.ReadFile(filepath.Join(dir, "trajectories.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return out, withoutWallClock(t, readResults(t, dir)), turnLatency.ReplaceAll(traj, nil)
}

// The built-in conversational scenario runs offline, reports success,
// turns to success and pass^k for every variant with CIs, and writes the
// same bytes at concurrency 1 and 8.
func TestConversationalRunIsDeterministicAndComplete(t *testing.T) {
	out, results1, traj1 := runConversational(t, 1)
	_, results8, traj8 := runConversational(t, 8)
	if !bytes.Equal(traj1, traj8) {
		t.Fatal("trajectories differ between concurrency 1 and 8")
	}
	if !bytes.Equal(results1, results8) {
		t.Fatalf("results differ between concurrency 1 and 8: %s", firstDifference(results1, results8))
	}
	if len(out.Results.Variants) != 3 {
		t.Fatalf("%d variants", len(out.Results.Variants))
	}
	for _, v := range out.Results.Variants {
		for _, name := range []string{metrics.SuccessRate, metrics.TurnsToSuccess, metrics.PassK} {
			m, ok := v.Metric(name)
			if !ok || m.N == 0 || !(float64(m.CILow) <= float64(m.Value) && float64(m.Value) <= float64(m.CIHigh)) {
				t.Errorf("%s %s = %+v, want a value inside its CI", v.Name, name, m)
			}
		}
		if v.Conversation == nil || v.Conversation.Dialogues != 160 {
			t.Errorf("%s: conversation summary %+v, want 160 dialogues", v.Name, v.Conversation)
		}
	}
	if out.Results.Verdict != metrics.GatePass {
		t.Errorf("verdict %s", out.Results.Verdict)
	}
}

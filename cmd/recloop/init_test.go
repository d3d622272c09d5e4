package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/runner"
)

// recloop init in an empty directory, then recloop run on its scenario,
// works with no edits.
func TestInitThenRun(t *testing.T) {
	t.Chdir(t.TempDir())
	if code, stdout, stderr := cli(t, context.Background(), "init"); code != runner.ExitOK || !strings.Contains(stdout, "recloop/scenario.yaml") {
		t.Fatalf("init: exit %d %s %s", code, stdout, stderr)
	}
	for _, f := range []string{"recloop/scenario.yaml", "recloop/personas.yaml", ".github/workflows/recloop.yml"} {
		if _, err := os.Stat(f); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := cli(t, context.Background(), "run", "recloop/scenario.yaml")
	if code != runner.ExitOK || !strings.Contains(stdout, "VERDICT: PASS") {
		t.Fatalf("run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if traj, err := os.ReadFile("out/recloop/trajectories.jsonl"); err != nil || !strings.Contains(string(traj), `"persona":"my-first-persona"`) {
		t.Errorf("the scaffolded persona did not take part (%v)", err)
	}
	if code, _, stderr := cli(t, context.Background(), "init"); code != runner.ExitInvalid || !strings.Contains(stderr, "--force") {
		t.Errorf("a second init: exit %d %q", code, stderr)
	}
	if code, _, _ := cli(t, context.Background(), "init", "--force"); code != runner.ExitOK {
		t.Errorf("init --force: exit %d", code)
	}
}

// The scaffolded scenario offers a gate per reference band, commented out,
// and every one of them is a valid gate once uncommented.
func TestInitOffersBandGates(t *testing.T) {
	s := initScenario()
	var offered int
	for _, line := range strings.Split(s, "\n") {
		rest, ok := strings.CutPrefix(line, "  # - ")
		if !ok {
			continue
		}
		offered++
		var g struct{ Name, Check string }
		if err := yaml.Unmarshal([]byte(rest), &g); err != nil {
			t.Fatalf("%q: %v", rest, err)
		}
		parsed, err := metrics.ParseGate(g.Name, g.Check)
		if err != nil || !metrics.GateMetricKnown(parsed.Metric) || parsed.Variant != "*" {
			t.Errorf("%q is not a usable gate (%v)", rest, err)
		}
	}
	if offered != len(metrics.DefaultBands()) {
		t.Errorf("%d band gates offered for %d bands", offered, len(metrics.DefaultBands()))
	}
	if !strings.Contains(s, `check: "conversion[*] >= 0.02"`) || !strings.Contains(s, `check: "p95_latency_ms[*] <= 200"`) {
		t.Errorf("band gates missing:\n%s", s)
	}
}

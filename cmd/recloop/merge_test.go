package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recloop/recloop/runner"
)

// The sharded scenario: 3 variants × 2 replicates × 2 cells = 12 worlds,
// with a baseline, gates and the grounding judge.
const shardedScenario = smallScenario + `
cells: 2
replicates: 2
baseline: popular
gates:
  - {name: "itemknn keeps CTR", check: "ctr[itemknn] - baseline >= -0.05"}
  - {name: "explanations are grounded", check: "judge:grounding:faithfulness[*] >= 1"}
inconclusive: pass
`

func TestFourMergedShardsEqualTheWholeRun(t *testing.T) {
	dir := t.TempDir()
	scenario := writeFile(t, dir, "sharded.yaml", shardedScenario)
	whole := filepath.Join(dir, "whole")
	if code, _, stderr := cli(t, context.Background(), "run", "--quiet", "--out", whole, scenario); code != runner.ExitOK {
		t.Fatalf("whole run: exit %d: %s", code, stderr)
	}
	var shards []string
	for i := 4; i >= 1; i-- { // any order
		out := filepath.Join(dir, fmt.Sprintf("shard%d", i))
		code, stdout, stderr := cli(t, context.Background(), "run", "--shard", fmt.Sprintf("%d/4", i), "--concurrency", "2", "--out", out, scenario)
		if code != runner.ExitOK {
			t.Fatalf("shard %d: exit %d: %s", i, code, stderr)
		}
		if !strings.Contains(stdout, fmt.Sprintf("wrote shard %d/4", i)) || !strings.Contains(stderr, "of 12 worlds") {
			t.Errorf("shard %d says:\n%s\n%s", i, stdout, stderr)
		}
		if _, err := os.Stat(filepath.Join(out, "results.json")); err == nil {
			t.Errorf("shard %d wrote results of its own", i)
		}
		shards = append(shards, out)
	}
	merged := filepath.Join(dir, "merged")
	code, stdout, stderr := cli(t, context.Background(), append([]string{"merge", "--out", merged}, shards...)...)
	if code != runner.ExitOK {
		t.Fatalf("merge: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "itemknn keeps CTR") {
		t.Errorf("merge printed no verdict:\n%s", stdout)
	}
	checkMergedEqualsWhole(t, merged, whole)
}

// checkMergedEqualsWhole compares a merged run's outputs with the whole
// run's, wall-clock latencies aside.
func checkMergedEqualsWhole(t *testing.T, merged, whole string) {
	t.Helper()
	for _, file := range []string{"trajectories.jsonl", "verdicts.jsonl", "results.json", "junit.xml", "summary.md"} {
		a, err := os.ReadFile(filepath.Join(whole, file))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(merged, file))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(file, ".json") || strings.HasSuffix(file, ".jsonl") {
			a, b = withoutWallClock(t, file, a), withoutWallClock(t, file, b)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s of the merged shards differs from the whole run's", file)
		}
	}
}

func TestMergeRefusesAnIncompleteSetOfShards(t *testing.T) {
	dir := t.TempDir()
	scenario := writeFile(t, dir, "sharded.yaml", shardedScenario)
	var shards []string
	for i := 1; i <= 3; i++ {
		out := filepath.Join(dir, fmt.Sprintf("shard%d", i))
		if code, _, stderr := cli(t, context.Background(), "run", "--quiet", "--shard", fmt.Sprintf("%d/3", i), "--out", out, scenario); code != runner.ExitOK {
			t.Fatalf("shard %d: exit %d: %s", i, code, stderr)
		}
		shards = append(shards, out)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing shard", []string{"merge", "--out", filepath.Join(dir, "m1"), shards[0], shards[2]}, "is one of 3 shards, but 2 were given"},
		{"not a shard", []string{"merge", "--out", filepath.Join(dir, "m2"), shards[0], dir}, "is not a recloop run directory"},
		{"into a shard", []string{"merge", "--out", shards[1], shards[0], shards[1], shards[2]}, "is one of the shards"},
		{"bad flag", []string{"run", "--shard", "4/3", scenario}, "want i/n with 1 ≤ i ≤ n"},
		{"another scenario", []string{"merge", "--scenario", writeFile(t, dir, "other.yaml", strings.Replace(shardedScenario, "seed: 7", "seed: 8", 1)),
			"--out", filepath.Join(dir, "m4"), shards[0], shards[1], shards[2]}, "but the scenario here is \"small\" (seed 8"},
		{"too many shards", []string{"run", "--shard", "1/13", "--out", filepath.Join(dir, "m3"), scenario}, "13 shards for 12 independent worlds"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := cli(t, context.Background(), tc.args...)
			if code != runner.ExitInvalid || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q, want an error saying %q", code, stderr, tc.want)
			}
		})
	}
}

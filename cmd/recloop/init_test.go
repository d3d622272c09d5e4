package main

import (
	"context"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
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

// recloop init --shards writes one deterministic workflow, refuses to
// overwrite it without --force, and refuses shard counts a matrix cannot
// hold.
func TestInitShards(t *testing.T) {
	repo := t.TempDir()
	var data []byte
	t.Run("write", func(t *testing.T) {
		t.Chdir(repo)
		code, stdout, stderr := cli(t, context.Background(), "init", "--shards", "4")
		if code != runner.ExitOK || !strings.Contains(stdout, shardedWorkflowPath) {
			t.Fatalf("init --shards 4: exit %d %s %s", code, stdout, stderr)
		}
		var err error
		if data, err = os.ReadFile(shardedWorkflowPath); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat("recloop/scenario.yaml"); err == nil {
			t.Error("init --shards scaffolded a scenario too")
		}
	})
	checkGolden(t, "init-shards4.yml.golden", data) // in ./testdata, so before the next Chdir
	t.Chdir(repo)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--shards", "4"}, runner.ExitInvalid, "--force"},
		{[]string{"--shards", "4", "--force"}, runner.ExitOK, ""},
		{[]string{"--shards", "0"}, runner.ExitInvalid, "--shards 0: want 1 to 256"},
		{[]string{"--shards", "257", "--force"}, runner.ExitInvalid, "--shards 257: want 1 to 256"},
		{[]string{"--shards", "-1"}, runner.ExitInvalid, "want 1 to 256"},
		{[]string{"--shards", "many"}, runner.ExitInvalid, "invalid value"},
		{[]string{"--shards", "2", "--force", "--scenario", "/etc/scenario.yaml"}, runner.ExitInvalid, "a path inside the repository"},
		{[]string{"--shards", "2", "--force", "--scenario", "../scenario.yaml"}, runner.ExitInvalid, "a path inside the repository"},
		{[]string{"--shards", "2", "--force", "--out", "my out"}, runner.ExitInvalid, "a path inside the repository"},
		{[]string{"--out", "results"}, runner.ExitInvalid, "go with --shards"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := cli(t, context.Background(), append([]string{"init"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d saying %q", code, stderr, tc.code, tc.want)
			}
		})
	}
	code, _, stderr := cli(t, context.Background(), "init", "--shards", "256", "--force", "--scenario", "quickstart", "--out", "./results/")
	if code != runner.ExitOK {
		t.Fatalf("init --shards 256: exit %d %s", code, stderr)
	}
	wf := readWorkflow(t)
	if m := wf.Jobs["shard"].Strategy.Matrix.Shard; len(m) != 256 || m[0] != "1" || m[255] != "256" {
		t.Errorf("matrix of 256 shards: %v", m)
	}
	var runs []string
	for _, step := range wf.Jobs["merge"].Steps {
		runs = append(runs, step.Run)
	}
	if !slices.Contains(runs, "recloop merge --scenario quickstart --out results/merged results/shards/recloop-shard-*") {
		t.Errorf("the merge job runs %q", runs)
	}
}

// workflow is the part of a GitHub Actions workflow the tests read.
type workflow struct {
	Jobs map[string]workflowJob
}

type workflowJob struct {
	Needs    string
	Strategy struct {
		FailFast bool `yaml:"fail-fast"`
		Matrix   struct{ Shard []string }
	}
	Env   map[string]string
	Steps []struct {
		Name, Uses, Run, If string
		With                map[string]string
	}
}

func readWorkflow(t *testing.T) workflow {
	t.Helper()
	data, err := os.ReadFile(shardedWorkflowPath)
	if err != nil {
		t.Fatal(err)
	}
	var wf workflow
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatalf("%s: %v", shardedWorkflowPath, err)
	}
	return wf
}

// The workflow of recloop init --shards 4 runs as written: its shard jobs
// (one per matrix value) and its merge job, every run: line executed through
// the CLI and the artifacts passed by copying directories, give the results
// of the whole run on one machine.
func TestInitShardedWorkflowRunsAsWritten(t *testing.T) {
	repo := t.TempDir()
	t.Chdir(repo)
	if err := os.Mkdir("recloop", 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, "recloop", "scenario.yaml", shardedScenario)
	if code, _, stderr := cli(t, context.Background(), "init", "--shards", "4"); code != runner.ExitOK {
		t.Fatalf("init --shards 4: exit %d %s", code, stderr)
	}
	wf := readWorkflow(t)
	shard, merge := wf.Jobs["shard"], wf.Jobs["merge"]
	if len(wf.Jobs) != 2 || merge.Needs != "shard" || !slices.Equal(shard.Strategy.Matrix.Shard, []string{"1", "2", "3", "4"}) || shard.Strategy.FailFast {
		t.Fatalf("want a matrix job of shards 1 to 4, not failing fast, and a merge job that needs it; got jobs %d, matrix %v, needs %q", len(wf.Jobs), shard.Strategy.Matrix.Shard, merge.Needs)
	}
	for name, job := range wf.Jobs {
		for k, v := range job.Env {
			if v != "${{ secrets."+k+" }}" {
				t.Errorf("job %s sets %s to %q, not to the secret of that name", name, k, v)
			}
		}
	}
	artifacts := t.TempDir()
	for _, i := range shard.Strategy.Matrix.Shard {
		runJob(t, shard, map[string]string{"${{ matrix.shard }}": i}, artifacts)
	}
	// The merge job runs on a fresh machine: only the repository and the
	// downloaded artifacts.
	if err := os.RemoveAll("out"); err != nil {
		t.Fatal(err)
	}
	runJob(t, merge, nil, artifacts)
	if _, err := os.Stat(filepath.Join(artifacts, "recloop-report", "results.json")); err != nil {
		t.Errorf("the merge job uploaded no report: %v", err)
	}
	whole := filepath.Join(t.TempDir(), "whole")
	if code, _, stderr := cli(t, context.Background(), "run", "--quiet", "--out", whole, "recloop/scenario.yaml"); code != runner.ExitOK {
		t.Fatalf("whole run: exit %d: %s", code, stderr)
	}
	checkMergedEqualsWhole(t, "out/merged", whole)
}

// runJob runs a job's steps as GitHub Actions would, in the current
// directory: run: lines through the CLI, artifacts kept under artifacts.
// vars are the ${{ }} expressions the job's matrix sets.
func runJob(t *testing.T, job workflowJob, vars map[string]string, artifacts string) {
	t.Helper()
	expand := func(s string) string {
		for k, v := range vars {
			s = strings.ReplaceAll(s, k, v)
		}
		if strings.Contains(s, "${{") {
			t.Fatalf("%q: an expression the test does not know", s)
		}
		return s
	}
	for _, step := range job.Steps {
		with := map[string]string{}
		for k, v := range step.With {
			if k != "key" && k != "restore-keys" { // the cache's keys are GitHub's business
				with[k] = expand(v)
			}
		}
		action, _, _ := strings.Cut(step.Uses, "@")
		switch action {
		case "":
		case "actions/checkout", "actions/setup-go", "actions/cache":
			continue // the repository is the current directory; the CLI is this binary
		case "actions/upload-artifact":
			copyDir(t, with["path"], filepath.Join(artifacts, with["name"]))
			continue
		case "actions/download-artifact":
			if with["merge-multiple"] != "false" {
				t.Fatalf("download-artifact merges the shards into one directory")
			}
			entries, err := os.ReadDir(artifacts)
			if err != nil {
				t.Fatal(err)
			}
			var got int
			for _, e := range entries {
				if ok, _ := path.Match(with["pattern"], e.Name()); ok {
					copyDir(t, filepath.Join(artifacts, e.Name()), filepath.Join(with["path"], e.Name()))
					got++
				}
			}
			if got != 4 {
				t.Fatalf("pattern %q downloads %d artifacts, want the 4 shards", with["pattern"], got)
			}
			continue
		default:
			t.Fatalf("step %q uses %s, which the test does not simulate", step.Name, step.Uses)
		}
		for _, line := range strings.Split(strings.TrimSpace(expand(step.Run)), "\n") {
			runLine(t, line)
		}
	}
}

// runLine runs one line of a run: step.
func runLine(t *testing.T, line string) {
	t.Helper()
	words := strings.Fields(line)
	switch {
	case len(words) == 3 && words[0] == "go" && words[1] == "install" && strings.HasPrefix(words[2], "github.com/recloop/recloop/cmd/recloop@"):
		// The CLI under test stands in for the installed one.
	case len(words) == 4 && words[0] == "cat" && words[2] == ">>" && words[3] == `"$GITHUB_STEP_SUMMARY"`:
		if data, err := os.ReadFile(words[1]); err != nil || len(data) == 0 {
			t.Errorf("%s: nothing to post (%v)", line, err)
		}
	case words[0] == "recloop":
		var args []string
		for _, w := range words[1:] {
			if !strings.Contains(w, "*") {
				args = append(args, w)
				continue
			}
			matches, err := filepath.Glob(w)
			if err != nil || len(matches) == 0 {
				t.Fatalf("%s: %s matches nothing (%v)", line, w, err)
			}
			args = append(args, matches...)
		}
		if code, stdout, stderr := cli(t, context.Background(), args...); code != runner.ExitOK {
			t.Fatalf("%s: exit %d\n%s\n%s", line, code, stdout, stderr)
		}
	default:
		t.Fatalf("%q: a command the test does not know how to run", line)
	}
}

// copyDir copies the files of src into dst, as an artifact's upload and
// download do.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatalf("copy %s to %s: %v", src, dst, err)
	}
}

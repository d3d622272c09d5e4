package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/recloop/recloop/runner"
)

// cli runs the CLI as a function and returns its exit code and output.
func cli(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(ctx, args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const smallScenario = `
name: small
seed: 7
rounds: 6
slate_size: 5
catalog:
  synthetic: {items: 300, new_items: 30, release_from: 2, release_to: 4}
personas:
  population:
    - {archetype: cinephile, count: 12}
    - {archetype: blockbuster-fan, count: 12}
    - {archetype: scifi-geek, count: 8, history_size: 0, id_prefix: cold, segments: [new-signup]}
    - {archetype: romantic, count: 8, join_round: 3, id_prefix: late}
variants:
  - {name: popular, recommender: popular}
  - {name: itemknn, recommender: itemknn}
  - {name: content, recommender: content}
metrics: {bootstrap: 200}
`

var wallLatency = regexp.MustCompile(`"wall_latency_us":\d+`)

// withoutWallClock drops the fields that hold wall-clock measurements, the
// only bytes allowed to differ between two runs.
func withoutWallClock(t *testing.T, name string, data []byte) []byte {
	t.Helper()
	if strings.HasSuffix(name, ".jsonl") {
		return wallLatency.ReplaceAll(data, []byte(`"wall_latency_us":0`))
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for _, v := range doc["variants"].([]any) {
		delete(v.(map[string]any), "wall_latency_ms")
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRunIsIdenticalAtAnyConcurrency(t *testing.T) {
	dir := t.TempDir()
	scenario := writeFile(t, dir, "small.yaml", smallScenario)
	outputs := map[string]string{}
	for _, run := range []struct {
		name        string
		concurrency string
		procs       int
	}{{"c1", "1", 1}, {"c8", "8", runtime.GOMAXPROCS(0)}} {
		prev := runtime.GOMAXPROCS(run.procs)
		out := filepath.Join(dir, run.name)
		code, _, stderr := cli(t, context.Background(), "run", "--quiet", "--concurrency", run.concurrency, "--out", out, scenario)
		runtime.GOMAXPROCS(prev)
		if code != runner.ExitOK {
			t.Fatalf("%s: exit %d: %s", run.name, code, stderr)
		}
		outputs[run.name] = out
	}
	for _, file := range []string{"results.json", "trajectories.jsonl", "report.html"} {
		a, err := os.ReadFile(filepath.Join(outputs["c1"], file))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(outputs["c8"], file))
		if err != nil {
			t.Fatal(err)
		}
		if file == "report.html" {
			continue // it shows wall-clock latency; its determinism is the reports package's test
		}
		if !bytes.Equal(withoutWallClock(t, file, a), withoutWallClock(t, file, b)) {
			t.Errorf("%s differs between --concurrency 1 and 8", file)
		}
	}
	traj, _ := os.ReadFile(filepath.Join(outputs["c1"], "trajectories.jsonl"))
	// 40 personas: 32 from round 0 and 8 joining at round 3, 3 variants,
	// 6 rounds: at most 3·(32·6 + 8·3) = 648 steps; exits make it fewer.
	steps := bytes.Count(traj, []byte(`"kind":"step"`))
	if steps == 0 || steps > 648 {
		t.Errorf("%d step events, want 1..648", steps)
	}
	if !bytes.Contains(traj, []byte(`"kind":"run_end","round":6,"run_end":{}`)) {
		t.Error("trajectories do not end with a complete run_end")
	}
}

// The three mistakes of the issue: an unknown field, a trait of 1.7 and an
// unknown item id in a history; every one is named with its line, whether
// the personas are inline or in a file of their own.
func TestInvalidScenarioNamesEveryMistake(t *testing.T) {
	const persona = `  - id: ada
    interests:
      categories: {drama: 1}
    traits:
      activity: 0.5
      curiosity: 1.7
    history: [item-001, item-999]
`
	tests := []struct {
		name     string
		scenario string
		people   string
		want     []string
	}{
		{
			name: "inline",
			scenario: `name: broken
seed: 1
rounds: 3
colour: blue
catalog:
  synthetic: {items: 100}
personas:
  inline:
` + indent(persona, "  ") + `variants:
  - {name: pop, recommender: popular}
`,
			want: []string{
				"broken.yaml:4:1: colour: unknown field",
				"broken.yaml:14:9: personas.inline[0].traits.curiosity: must be between 0 and 1, got 1.7",
				"broken.yaml:15:27: personas.inline[0].history[1]: unknown item id \"item-999\"",
			},
		},
		{
			name: "persona file",
			scenario: `name: broken
seed: 1
rounds: 3
colour: blue
catalog:
  synthetic: {items: 100}
personas:
  files: [people.yaml]
variants:
  - {name: pop, recommender: popular}
`,
			people: "personas:\n" + persona,
			want: []string{
				"broken.yaml:4:1: colour: unknown field",
				"people.yaml:7:7: personas[0].traits.curiosity: must be between 0 and 1, got 1.7",
				"people.yaml:8:25: personas[0].history[1]: unknown item id \"item-999\"",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.people != "" {
				writeFile(t, dir, "people.yaml", tc.people)
			}
			scenario := writeFile(t, dir, "broken.yaml", tc.scenario)
			for _, cmd := range []string{"run", "validate"} {
				code, _, stderr := cli(t, context.Background(), cmd, "--out", filepath.Join(dir, "out"), scenario)
				if cmd == "validate" {
					code, _, stderr = cli(t, context.Background(), cmd, scenario)
				}
				if code != runner.ExitInvalid {
					t.Fatalf("%s: exit %d, want %d; stderr:\n%s", cmd, code, runner.ExitInvalid, stderr)
				}
				for _, want := range append(tc.want, "3 problems") {
					if !strings.Contains(stderr, want) {
						t.Errorf("%s: stderr lacks %q:\n%s", cmd, want, stderr)
					}
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
				t.Error("an invalid scenario created its output directory")
			}
		})
	}
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}

func TestFlakyRecommenderDoesNotStopTheRun(t *testing.T) {
	dir := t.TempDir()
	base := strings.Replace(smallScenario, `  - {name: itemknn, recommender: itemknn}
  - {name: content, recommender: content}`, `  - {name: flaky, recommender: faulty, params: {inner: itemknn, error_rate: 0.1}}`, 1)
	for _, tc := range []struct {
		name      string
		tolerance string
		want      int
	}{
		{"above tolerance", "0.05", runner.ExitRuntime},
		{"within tolerance", "0.2", runner.ExitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scenario := writeFile(t, dir, "flaky.yaml", base+"tolerance: {recommender_error_rate: "+tc.tolerance+"}\n")
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			code, _, stderr := cli(t, context.Background(), "run", "--quiet", "--out", out, scenario)
			if code != tc.want {
				t.Fatalf("exit %d, want %d: %s", code, tc.want, stderr)
			}
			data, err := os.ReadFile(filepath.Join(out, "results.json"))
			if err != nil {
				t.Fatal(err)
			}
			var res struct {
				Variants []struct {
					Name   string
					Errors struct {
						Calls, Errors int
						Rate          float64
					}
				}
			}
			if err := json.Unmarshal(data, &res); err != nil {
				t.Fatal(err)
			}
			flaky := res.Variants[1]
			if flaky.Name != "flaky" || flaky.Errors.Calls == 0 {
				t.Fatalf("unexpected variant %+v", flaky)
			}
			// 10% of calls fail, deterministically by (seed, user, round):
			// over a few hundred calls the rate lands near 0.1.
			if flaky.Errors.Rate < 0.04 || flaky.Errors.Rate > 0.2 {
				t.Errorf("error rate %.3f, want about 0.1", flaky.Errors.Rate)
			}
			if res.Variants[0].Errors.Errors != 0 {
				t.Errorf("the healthy variant recorded errors: %+v", res.Variants[0])
			}
		})
	}
}

func TestInterruptedRunIsPartialButReadable(t *testing.T) {
	dir := t.TempDir()
	scenario := writeFile(t, dir, "small.yaml", smallScenario)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(dir, "out")
	code, _, stderr := cli(t, ctx, "run", "--quiet", "--out", out, scenario)
	if code != runner.ExitInterrupted {
		t.Fatalf("exit %d, want %d: %s", code, runner.ExitInterrupted, stderr)
	}
	data, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(`"partial": true`)) {
		t.Errorf("results.json is not marked partial:\n%s", data[:min(400, len(data))])
	}
	traj, _ := os.ReadFile(filepath.Join(out, "trajectories.jsonl"))
	if !bytes.Contains(traj, []byte(`"partial":true`)) {
		t.Error("trajectories do not record the partial run")
	}
}

func TestCommands(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{}, runner.ExitInvalid, "Commands:", ""},
		{[]string{"help"}, runner.ExitOK, "Commands:", ""},
		{[]string{"frobnicate"}, runner.ExitInvalid, "", `unknown command "frobnicate"`},
		{[]string{"version"}, runner.ExitOK, "trajectory schema: 1", ""},
		{[]string{"list"}, runner.ExitOK, "itemknn", ""},
		{[]string{"list", "--markdown"}, runner.ExitOK, "| parameter |", ""},
		{[]string{"validate", "quickstart"}, runner.ExitOK, "quickstart: ok", ""},
		{[]string{"validate"}, runner.ExitInvalid, "", "at least one scenario"},
		{[]string{"run", "--no-such-flag", "x"}, runner.ExitInvalid, "", "flag provided but not defined"},
		{[]string{"run", "no-such-scenario"}, runner.ExitInvalid, "", "built-in scenarios: conversational, engagement, feedback-loop, filter-bubble, llm-quickstart, quickstart"},
		{[]string{"run", "-h"}, runner.ExitOK, "", "Usage: recloop run"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := cli(t, context.Background(), tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, stderr)
			}
			if !strings.Contains(stdout, tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, stdout)
			}
			if !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr)
			}
		})
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/recloop/recloop/llm/llmtest"
	"github.com/recloop/recloop/runner"
)

const secretKey = "sk-test-NEVER-WRITE-ME-4242"

// llmScenario is a small LLM-played run against the fake server at url.
func llmScenario(url, cacheDir, description string, extra string) string {
	return `name: llm-small
seed: 3
rounds: 3
slate_size: 4
catalog:
  synthetic: {items: 200}
personas:
  inline:
    - id: ada
      description: "` + description + `"
      interests: {categories: {drama: 1, mystery: 0.5}}
      history_size: 3
  population:
    - {archetype: scifi-geek, count: 2}
    - {archetype: romantic, count: 2}
behaviour:
  model: llm
  params: {reflect_every: 2}
llm:
  base_url: ` + url + `
  model: test-model
  temperature: 0
  seed: 1
  max_concurrency: 4
  prices: {test-model: {input_per_mtok: 1, output_per_mtok: 2}}
  cache: {dir: ` + cacheDir + `}
` + extra + `
variants:
  - {name: popular, recommender: popular}
  - {name: content, recommender: content}
`
}

var itemID = regexp.MustCompile(`item-\d+`)

// scriptedPersonas answers like a persona: it clicks the first item of the
// slate with a reason, skips the second, and names one item that was not
// shown; it reflects and gives interviews.
func scriptedPersonas(req llmtest.ChatRequest) any {
	schema := string(req.Schema())
	user := req.Messages[len(req.Messages)-1].Content
	switch {
	case strings.Contains(schema, "satisfaction"):
		return map[string]any{"satisfaction": 7, "review": "It kept showing me what I like."}
	case strings.Contains(schema, "summary"):
		return map[string]any{"summary": "I like what I clicked."}
	}
	ids := itemID.FindAllString(user, -1)
	items := []map[string]any{{"item_id": "item-99999", "action": "click", "rating": 5, "reason": "sounds great"}}
	if len(ids) > 0 {
		items = append(items, map[string]any{"item_id": ids[0], "action": "click", "rating": 5, "reason": "I like " + ids[0]})
	}
	if len(ids) > 1 {
		items = append(items, map[string]any{"item_id": ids[1], "action": "skip", "rating": 0, "reason": "not my thing"})
	}
	return map[string]any{"items": items, "exit": false, "feedback": "more like the first one"}
}

func TestLLMPersonasEndToEnd(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", secretKey)
	server := llmtest.New(t)
	server.Answer(scriptedPersonas)
	dir := t.TempDir()
	cacheDir := filepath.Join(dir, "cache")
	scenario := writeFile(t, dir, "llm.yaml", llmScenario(server.URL(), cacheDir, "A retired teacher who loves whodunits.", ""))

	// The dry run sends nothing and estimates the calls.
	code, dryOut, stderr := cli(t, context.Background(), "run", "--dry-run", scenario)
	if code != runner.ExitOK || server.Count() != 0 {
		t.Fatalf("dry run: exit %d, %d requests: %s", code, server.Count(), stderr)
	}
	estimate := estimatedCalls(t, dryOut)

	out1 := filepath.Join(dir, "run1")
	code, _, stderr = cli(t, context.Background(), "run", "--quiet", "--out", out1, scenario)
	if code != runner.ExitOK {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	calls := server.Count()
	if calls == 0 {
		t.Fatal("no request reached the fake server")
	}
	if diff := float64(estimate-calls) / float64(calls); diff < -0.1 || diff > 0.1 {
		t.Errorf("dry run estimated %d calls, the run made %d (%.0f%% off)", estimate, calls, 100*diff)
	}
	traj := readFile(t, out1, "trajectories.jsonl")
	for _, want := range []string{`"clicked":true`, `"reason":"I like item-`, `"feedback":"more like the first one"`, `"hallucinations":1`, `"interview":{"satisfaction":7`} {
		if !bytes.Contains(traj, []byte(want)) {
			t.Errorf("trajectories lack %s", want)
		}
	}
	res := readResults(t, out1)
	if res.LLM.Calls == 0 || res.LLM.CostUSD <= 0 || res.Variants[0].Voices.Hallucinations == 0 {
		t.Errorf("results: llm %+v, voices %+v", res.LLM, res.Variants[0].Voices)
	}

	// Same scenario again: every answer from the cache, no HTTP call.
	out2 := filepath.Join(dir, "run2")
	if code, _, stderr := cli(t, context.Background(), "run", "--quiet", "--out", out2, scenario); code != runner.ExitOK {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	if server.Count() != calls {
		t.Errorf("the second run made %d HTTP calls", server.Count()-calls)
	}
	if !bytes.Equal(withoutWallClock(t, "t.jsonl", traj), withoutWallClock(t, "t.jsonl", readFile(t, out2, "trajectories.jsonl"))) {
		t.Error("the cached run wrote different trajectories")
	}
	if res2 := readResults(t, out2); res2.LLM.CacheHits != res2.LLM.Calls || res2.LLM.CostUSD != 0 {
		t.Errorf("second run usage %+v, want all cache hits and no cost", res2.LLM)
	}

	// Replay with one persona's prompt changed: fails, naming the miss.
	changed := writeFile(t, dir, "changed.yaml", llmScenario(server.URL(), cacheDir, "A retired teacher who loves thrillers.", ""))
	code, _, stderr = cli(t, context.Background(), "run", "--quiet", "--cache", "replay", "--out", filepath.Join(dir, "replay"), changed)
	if code == runner.ExitOK || !strings.Contains(stderr, "miss") || !strings.Contains(stderr, `"ada"`) {
		t.Errorf("replay with a changed prompt: exit %d, stderr %q", code, stderr)
	}
	if server.Count() != calls {
		t.Error("replay mode called the server")
	}

	// No file the tool wrote holds the API key.
	for _, root := range []string{out1, out2, cacheDir} {
		filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if data, _ := os.ReadFile(path); bytes.Contains(data, []byte(secretKey)) {
					t.Errorf("%s contains the API key", path)
				}
			}
			return nil
		})
	}
}

func TestLLMRunSurvivesRateLimits(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", secretKey)
	server := llmtest.New(t)
	var n atomic.Int64
	server.Handle(func(req llmtest.ChatRequest) llmtest.Reply {
		if n.Add(1)%10 < 3 {
			r := llmtest.Error(429, "rate_limit_exceeded", "slow down")
			r.Header = map[string]string{"Retry-After": "0"}
			return r
		}
		return llmtest.JSON(scriptedPersonas(req))
	})
	out := runLLMScenario(t, server, func(body string) string { return body })
	res := readResults(t, out)
	if res.LLM.Retries == 0 {
		t.Errorf("30%% of calls got 429 but no retry was counted: %+v", res.LLM)
	}
	for _, v := range res.Variants {
		if v.Errors.Behaviour != 0 {
			t.Errorf("%s: %d steps failed despite retries", v.Name, v.Errors.Behaviour)
		}
	}
}

func TestLLMBudgetStopsTheRunWithExit4(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", secretKey)
	server := llmtest.New(t)
	server.Answer(scriptedPersonas)
	dir := t.TempDir()
	scenario := writeFile(t, dir, "llm.yaml", llmScenario(server.URL(), filepath.Join(dir, "cache"), "A teacher.", "  budget_usd: 0.002"))
	out := filepath.Join(dir, "out")
	code, _, stderr := cli(t, context.Background(), "run", "--quiet", "--out", out, scenario)
	if code != runner.ExitBudget {
		t.Fatalf("exit %d, want %d: %s", code, runner.ExitBudget, stderr)
	}
	res := readResults(t, out)
	if !res.Partial || !strings.Contains(res.Reason, "budget") {
		t.Errorf("results not marked partial for the budget: partial %v, reason %q", res.Partial, res.Reason)
	}
}

// runLLMScenario runs the small LLM scenario, edited by edit, against
// server and returns its output directory; the run must exit 0.
func runLLMScenario(t *testing.T, server *llmtest.Server, edit func(string) string) string {
	t.Helper()
	dir := t.TempDir()
	scenario := writeFile(t, dir, "llm.yaml", edit(llmScenario(server.URL(), filepath.Join(dir, "cache"), "A teacher.", "")))
	out := filepath.Join(dir, "out")
	if code, _, stderr := cli(t, context.Background(), "run", "--quiet", "--out", out, scenario); code != runner.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	return out
}

type llmResults struct {
	Partial bool
	Reason  string
	LLM     struct {
		Calls     int
		CacheHits int `json:"cache_hits"`
		Retries   int
		CostUSD   float64 `json:"cost_usd"`
	}
	Variants []struct {
		Name   string
		Errors struct {
			Behaviour int `json:"behaviour_errors"`
		}
		Voices struct{ Hallucinations int }
	}
}

func readResults(t *testing.T, dir string) llmResults {
	t.Helper()
	var r llmResults
	if err := json.Unmarshal(readFile(t, dir, "results.json"), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func readFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

var totalCalls = regexp.MustCompile(`total\s+(\d+) calls`)

func estimatedCalls(t *testing.T, dryRun string) int {
	t.Helper()
	m := totalCalls.FindStringSubmatch(dryRun)
	if m == nil {
		t.Fatalf("no total in the dry run:\n%s", dryRun)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// replicates: 2 plays each persona twice, with the model seed moved by the
// replicate index, so the two plays are distinct calls.
func TestLLMReplicates(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", secretKey)
	server := llmtest.New(t)
	server.Answer(scriptedPersonas)
	out := runLLMScenario(t, server, func(body string) string {
		return strings.Replace(body, "rounds: 3", "rounds: 1\nreplicates: 2", 1)
	})
	seeds := map[int]int{}
	for _, r := range server.Requests() {
		if r.Seed != nil {
			seeds[*r.Seed]++
		}
	}
	if len(seeds) != 2 || seeds[1] == 0 || seeds[1] != seeds[2] {
		t.Errorf("seeds sent %v, want as many with 1 (replicate 0) as with 2 (replicate 1)", seeds)
	}
	if traj := readFile(t, out, "trajectories.jsonl"); !bytes.Contains(traj, []byte(`"persona":"ada~r1"`)) || !bytes.Contains(traj, []byte(`"replicate_of":"ada"`)) {
		t.Error("no replicate persona in the trajectories")
	}
}

// An answer that stays malformed after the repair retry is an error event
// for that step; the run goes on and counts it.
func TestLLMMalformedAnswersBecomeErrorEvents(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", secretKey)
	server := llmtest.New(t)
	server.Handle(func(req llmtest.ChatRequest) llmtest.Reply {
		for _, m := range req.Messages {
			if strings.Contains(m.Content, "ada") && !strings.Contains(string(req.Schema()), "satisfaction") {
				return llmtest.Reply{Content: `{"items": [{"item_id": "item-1", "action": "cl`}
			}
		}
		return llmtest.JSON(scriptedPersonas(req))
	})
	out := runLLMScenario(t, server, func(body string) string { return body })
	res := readResults(t, out)
	for _, v := range res.Variants {
		// ada's 3 slates fail in each variant; the other personas decide.
		if v.Errors.Behaviour != 3 {
			t.Errorf("%s: %d behaviour errors, want 3", v.Name, v.Errors.Behaviour)
		}
	}
	if traj := readFile(t, out, "trajectories.jsonl"); !bytes.Contains(traj, []byte(`"error":{"kind":"behaviour"`)) || !bytes.Contains(traj, []byte(`"clicked":true`)) {
		t.Error("trajectories lack the behaviour error events or the other personas' clicks")
	}
}

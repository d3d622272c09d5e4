package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/recloop/recloop/llm/llmtest"
	"github.com/recloop/recloop/runner"
)

func judgeScenario(url, cacheDir string) string {
	return `name: judged
seed: 5
rounds: 3
slate_size: 4
catalog:
  synthetic: {items: 200}
personas:
  population:
    - {archetype: cinephile, count: 3}
    - {archetype: scifi-geek, count: 3, segments: [geeks]}
llm:
  base_url: ` + url + `
  model: judge-model
  temperature: 0
  seed: 7
  cache: {dir: ` + cacheDir + `}
judges:
  sample: 10
  panel:
    - {name: llm}
variants:
  - {name: popular, recommender: popular}
  - {name: itemknn, recommender: itemknn}
`
}

func scriptedJudge(req llmtest.ChatRequest) any {
	return map[string]any{"reason": "specific and true", "scores": map[string]int{
		"relevance": 4, "specificity": 3, "faithfulness": 5, "helpfulness": 4}}
}

// An LLM-judged run writes verdicts with reasons for the sampled
// explanations; `recloop judge` on the saved run gives the same verdicts
// from the cache, without a call.
func TestLLMJudgedRunAndRejudge(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", secretKey)
	server := llmtest.New(t)
	server.Answer(scriptedJudge)
	dir := t.TempDir()
	scenario := writeFile(t, dir, "judged.yaml", judgeScenario(server.URL(), filepath.Join(dir, "cache")))
	out := filepath.Join(dir, "out")
	code, stdout, stderr := cli(t, context.Background(), "run", "--out", out, scenario)
	if code != runner.ExitOK {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	verdicts := readFile(t, out, "verdicts.jsonl")
	if n := bytes.Count(verdicts, []byte(`"judge":"llm"`)); n != 20 {
		t.Errorf("%d llm verdicts, want 10 per variant", n)
	}
	if !bytes.Contains(verdicts, []byte(`"reason":"specific and true"`)) || !bytes.Contains(verdicts, []byte(`"judge":"grounding"`)) {
		t.Error("verdicts lack the judge's reasons or the grounding verdicts")
	}
	// One call per distinct sampled case: two variants that showed a
	// persona the same item with the same explanation share a cached answer.
	calls := server.Count()
	if calls == 0 || calls > 20 {
		t.Errorf("%d judge calls, want 1 to 20", calls)
	}
	for _, want := range []string{"llm, 10 explanations (model judge-model)", "specificity    3.000", "grounding"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the table lacks %q:\n%s", want, stdout[strings.Index(stdout, "Explanations"):])
		}
	}
	results := readFile(t, out, "results.json")
	var parsed struct {
		Agreement []struct {
			Dimension string
			Judges    []string
			Units     int
		} `json:"judge_agreement"`
	}
	if err := json.Unmarshal(results, &parsed); err != nil {
		t.Fatal(err)
	}
	// Both judges score faithfulness on the 20 sampled explanations.
	if len(parsed.Agreement) != 1 || parsed.Agreement[0].Dimension != "faithfulness" || parsed.Agreement[0].Units != 20 ||
		strings.Join(parsed.Agreement[0].Judges, ",") != "grounding,llm" {
		t.Errorf("judge agreement %+v", parsed.Agreement)
	}

	code, _, stderr = cli(t, context.Background(), "judge", "--quiet", out)
	if code != runner.ExitOK {
		t.Fatalf("judge: exit %d: %s", code, stderr)
	}
	if server.Count() != calls {
		t.Errorf("re-judging made %d new calls", server.Count()-calls)
	}
	if again := readFile(t, out, "verdicts.jsonl"); !bytes.Equal(again, verdicts) {
		t.Error("re-judging gave different verdicts")
	}
	// Everything but wall-clock latency and this pass's LLM usage (now all
	// cache hits) is the same.
	if again := readFile(t, out, "results.json"); !bytes.Equal(withoutUsage(t, again), withoutUsage(t, results)) {
		t.Error("re-judging changed the results")
	}
	if code, _, stderr := cli(t, context.Background(), "judge", filepath.Join(dir, "nowhere")); code == runner.ExitOK || !strings.Contains(stderr, "not a recloop run directory") {
		t.Errorf("judge of a missing dir: exit %d %q", code, stderr)
	}
}

func withoutUsage(t *testing.T, data []byte) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(withoutWallClock(t, "r.json", data), &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc, "llm")
	out, _ := json.Marshal(doc)
	return out
}

var candidateID = regexp.MustCompile(`item_id: (\S+)`)

// The llmrank recommender picks from its candidates; ids it invents are
// rejected, counted in results.json, and the slate is filled from the base.
func TestLLMRankHallucinationsAreCounted(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", secretKey)
	server := llmtest.New(t)
	server.Answer(func(req llmtest.ChatRequest) any {
		if !strings.Contains(string(req.Schema()), "explanation") {
			return scriptedJudge(req)
		}
		ids := candidateID.FindAllStringSubmatch(req.Messages[len(req.Messages)-1].Content, -1)
		items := []map[string]any{{"item_id": "item-nope", "explanation": "made up"}}
		for _, m := range ids[:2] {
			items = append(items, map[string]any{"item_id": m[1], "explanation": "fits your taste"})
		}
		return map[string]any{"items": items}
	})
	dir := t.TempDir()
	body := strings.Replace(judgeScenario(server.URL(), filepath.Join(dir, "cache")), "  - {name: itemknn, recommender: itemknn}",
		"  - {name: llm, recommender: llmrank, params: {base: popular, candidates: 12}}", 1)
	body = strings.Replace(body, "  panel:\n    - {name: llm}\n", "", 1)
	scenario := writeFile(t, dir, "rank.yaml", body)
	out := filepath.Join(dir, "out")
	if code, _, stderr := cli(t, context.Background(), "run", "--quiet", "--out", out, scenario); code != runner.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res struct {
		Variants []struct {
			Name           string
			RecommenderLLM *struct {
				Proposed, Rejected int64
				Rate               float64 `json:"hallucination_rate"`
			} `json:"recommender_llm"`
		}
	}
	if err := json.Unmarshal(readFile(t, out, "results.json"), &res); err != nil {
		t.Fatal(err)
	}
	r := res.Variants[1].RecommenderLLM
	// Each answer proposes 3 distinct ids, one of them invented: 1/3.
	if r == nil || r.Rejected == 0 || r.Proposed != 3*r.Rejected {
		t.Fatalf("llmrank hallucinations %+v, want one in three rejected", r)
	}
	if res.Variants[0].RecommenderLLM != nil {
		t.Error("a recommender without a model reported hallucinations")
	}
	if traj := readFile(t, out, "trajectories.jsonl"); !bytes.Contains(traj, []byte(`"explanation":"fits your taste"`)) || bytes.Contains(traj, []byte("item-nope")) {
		t.Error("the slates do not carry the model's picks, or carry the invented id")
	}
}

// Calibration against human labels: a judge that always answers 3 agrees
// poorly with the shipped example labels, so a minimum agreement fails the
// gate with exit 1; without a minimum the report alone is printed.
func TestJudgesCalibrate(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", secretKey)
	server := llmtest.New(t)
	server.Answer(func(llmtest.ChatRequest) any {
		return map[string]any{"reason": "middling", "scores": map[string]int{"relevance": 3, "specificity": 3, "faithfulness": 3, "helpfulness": 3}}
	})
	dir := t.TempDir()
	scenario := writeFile(t, dir, "judged.yaml", judgeScenario(server.URL(), filepath.Join(dir, "cache")))
	labels, err := filepath.Abs("../../judges/examples/labels.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := cli(t, context.Background(), "judges", "calibrate", "--labels", labels, scenario)
	if code != runner.ExitOK || !strings.Contains(stdout, "judge llm against 12 human labels") || !strings.Contains(stdout, "faithfulness") {
		t.Fatalf("calibrate: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, _, stderr = cli(t, context.Background(), "judges", "calibrate", "--min-alpha", "0.5", "--labels", labels, scenario)
	if code != runner.ExitGateFailed || !strings.Contains(stderr, "agreement below the minimum") {
		t.Fatalf("gate: exit %d: %s", code, stderr)
	}
	if code, _, _ := cli(t, context.Background(), "judges", "calibrate", scenario); code != runner.ExitInvalid {
		t.Errorf("no --labels: exit %d", code)
	}
}

// A judge that always prefers whichever explanation it reads first is
// caught: the two orders disagree on every pair.
func TestPairwiseDetectsAPositionBiasedJudge(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", secretKey)
	server := llmtest.New(t)
	server.Answer(func(req llmtest.ChatRequest) any {
		if strings.Contains(string(req.Schema()), "winner") {
			return map[string]any{"reason": "the first one reads better", "winner": "1"}
		}
		return scriptedJudge(req)
	})
	dir := t.TempDir()
	body := strings.Replace(judgeScenario(server.URL(), filepath.Join(dir, "cache")), "  sample: 10\n", "  sample: 10\n  pairwise: true\n", 1)
	scenario := writeFile(t, dir, "pair.yaml", body)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := cli(t, context.Background(), "run", "--out", out, scenario)
	if code != runner.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res struct {
		Pairwise []struct {
			Baseline, Candidate string
			Compared            int
			PositionBiased      int `json:"position_biased"`
			Ties                int
		}
	}
	if err := json.Unmarshal(readFile(t, out, "results.json"), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Pairwise) != 1 {
		t.Fatalf("pairwise %+v", res.Pairwise)
	}
	p := res.Pairwise[0]
	if p.Baseline != "popular" || p.Candidate != "itemknn" || p.Compared == 0 || p.PositionBiased != p.Compared || p.Ties != p.Compared {
		t.Errorf("pairwise %+v, want every comparison position-biased (and so a tie)", p)
	}
	if !strings.Contains(stdout, "position bias in 100.0%") {
		t.Errorf("the table does not show the bias:\n%s", stdout[strings.Index(stdout, "Explanations"):])
	}
}

package runner_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/recloop/recloop/llm/llmtest"
	"github.com/recloop/recloop/recommenders/protocol"
	"github.com/recloop/recloop/runner"
)

const childEnv = "RECLOOP_RUNNER_TEST_RECOMMENDER"

// TestMain lets the test binary stand in for an external recommender: an
// exec recommender that recommends items of the catalog, and in round 1 an
// id the catalog lacks as well: a protocol violation on a third of its calls.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		serveRecommender()
		return
	}
	os.Exit(m.Run())
}

func serveRecommender() {
	out := bufio.NewWriter(os.Stdout)
	send := func(v any) {
		data, _ := json.Marshal(v)
		_, _ = out.Write(append(data, '\n'))
		_ = out.Flush()
	}
	send(protocol.Handshake{Type: protocol.TypeHandshake, Protocol: protocol.Version, Name: "runner-test"})
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(nil, 1<<24)
	for in.Scan() {
		var m protocol.RecommendRequest
		if err := json.Unmarshal(in.Bytes(), &m); err != nil {
			os.Exit(4)
		}
		switch m.Type {
		case protocol.TypeHealth:
			send(protocol.HealthResponse{Type: protocol.TypeHealth, ID: m.ID, Protocol: protocol.Version, Status: "ok"})
		case protocol.TypeRecommend:
			var items []protocol.ResponseItem
			if m.Round == 1 {
				items = append(items, protocol.ResponseItem{ID: "not-in-the-catalog", Score: 99, Explanation: "trust me"})
			}
			for i := range m.K {
				items = append(items, protocol.ResponseItem{ID: fmt.Sprintf("item-%04d", 10*m.Round+i+1), Score: protocol.Score(m.K - i),
					Explanation: "popular with people like you"})
			}
			send(protocol.RecommendResponse{Type: protocol.TypeSlate, ID: m.ID, Items: items})
		default:
			send(protocol.Ack{Type: protocol.TypeAck, ID: m.ID})
		}
	}
}

var itemID = regexp.MustCompile(`item-\d+`)

// answer plays both the personas and the judge: a persona clicks the first
// item of its slate and skips the second; the judge scores every
// explanation alike.
func answer(req llmtest.ChatRequest) any {
	schema := string(req.Schema())
	if strings.Contains(schema, "faithfulness") {
		return map[string]any{"reason": "plausible", "scores": map[string]int{"relevance": 4, "specificity": 2, "faithfulness": 3, "helpfulness": 3}}
	}
	if strings.Contains(schema, "satisfaction") {
		return map[string]any{"satisfaction": 6, "review": "Some of it was for me."}
	}
	if strings.Contains(schema, "summary") {
		return map[string]any{"summary": "I like what I clicked."}
	}
	ids := itemID.FindAllString(req.Messages[len(req.Messages)-1].Content, -1)
	var items []map[string]any
	if len(ids) > 0 {
		items = append(items, map[string]any{"item_id": ids[0], "action": "click", "rating": 4, "reason": "looks good"})
	}
	if len(ids) > 1 {
		items = append(items, map[string]any{"item_id": ids[1], "action": "skip", "rating": 0, "reason": "not for me"})
	}
	return map[string]any{"items": items, "exit": false, "feedback": "more like that"}
}

func scenario(url, cacheDir string) string {
	return `name: parity
seed: 9
rounds: 3
slate_size: 4
catalog:
  synthetic: {items: 120}
personas:
  population:
    - {archetype: cinephile, count: 3}
    - {archetype: scifi-geek, count: 3, segments: [geeks]}
behaviour:
  model: llm
llm:
  base_url: ` + url + `
  model: test-model
  temperature: 0
  seed: 1
  max_concurrency: 4
  prices: {test-model: {input_per_mtok: 1, output_per_mtok: 2}}
  cache: {dir: ` + cacheDir + `, mode: off}
judges:
  sample: 8
  panel:
    - {name: llm}
variants:
  - {name: popular, recommender: popular}
  - name: external
    recommender: exec
    params: {command: "'` + os.Args[0] + `'"}
`
}

// Re-judging a run gives the run's own results.json and exit code: the
// simulation's LLM accounting and the external recommender's protocol
// violations come from the run directory, the judging pass (with the cache
// off, so that it pays again what the run paid) adds what the run's judging
// added, and the recommender's error rate fails both alike (exit 3).
func TestRejudgeGivesTheRunsOwnResults(t *testing.T) {
	t.Setenv(childEnv, "1")
	t.Setenv("OPENAI_API_KEY", "sk-test-never-written")
	server := llmtest.New(t)
	server.Answer(answer)
	dir := t.TempDir()
	path := filepath.Join(dir, "parity.yaml")
	if err := os.WriteFile(path, []byte(scenario(server.URL(), filepath.Join(dir, "cache"))), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	ran, err := runner.Run(context.Background(), path, runner.Options{Out: out})
	if code := runner.ExitCode(err); code != runner.ExitRuntime || !strings.Contains(fmt.Sprint(err), "above the tolerance") {
		t.Fatalf("run: exit %d: %v", code, err)
	}
	first := readResults(t, out)
	var parsed struct {
		LLM struct {
			Calls  int                       `json:"calls"`
			ByRole map[string]map[string]any `json:"by_role"`
		} `json:"llm"`
		Variants []struct {
			Name     string `json:"name"`
			Protocol *struct {
				Violations map[string]int64 `json:"violations"`
			} `json:"protocol"`
		} `json:"variants"`
	}
	if err := json.Unmarshal(first, &parsed); err != nil {
		t.Fatal(err)
	}
	if parsed.LLM.ByRole["persona"] == nil || parsed.LLM.ByRole["judge"] == nil {
		t.Fatalf("the run's LLM usage lacks the personas' or the judge's calls: %+v", parsed.LLM)
	}
	external := parsed.Variants[1]
	if external.Protocol == nil || external.Protocol.Violations["unknown_id"] == 0 {
		t.Fatalf("the external recommender's violations are not counted: %+v", external)
	}
	calls := server.Count()

	again, err := runner.Rejudge(context.Background(), out, runner.Options{})
	if code := runner.ExitCode(err); code != runner.ExitRuntime {
		t.Fatalf("rejudge: exit %d: %v", code, err)
	}
	if server.Count() == calls {
		t.Fatal("re-judging made no judge call; the test would not see judging's accounting")
	}
	second := readResults(t, out)
	if !bytes.Equal(withoutWallClock(t, second), withoutWallClock(t, first)) {
		t.Errorf("re-judging changed results.json: %s", firstDifference(withoutWallClock(t, first), withoutWallClock(t, second)))
	}
	if ran.Dir != again.Dir || again.Results == nil {
		t.Errorf("outcomes: run %+v, rejudge %+v", ran, again)
	}
}

func readResults(t *testing.T, dir string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// withoutWallClock drops the variants' wall-clock latency, the only field
// allowed to differ between two passes over one run.
func withoutWallClock(t *testing.T, data []byte) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for _, v := range doc["variants"].([]any) {
		delete(v.(map[string]any), "wall_latency_ms")
	}
	out, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// firstDifference shows the first line where two documents differ.
func firstDifference(a, b []byte) string {
	x, y := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(x), len(y)) {
		if x[i] != y[i] {
			return fmt.Sprintf("line %d: %q, now %q", i+1, x[i], y[i])
		}
	}
	return fmt.Sprintf("%d lines, now %d", len(x), len(y))
}

package runner_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/recloop/recloop/llm/llmtest"

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

// chatAnswer plays LLM users and the llmchat recommender: a user accepts
// the last item id its prompt names (the latest proposal) and opens with a
// genre; the recommender proposes the first two candidates and one id it
// made up.
func chatAnswer(req llmtest.ChatRequest) any {
	schema := string(req.Schema())
	prompt := req.Messages[len(req.Messages)-1].Content
	ids := itemID.FindAllString(prompt, -1)
	switch {
	case strings.Contains(schema, "accepted_item"):
		if len(ids) == 0 {
			return map[string]any{"utterance": "I'd like a drama, please.", "act": "inform", "accepted_item": "", "satisfaction": 0.5, "reason": "opening"}
		}
		return map[string]any{"utterance": "I'll take that one.", "act": "accept", "accepted_item": ids[len(ids)-1], "satisfaction": 0.8, "reason": "fits"}
	default:
		items := []map[string]any{{"id": "item-9999", "explanation": "made up"}}
		for _, id := range ids[:min(2, len(ids))] {
			items = append(items, map[string]any{"id": id, "explanation": "a drama you may like"})
		}
		return map[string]any{"message": "Here you go.", "items": items}
	}
}

func llmConversation(url, cacheDir, mode string) string {
	return `name: llm-conversation
seed: 5
rounds: 1
replicates: 2
slate_size: 3
catalog:
  synthetic: {items: 150}
personas:
  population:
    - {archetype: cinephile, count: 3}
    - {archetype: romantic, count: 2}
conversation: {max_turns: 3, user: llm}
llm:
  base_url: ` + url + `
  model: test-model
  seed: 1
  max_concurrency: 4
  cache: {dir: ` + cacheDir + `, mode: ` + mode + `}
variants:
  - {name: clarify, recommender: clarify}
  - {name: llm, recommender: llmchat}
`
}

// The LLM variant of a conversational run: LLM users against clarify and
// llmchat on the fake endpoint. Its transcripts replay from the cache with
// the endpoint gone, byte for byte; the model that played the users is
// recorded, and --user-model swaps it for the users' calls only.
func TestLLMConversationsReplayFromTheCache(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-test-never-written")
	server := llmtest.New(t)
	server.Answer(chatAnswer)
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	write := func(name, mode string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(llmConversation(server.URL(), cache, mode)), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	first := filepath.Join(dir, "first")
	out, err := runner.Run(t.Context(), write("rw.yaml", "readwrite"), runner.Options{Out: first})
	if err != nil {
		t.Fatal(err)
	}
	var llmVariant *metrics.VariantResult
	for i := range out.Results.Variants {
		if out.Results.Variants[i].Name == "llm" {
			llmVariant = &out.Results.Variants[i]
		}
	}
	if llmVariant == nil || llmVariant.RecommenderLLM == nil || llmVariant.RecommenderLLM.Rejected == 0 {
		t.Fatalf("llmchat's made-up ids are not counted: %+v", llmVariant)
	}
	if c := llmVariant.Conversation; c == nil || c.Successes == 0 || c.Dialogues != 10 {
		t.Fatalf("llm variant dialogues: %+v", c)
	}
	trajectories := func(dir string) []byte {
		data, err := os.ReadFile(filepath.Join(dir, "trajectories.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		return turnLatency.ReplaceAll(data, nil)
	}
	recorded := trajectories(first)
	if !bytes.Contains(recorded, []byte(`"conversation":{"max_turns":3,"user":"llm","user_model":"test-model"`)) {
		t.Fatalf("the run event does not record the user model:\n%.600s", recorded)
	}
	calls := server.Count()

	replayed := filepath.Join(dir, "replayed")
	if _, err := runner.Run(t.Context(), write("replay.yaml", "replay"), runner.Options{Out: replayed}); err != nil {
		t.Fatal(err)
	}
	if server.Count() != calls {
		t.Fatalf("the replay made %d calls", server.Count()-calls)
	}
	if again := trajectories(replayed); !bytes.Equal(again, recorded) {
		t.Fatalf("replayed transcripts differ: %s", firstDifference(recorded, again))
	}

	swapped := filepath.Join(dir, "swapped")
	if _, err := runner.Run(t.Context(), write("rw2.yaml", "readwrite"), runner.Options{Out: swapped, UserModel: "second-model"}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(trajectories(swapped), []byte(`"user_model":"second-model"`)) {
		t.Fatal("--user-model is not recorded")
	}
	models := map[string]map[string]bool{}
	for _, req := range server.Requests()[calls:] {
		role := "recommender"
		if strings.Contains(string(req.Schema()), "accepted_item") {
			role = "user"
		}
		if models[role] == nil {
			models[role] = map[string]bool{}
		}
		models[role][req.Model] = true
	}
	if !models["user"]["second-model"] || models["user"]["test-model"] || !models["recommender"]["test-model"] || models["recommender"]["second-model"] {
		t.Fatalf("models by role after --user-model: %v", models)
	}
}

// A dry run of a conversation with LLM users and an LLM recommender counts
// every dialogue at its longest: 5 personas × 2 replicates = 10 dialogues
// per variant; each has max_turns + 1 = 4 user turns in both variants (80
// calls) and 3 replies from llmchat (30 calls).
func TestDryRunCountsEveryTurnOfEveryDialogue(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-test-never-written")
	dir := t.TempDir()
	path := filepath.Join(dir, "dry.yaml")
	if err := os.WriteFile(path, []byte(llmConversation("http://127.0.0.1:9/v1", filepath.Join(dir, "cache"), "off")), 0o644); err != nil {
		t.Fatal(err)
	}
	plan, err := runner.Prepare(t.Context(), path, runner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer plan.Close()
	est, ok := runner.EstimateLLM(plan)
	if !ok {
		t.Fatal("no estimate")
	}
	got := map[string]int{}
	for _, k := range est.Kinds {
		got[k.Kind] = k.Calls
		if k.PromptTokens == 0 {
			t.Errorf("%s: no prompt tokens", k.Kind)
		}
	}
	if got["chat-user"] != 80 || got["chat-reply"] != 30 || len(got) != 2 {
		t.Fatalf("estimated calls %v, want chat-user 80, chat-reply 30", got)
	}
}

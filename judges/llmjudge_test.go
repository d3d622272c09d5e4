package judges

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/llm"
	"github.com/recloop/recloop/llm/llmtest"
)

// newStack is a real client against the fake server, with temperature 0,
// seed 1 and no cache, so every sample reaches the server.
func newStack(t *testing.T, srv *llmtest.Server) *llm.Stack {
	t.Helper()
	t.Setenv("RECLOOP_JUDGES_TEST_KEY", "sk-test")
	temp, seed := 0.0, 1
	s, err := llm.New(llm.Config{
		BaseURL: srv.URL(), Model: "judge-model", APIKeyEnv: "RECLOOP_JUDGES_TEST_KEY", Temperature: &temp, Seed: &seed,
		Cache: llm.CacheConfig{Dir: t.TempDir(), Mode: llm.CacheOff},
	}, llm.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newJudge(t *testing.T, client llm.Client, opts LLMOptions) *LLMJudge {
	t.Helper()
	j, err := NewLLMJudge(client, Rubric{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func sampleCase() Case {
	c := Case{
		Variant: "secret-variant-name", Round: 4, Persona: "ada",
		PersonaSummary: "Ada loves slow-burn mysteries.",
		Interests:      catalog.Taste{Categories: map[string]float64{"latent-westerns": 1}},
		Item: &catalog.Item{ID: "item-7", Title: "The Lantern Case", Categories: []string{"mystery", "drama"},
			Tags: []string{"detective", "slow-burn"}, Description: "A clerk reopens a cold case.",
			Attributes: map[string]any{"year": 1998, "country": "fr", "runtime": 104}},
		Rank: 2, Slate: []string{"slate-item-1", "item-7"},
		Explanation: "A slow-burn detective story like Old Case 24.",
	}
	for i := range 25 {
		c.History = append(c.History, HistoryItem{Item: fmt.Sprintf("h%d", i), Title: fmt.Sprintf("Old Case %d", i), Rating: 4})
	}
	return c
}

func answer(reason string, rel, spec, faith, help int) llmtest.Reply {
	return llmtest.JSON(map[string]any{"reason": reason, "scores": map[string]int{
		Relevance: rel, Specificity: spec, Faithfulness: faith, Helpfulness: help}})
}

func TestLLMJudgeRequestShape(t *testing.T) {
	srv := llmtest.New(t)
	srv.Handle(func(llmtest.ChatRequest) llmtest.Reply { return answer("fits", 4, 3, 5, 4) })
	stack := newStack(t, srv)
	v, err := newJudge(t, stack, LLMOptions{}).Judge(context.Background(), sampleCase())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{Relevance: 4, Specificity: 3, Faithfulness: 5, Helpfulness: 4}
	if fmt.Sprint(v.Scores) != fmt.Sprint(want) || v.Reason != "fits" || v.Samples != 1 || v.Judge != "llm" {
		t.Errorf("verdict %+v, want scores %v, reason fits, 1 sample", v, want)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	req := reqs[0]
	if req.Seed == nil || *req.Seed != 1 || req.MaxCompletionTokens != 400 {
		t.Errorf("seed %v, max_completion_tokens %d; want seed 1 (seed+replicate 0), 400", req.Seed, req.MaxCompletionTokens)
	}
	schema := string(req.Schema())
	if r, s := strings.Index(schema, `"reason"`), strings.Index(schema, `"scores"`); r < 0 || s < 0 || r > s {
		t.Errorf("schema must list reason before scores: %s", schema)
	}
	var root struct {
		Required             []string `json:"required"`
		AdditionalProperties bool     `json:"additionalProperties"`
		Properties           struct {
			Scores struct {
				Required             []string `json:"required"`
				AdditionalProperties *bool    `json:"additionalProperties"`
			} `json:"scores"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(req.Schema(), &root); err != nil {
		t.Fatal(err)
	}
	scores := root.Properties.Scores
	if fmt.Sprint(root.Required) != "[reason scores]" || root.AdditionalProperties ||
		fmt.Sprint(scores.Required) != "[relevance specificity faithfulness helpfulness]" ||
		scores.AdditionalProperties == nil || *scores.AdditionalProperties {
		t.Errorf("schema not strict over the rubric: %s", schema)
	}
	prompt := req.Messages[0].Content + "\n" + req.Messages[1].Content
	for _, want := range []string{
		"A slow-burn detective story like Old Case 24.", "Ada loves slow-burn mysteries.",
		"Item: The Lantern Case", "Categories: mystery, drama", "Tags: detective, slow-burn",
		"country: fr\nruntime: 104\nyear: 1998", "Description: A clerk reopens a cold case.",
		"- Old Case 5 (rated 4)", "- Old Case 24 (rated 4)", "last 20 of 25",
		"relevance", "faithfulness", "5: " + DefaultRubric().Dimensions[2].Anchors[5], PromptVersion,
	} {
		if !strings.Contains(prompt, want) {
			t.Errorf("prompt lacks %q:\n%s", want, prompt)
		}
	}
	for _, leak := range []string{"latent-westerns", "secret-variant-name", "slate-item-1", "Old Case 4 "} {
		if strings.Contains(prompt, leak) {
			t.Errorf("prompt leaks %q", leak)
		}
	}
	u := stack.Usage()
	if u.ByRole[llm.RoleJudge].Calls != 1 || u.BySubject["ada"].Calls != 1 {
		t.Errorf("usage %+v, want one judge call about ada", u)
	}
}

func TestLLMJudgeDeterministicPrompt(t *testing.T) {
	srv := llmtest.New(t)
	srv.Handle(func(llmtest.ChatRequest) llmtest.Reply { return answer("", 3, 3, 3, 3) })
	j := newJudge(t, newStack(t, srv), LLMOptions{})
	for range 3 {
		if _, err := j.Judge(context.Background(), sampleCase()); err != nil {
			t.Fatal(err)
		}
	}
	reqs := srv.Requests()
	for _, r := range reqs[1:] {
		if r.Messages[1].Content != reqs[0].Messages[1].Content {
			t.Fatalf("prompt changed between identical calls:\n%s\n---\n%s", reqs[0].Messages[1].Content, r.Messages[1].Content)
		}
	}
}

func TestLLMJudgeRepairsMissingScore(t *testing.T) {
	srv := llmtest.New(t)
	srv.Handle(func(r llmtest.ChatRequest) llmtest.Reply {
		if len(r.Messages) == 2 {
			return llmtest.JSON(map[string]any{"reason": "forgot one", "scores": map[string]int{
				Relevance: 4, Specificity: 3, Faithfulness: 5}})
		}
		return answer("repaired", 4, 3, 5, 2)
	})
	v, err := newJudge(t, newStack(t, srv), LLMOptions{}).Judge(context.Background(), sampleCase())
	if err != nil {
		t.Fatal(err)
	}
	if srv.Count() != 2 || v.Scores[Helpfulness] != 2 || v.Reason != "repaired" {
		t.Errorf("after %d requests verdict %+v; want the repaired answer after 2", srv.Count(), v)
	}
	last := srv.Requests()[1].Messages
	if !strings.Contains(last[len(last)-1].Content, "helpfulness") {
		t.Errorf("repair prompt does not name the missing score: %q", last[len(last)-1].Content)
	}
}

func TestLLMJudgeSamples(t *testing.T) {
	// Seeds 1..4 are replicates 0..3. Per replicate:
	//   relevance    2 5 5 1 → mean 13/4 = 3.25, majority 5
	//   specificity  4 2 2 4 → mean 3,           majority tie 2–4 → 2
	//   faithfulness 3 3 3 3 → 3
	//   helpfulness  1 1 2 2 → mean 1.5,         majority tie → 1
	perSeed := map[int][4]int{1: {2, 4, 3, 1}, 2: {5, 2, 3, 1}, 3: {5, 2, 3, 2}, 4: {1, 4, 3, 2}}
	tests := []struct {
		aggregate string
		want      map[string]float64
	}{
		{AggregateMean, map[string]float64{Relevance: 3.25, Specificity: 3, Faithfulness: 3, Helpfulness: 1.5}},
		{AggregateMajority, map[string]float64{Relevance: 5, Specificity: 2, Faithfulness: 3, Helpfulness: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.aggregate, func(t *testing.T) {
			srv := llmtest.New(t)
			srv.Handle(func(r llmtest.ChatRequest) llmtest.Reply {
				s := perSeed[*r.Seed]
				reply := answer(fmt.Sprintf("seed %d", *r.Seed), s[0], s[1], s[2], s[3])
				reply.Model = "judge-model-2024-08-06"
				return reply
			})
			v, err := newJudge(t, newStack(t, srv), LLMOptions{Samples: 4, Aggregate: tt.aggregate}).
				Judge(context.Background(), sampleCase())
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(v.Scores) != fmt.Sprint(tt.want) {
				t.Errorf("scores %v, want %v", v.Scores, tt.want)
			}
			if v.Samples != 4 || v.Reason != "seed 1" || v.Model != "judge-model-2024-08-06" || srv.Count() != 4 {
				t.Errorf("verdict %+v after %d calls; want 4 samples, the first reason, the pinned model", v, srv.Count())
			}
		})
	}
}

func TestLLMJudgeCompare(t *testing.T) {
	a, b := sampleCase(), sampleCase()
	a.Variant, b.Variant = "variant-alpha", "variant-beta"
	a.Explanation = "A slow-burn detective story like Old Case 24."
	b.Explanation = "You might like this."
	tests := []struct {
		name     string
		pick     func(first, second string) string
		want     string
		wantBias bool
	}{
		{"position-biased judge", func(string, string) string { return "1" }, WinnerTie, true},
		{"second-position bias", func(string, string) string { return "2" }, WinnerTie, true},
		{"prefers the specific explanation", func(first, _ string) string {
			if strings.Contains(first, "detective") {
				return "1"
			}
			return "2"
		}, WinnerA, false},
		{"prefers the vague explanation", func(first, _ string) string {
			if strings.Contains(first, "might") {
				return "1"
			}
			return "2"
		}, WinnerB, false},
		{"tie both ways", func(string, string) string { return "tie" }, WinnerTie, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.New(t)
			srv.Handle(func(r llmtest.ChatRequest) llmtest.Reply {
				user := r.Messages[len(r.Messages)-1].Content
				first, second, _ := strings.Cut(user[strings.Index(user, "Explanation 1:"):], "Explanation 2:")
				return llmtest.JSON(map[string]string{"reason": "r", "winner": tt.pick(first, second)})
			})
			pv, err := newJudge(t, newStack(t, srv), LLMOptions{}).Compare(context.Background(), a, b)
			if err != nil {
				t.Fatal(err)
			}
			if pv.Winner != tt.want || pv.PositionBias != tt.wantBias {
				t.Errorf("verdict %+v, want winner %s, position bias %v", pv, tt.want, tt.wantBias)
			}
			reqs := srv.Requests()
			if len(reqs) != 2 {
				t.Fatalf("%d requests, want both orders", len(reqs))
			}
			u0, u1 := reqs[0].Messages[1].Content, reqs[1].Messages[1].Content
			if strings.Index(u0, a.Explanation) > strings.Index(u0, b.Explanation) ||
				strings.Index(u1, b.Explanation) > strings.Index(u1, a.Explanation) {
				t.Errorf("orders not (a, b) then (b, a):\n%s\n---\n%s", u0, u1)
			}
			for _, leak := range []string{"variant-alpha", "variant-beta"} {
				if strings.Contains(u0+u1+reqs[0].Messages[0].Content, leak) {
					t.Errorf("pairwise prompt not blind: contains %q", leak)
				}
			}
		})
	}
}

func TestLLMJudgeCompareNeedsSameItem(t *testing.T) {
	a, b := sampleCase(), sampleCase()
	b.Item = &catalog.Item{ID: "item-8"}
	_, err := newJudge(t, newStack(t, llmtest.New(t)), LLMOptions{}).Compare(context.Background(), a, b)
	if err == nil {
		t.Fatal("comparing explanations of different items succeeded")
	}
}

func TestLLMFactory(t *testing.T) {
	srv := llmtest.New(t)
	srv.Handle(func(llmtest.ChatRequest) llmtest.Reply { return answer("", 3, 3, 3, 3) })
	dir := t.TempDir()
	override := `{{define "system"}}Custom judge.{{end}}{{define "user"}}Only: {{.Explanation}}{{end}}`
	if err := os.WriteFile(filepath.Join(dir, "mine.tmpl"), []byte(override), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New("llm", Env{}, nil); !errors.Is(err, ErrNoLLM) {
		t.Errorf("without an LLM: %v, want ErrNoLLM", err)
	}
	if _, err := New("llm", Env{LLM: newStack(t, srv), Dir: dir}, config.Params{"prompt": "missing.tmpl"}); err == nil {
		t.Error("a missing prompt file was accepted")
	}
	j, err := New("llm", Env{LLM: newStack(t, srv), Dir: dir}, config.Params{"prompt": "mine.tmpl", "samples": 2})
	if err != nil {
		t.Fatal(err)
	}
	v, err := j.Judge(context.Background(), sampleCase())
	if err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if v.Samples != 2 || len(reqs) != 2 || reqs[0].Messages[1].Content != "Only: "+sampleCase().Explanation {
		t.Errorf("override prompt not used or samples ignored: %+v, %d requests", v, len(reqs))
	}
	if _, err := NewLLMJudge(newStack(t, srv), Rubric{}, LLMOptions{Aggregate: "median"}); err == nil {
		t.Error("an unknown aggregate was accepted")
	}
	dup := Rubric{Dimensions: []Dimension{{Name: "x"}, {Name: "x"}}}
	if _, err := NewLLMJudge(newStack(t, srv), dup, LLMOptions{}); err == nil {
		t.Error("a rubric with duplicate dimensions was accepted")
	}
}

func TestParseScores(t *testing.T) {
	dims := []string{Relevance, Faithfulness}
	tests := []struct {
		name    string
		content string
		want    string
		wantErr bool
	}{
		{"valid", `{"reason":"ok","scores":{"relevance":4,"faithfulness":2}}`, "map[faithfulness:2 relevance:4]", false},
		{"clamped and rounded", `{"reason":"","scores":{"relevance":9,"faithfulness":-1.2}}`, "map[faithfulness:1 relevance:5]", false},
		{"half rounds away from zero", `{"reason":"","scores":{"relevance":3.5,"faithfulness":1.49}}`, "map[faithfulness:1 relevance:4]", false},
		{"extra dimension ignored", `{"reason":"","scores":{"relevance":4,"faithfulness":2,"humour":5}}`, "map[faithfulness:2 relevance:4]", false},
		{"missing dimension", `{"reason":"","scores":{"relevance":4}}`, "", true},
		{"string score", `{"reason":"","scores":{"relevance":"4","faithfulness":2}}`, "", true},
		{"not JSON", `I give it a 4`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got, err := ParseScores([]byte(tt.content), dims)
			if (err != nil) != tt.wantErr || (err == nil && fmt.Sprint(got) != tt.want) {
				t.Errorf("ParseScores = %v, %v; want %s (error %v)", got, err, tt.want, tt.wantErr)
			}
			if err != nil && !errors.Is(err, llm.ErrMalformed) {
				t.Errorf("error %v is not ErrMalformed", err)
			}
		})
	}
}

func FuzzParseScores(f *testing.F) {
	f.Add([]byte(`{"reason":"ok","scores":{"relevance":4,"specificity":1,"faithfulness":5,"helpfulness":3}}`))
	f.Add([]byte(`{"scores":{"relevance":1e308}}`))
	f.Add([]byte(`{"reason":"x","winner":"1"}`))
	f.Add([]byte(`null`))
	dims := []string{Relevance, Specificity, Faithfulness, Helpfulness}
	f.Fuzz(func(t *testing.T, content []byte) {
		_, scores, err := ParseScores(content, dims)
		if err == nil {
			for _, d := range dims {
				if s, ok := scores[d]; !ok || s < 1 || s > 5 || s != float64(int(s)) {
					t.Fatalf("score %s = %v (present %v), want an integer in 1..5", d, s, ok)
				}
			}
		}
		if _, winner, err := ParsePairAnswer(content); err == nil && winner != "1" && winner != "2" && winner != "tie" {
			t.Fatalf("winner %q accepted", winner)
		}
	})
}

func BenchmarkLLMJudgePrompt(b *testing.B) {
	j, err := NewLLMJudge(llmFunc(nil), Rubric{}, LLMOptions{})
	if err != nil {
		b.Fatal(err)
	}
	c := sampleCase()
	for b.Loop() {
		data := j.promptData(c)
		data.Explanation = c.Explanation
		if _, err := render(j.prompt, data); err != nil {
			b.Fatal(err)
		}
	}
}

// llmFunc adapts a function to llm.Client.
type llmFunc func(context.Context, llm.Request) (llm.Response, error)

func (f llmFunc) Complete(ctx context.Context, r llm.Request) (llm.Response, error) { return f(ctx, r) }

// TestLLMJudgeDocs keeps the parameter table in docs/judges-llm.md equal to
// the spec.
func TestLLMJudgeDocs(t *testing.T) {
	doc, err := os.ReadFile("../docs/judges-llm.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), llmSpec.Markdown()) {
		t.Errorf("docs/judges-llm.md does not contain the llm judge's parameters as rendered by its spec:\n%s", llmSpec.Markdown())
	}
}

var updatePrompts = flag.Bool("update-prompts", false, "rewrite the rendered prompts under testdata/")

// TestPromptGolden pins the rendered prompts: a change to them must come
// with a new prompt version (cached answers are keyed by the prompt text).
func TestPromptGolden(t *testing.T) {
	// A rubric of its own, so that the default rubric can change freely.
	rubric := Rubric{Name: "golden", Dimensions: []Dimension{
		{Name: Relevance, Description: "Tied to this user?", Anchors: map[int]string{5: "precisely", 1: "not at all", 3: "loosely"}},
		{Name: Faithfulness, Anchors: map[int]string{1: "invented", 5: "all true"}},
	}}
	j, err := NewLLMJudge(llmFunc(nil), rubric, LLMOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := sampleCase(), sampleCase()
	b.Explanation = "You might like this."
	judgeData := j.promptData(a)
	judgeData.Explanation = a.Explanation
	pairData := j.promptData(a)
	pairData.Explanations = []string{a.Explanation, b.Explanation}
	tests := []struct {
		golden string
		prompt *template.Template
		data   promptData
	}{
		{"testdata/prompt-" + PromptVersion + ".golden", j.prompt, judgeData},
		{"testdata/prompt-" + PairwisePromptVersion + ".golden", j.pairPrompt, pairData},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			msgs, err := render(tt.prompt, tt.data)
			if err != nil {
				t.Fatal(err)
			}
			got := "=== system\n" + msgs[0].Content + "\n=== user\n" + msgs[1].Content + "\n"
			if *updatePrompts {
				if err := os.WriteFile(tt.golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(tt.golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("rendered prompt differs from %s (run with -update-prompts and bump the prompt version):\n%s", tt.golden, got)
			}
		})
	}
}

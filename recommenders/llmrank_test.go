package recommenders

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/llm"
	"github.com/recloop/recloop/llm/llmtest"
)

// llmrankCatalog is tinyCatalog with years on some items. With base
// "popular" and no clicks the candidates come in prior order a, b, c, d, f
// (e is released in round 2).
func llmrankCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.New([]catalog.Item{
		{ID: "a", Title: "Alpha", Categories: []string{"sci-fi"}, Tags: []string{"space"}, Popularity: 60, Attributes: map[string]any{"year": 1979}},
		{ID: "b", Title: "Bravo", Categories: []string{"sci-fi"}, Tags: []string{"time-travel"}, Popularity: 50, Attributes: map[string]any{"year": 1985.0}},
		{ID: "c", Title: "Charlie", Categories: []string{"drama"}, Tags: []string{"space"}, Popularity: 40},
		{ID: "d", Title: "Delta", Categories: []string{"drama"}, Tags: []string{"wedding"}, Popularity: 30, Attributes: map[string]any{"year": "2001", "studio": "X"}},
		{ID: "e", Title: "Echo", Categories: []string{"comedy"}, Popularity: 20, ReleaseRound: 2},
		{ID: "f", Categories: []string{"comedy"}, Tags: []string{"time-travel"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// llmrankEnv starts a fake endpoint and an Env whose client talks to it.
func llmrankEnv(t *testing.T, cfg llm.Config) (*llmtest.Server, Env) {
	t.Helper()
	t.Setenv("OPENAI_API_KEY", "k")
	srv := llmtest.New(t)
	cfg.BaseURL, cfg.Model, cfg.Cache = srv.URL(), "m", llm.CacheConfig{Mode: llm.CacheOff}
	client, err := llm.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return srv, Env{Catalog: llmrankCatalog(t), LLM: client, Seed: 1, Variant: "v"}
}

func newTestLLMRank(t *testing.T, env Env, params map[string]any) *LLMRank {
	t.Helper()
	raw := map[string]any{"base": "popular", "candidates": 5}
	for k, v := range params {
		raw[k] = v
	}
	return build(t, LLMRankName, env, raw).(*LLMRank)
}

// picks answers with the given ids, each explained as "why <id>".
func picks(ids ...string) func(llmtest.ChatRequest) any {
	return func(llmtest.ChatRequest) any {
		items := make([]map[string]string, len(ids))
		for i, id := range ids {
			items[i] = map[string]string{"item_id": id, "explanation": "why " + id}
		}
		return map[string]any{"items": items}
	}
}

// popularWhy is the popular ranking's explanation of an item.
func popularWhy(t *testing.T, env Env, id string) string {
	t.Helper()
	s := recommend(t, build(t, "popular", env, nil), Request{User: "u", K: env.Catalog.Len()})
	for _, it := range s.Items {
		if it.Item == id {
			return it.Explanation
		}
	}
	t.Fatalf("popular does not rank %q", id)
	return ""
}

func TestLLMRankSlates(t *testing.T) {
	tests := []struct {
		name   string
		answer []string
		k      int
		want   []string
		// fromBase are the ranks (0-based) whose explanation is the base's.
		fromBase               []int
		rejected, proposed     int64
		fallbacks, wantCallsGE int
	}{
		// Scores are k − position: 3, 2, 1.
		{name: "model order with its explanations", answer: []string{"d", "a", "f"}, k: 3,
			want: []string{"d", "a", "f"}, proposed: 3, wantCallsGE: 1},
		// zzz is no item, e is unreleased (not a candidate): both rejected;
		// a is kept and the slate is filled from the base order a, b, c, …
		// skipping a.
		{name: "ids outside the candidates rejected and filled", answer: []string{"zzz", "a", "e"}, k: 3,
			want: []string{"a", "b", "c"}, fromBase: []int{1, 2}, rejected: 2, proposed: 3, wantCallsGE: 1},
		{name: "duplicates ignored", answer: []string{"c", "c", "b", "c"}, k: 3,
			want: []string{"c", "b", "a"}, fromBase: []int{2}, proposed: 2, wantCallsGE: 1},
		// Only 5 candidates exist, so k = 8 gives 5 items.
		{name: "k beyond the candidates", answer: []string{"f"}, k: 8,
			want: []string{"f", "a", "b", "c", "d"}, fromBase: []int{1, 2, 3, 4}, proposed: 1, wantCallsGE: 1},
		{name: "extra picks beyond k dropped", answer: []string{"b", "c", "d", "f"}, k: 2,
			want: []string{"b", "c"}, proposed: 4, wantCallsGE: 1},
		{name: "k = 0 calls nobody", k: 0, want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, env := llmrankEnv(t, llm.Config{})
			srv.Answer(picks(tt.answer...))
			r := newTestLLMRank(t, env, nil)
			req := Request{User: "u1", K: tt.k}
			got := recommend(t, r, req)
			checkContract(t, env.Catalog, req, got)
			if !slices.Equal(ids(got), tt.want) {
				t.Fatalf("slate %v, want %v", ids(got), tt.want)
			}
			for i, it := range got.Items {
				if want := float64(tt.k - i); it.Score != want {
					t.Errorf("rank %d score %v, want %v", i+1, it.Score, want)
				}
				want := "why " + it.Item
				if slices.Contains(tt.fromBase, i) {
					want = popularWhy(t, env, it.Item)
				}
				if it.Explanation != want {
					t.Errorf("rank %d explanation %q, want %q", i+1, it.Explanation, want)
				}
			}
			if rej, prop := r.Hallucinations(); rej != tt.rejected || prop != tt.proposed {
				t.Errorf("Hallucinations() = %d, %d, want %d, %d", rej, prop, tt.rejected, tt.proposed)
			}
			if r.Fallbacks() != 0 {
				t.Errorf("Fallbacks() = %d", r.Fallbacks())
			}
			if srv.Count() < tt.wantCallsGE || (tt.wantCallsGE == 0 && srv.Count() != 0) {
				t.Errorf("%d calls", srv.Count())
			}
		})
	}
}

func TestLLMRankCountersAccumulate(t *testing.T) {
	srv, env := llmrankEnv(t, llm.Config{})
	srv.Answer(picks("x", "a", "y"))
	r := newTestLLMRank(t, env, nil)
	for u := range 3 {
		recommend(t, r, Request{User: "u" + strconv.Itoa(u), K: 2})
	}
	// Each call proposes 3 distinct ids of which x and y are not candidates.
	if rej, prop := r.Hallucinations(); rej != 6 || prop != 9 {
		t.Errorf("Hallucinations() = %d, %d, want 6, 9", rej, prop)
	}
	var reporter HallucinationReporter = r
	if rej, _ := reporter.Hallucinations(); rej != 6 {
		t.Errorf("through the interface: %d", rej)
	}
}

func TestLLMRankMalformedFallsBackToBase(t *testing.T) {
	srv, env := llmrankEnv(t, llm.Config{})
	srv.Handle(func(llmtest.ChatRequest) llmtest.Reply { return llmtest.Reply{Content: "I like Alpha."} })
	r := newTestLLMRank(t, env, nil)
	req := Request{User: "u1", K: 3}
	got := recommend(t, r, req)
	want := recommend(t, build(t, "popular", env, nil), req)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fallback slate %v, want the base's %v", got, want)
	}
	if r.Fallbacks() != 1 {
		t.Errorf("Fallbacks() = %d, want 1", r.Fallbacks())
	}
	if rej, prop := r.Hallucinations(); rej != 0 || prop != 0 {
		t.Errorf("Hallucinations() = %d, %d after a malformed answer", rej, prop)
	}
}

func TestLLMRankFatalErrorsPropagate(t *testing.T) {
	tests := []struct {
		name  string
		cfg   llm.Config
		reply llmtest.Reply
		want  error
	}{
		// 1 USD per token: the first call spends far more than the budget,
		// so the second is refused before it is sent.
		{name: "budget", cfg: llm.Config{BudgetUSD: 1e-6, Prices: map[string]llm.Price{"m": {InputPerMTok: 1e6, OutputPerMTok: 1e6}}},
			want: llm.ErrBudgetExceeded},
		{name: "auth", reply: llmtest.Error(401, "invalid_api_key", "bad key"), want: llm.ErrAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, env := llmrankEnv(t, tt.cfg)
			if tt.reply.Status != 0 {
				srv.Handle(func(llmtest.ChatRequest) llmtest.Reply { return tt.reply })
			} else {
				srv.Answer(picks("a"))
			}
			r := newTestLLMRank(t, env, nil)
			var err error
			for u := 0; u < 2 && err == nil; u++ {
				_, err = r.Recommend(context.Background(), Request{User: "u" + strconv.Itoa(u), K: 2})
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if r.Fallbacks() != 0 {
				t.Errorf("Fallbacks() = %d", r.Fallbacks())
			}
		})
	}
}

func TestLLMRankCancelledContext(t *testing.T) {
	srv, env := llmrankEnv(t, llm.Config{})
	srv.Answer(picks("a"))
	r := newTestLLMRank(t, env, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Recommend(ctx, Request{User: "u", K: 2}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if r.Fallbacks() != 0 || srv.Count() != 0 {
		t.Errorf("fallbacks %d, calls %d", r.Fallbacks(), srv.Count())
	}
}

func TestLLMRankRequest(t *testing.T) {
	srv, env := llmrankEnv(t, llm.Config{})
	srv.Answer(picks("a"))
	r := newTestLLMRank(t, env, map[string]any{"candidates": 3})
	recommend(t, r, Request{User: "u1", K: 2, History: []HistoryItem{{Item: "d", Round: -1, Rating: 4}}})
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	got := reqs[0]
	rf := got.ResponseFormat
	if rf == nil || rf.Type != "json_schema" || rf.JSONSchema == nil || !rf.JSONSchema.Strict || rf.JSONSchema.Name != "llmrank_slate" {
		t.Fatalf("response_format %+v, want strict json_schema llmrank_slate", rf)
	}
	var gotSchema, wantSchema any
	if err := json.Unmarshal(got.Schema(), &gotSchema); err != nil {
		t.Fatal(err)
	}
	wantSchema = map[string]any{
		"type": "object", "required": []any{"items"}, "additionalProperties": false,
		"properties": map[string]any{"items": map[string]any{"type": "array", "items": map[string]any{
			"type": "object", "required": []any{"item_id", "explanation"}, "additionalProperties": false,
			"properties": map[string]any{"item_id": map[string]any{"type": "string"}, "explanation": map[string]any{"type": "string"}},
		}}},
	}
	if !reflect.DeepEqual(gotSchema, wantSchema) {
		t.Errorf("schema %s", got.Schema())
	}
	if got.MaxCompletionTokens != 800 {
		t.Errorf("max_completion_tokens %d, want the default 800", got.MaxCompletionTokens)
	}
	if len(got.Messages) != 2 || got.Messages[0].Role != "system" || got.Messages[1].Role != "user" {
		t.Fatalf("messages %+v", got.Messages)
	}
	user := got.Messages[1].Content
	// candidates = 3: the base proposes a, b, c; d is history, f is not offered.
	for _, id := range []string{"a", "b", "c"} {
		if !strings.Contains(user, "item_id: "+id+"\n") {
			t.Errorf("candidate %s missing from the prompt:\n%s", id, user)
		}
	}
	if strings.Contains(user, "item_id: d") || strings.Contains(user, "item_id: f") || strings.Contains(user, "Foxtrot") {
		t.Errorf("prompt offers an item that is not a candidate:\n%s", user)
	}
	if !strings.Contains(user, `- "Delta" [d], rated 4`) {
		t.Errorf("history missing:\n%s", user)
	}
	if !strings.Contains(got.Messages[0].Content, "Pick exactly 2 distinct items") {
		t.Errorf("system prompt does not ask for k = 2:\n%s", got.Messages[0].Content)
	}
}

func TestLLMRankPromptHistoryIsLimitedRecentFirst(t *testing.T) {
	srv, env := llmrankEnv(t, llm.Config{})
	srv.Answer(picks("a"))
	r := newTestLLMRank(t, env, map[string]any{"history": 2})
	// Unknown history ids are shown by id; none is rated, so the two most
	// recent win, newest first.
	recommend(t, r, Request{User: "u1", K: 1, History: hist("h1", "h2", "h3", "h4")})
	user := srv.Requests()[0].Messages[1].Content
	lines := historyLines(user)
	if want := []string{`- "h4" [h4]`, `- "h3" [h3]`}; !slices.Equal(lines, want) {
		t.Errorf("history lines %q, want %q", lines, want)
	}
}

func historyLines(prompt string) []string {
	var out []string
	for line := range strings.SplitSeq(prompt, "\n") {
		if strings.HasPrefix(line, `- "`) {
			out = append(out, line)
		}
	}
	return out
}

func TestSelectHistory(t *testing.T) {
	rated := func(item string, rating float64) HistoryItem { return HistoryItem{Item: item, Rating: rating} }
	tests := []struct {
		name    string
		history []HistoryItem
		n       int
		want    []string
	}{
		{name: "empty", n: 3, want: []string{}},
		{name: "fewer than n, newest first", history: hist("a", "b"), n: 3, want: []string{"b", "a"}},
		{name: "unrated: the n most recent", history: hist("a", "b", "c", "d"), n: 2, want: []string{"d", "c"}},
		// Window = last 3·2 = 6 items: b..g. Rated c and e beat the more
		// recent unrated f and g; a is outside the window although rated.
		{name: "rated first within the window",
			history: []HistoryItem{rated("a", 5), {Item: "b"}, rated("c", 3), {Item: "d"}, rated("e", 1), {Item: "f"}, {Item: "g"}},
			n:       2, want: []string{"e", "c"}},
		// Window = all 6; rated b and e, then the most recent unrated f;
		// shown newest first.
		{name: "rated then recent",
			history: []HistoryItem{{Item: "a"}, rated("b", 2), {Item: "c"}, {Item: "d"}, rated("e", 4), {Item: "f"}},
			n:       3, want: []string{"f", "e", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := selectHistory(tt.history, tt.n)
			gotIDs := make([]string, len(got))
			for i, h := range got {
				gotIDs[i] = h.Item
			}
			if !slices.Equal(gotIDs, tt.want) {
				t.Errorf("got %v, want %v", gotIDs, tt.want)
			}
		})
	}
}

// TestLLMRankPromptGolden pins the prompt bytes: equal requests must give
// equal prompts (the cache key depends on them), and any change to the
// wording must come with a new prompt version.
func TestLLMRankPromptGolden(t *testing.T) {
	_, env := llmrankEnv(t, llm.Config{})
	r := newTestLLMRank(t, env, map[string]any{"history": 3})
	req := Request{User: "u1", Round: 0, K: 3, History: []HistoryItem{
		{Item: "e", Round: -1, Rating: 5}, {Item: "c", Round: -1}, {Item: "x9", Round: 0, Rating: 2.5}, {Item: "b", Round: 1},
	}}
	render := func() []byte {
		cands := recommend(t, r.base, Request{User: req.User, K: 5, History: req.History})
		lr, err := r.request(req, cands.Items)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		for _, m := range lr.Messages {
			b.WriteString("=== " + m.Role + " ===\n" + m.Content + "\n")
		}
		return b.Bytes()
	}
	got := render()
	if again := render(); !bytes.Equal(got, again) {
		t.Fatal("two renders of the same request differ")
	}
	path := filepath.Join("testdata", "llmrank-prompt.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("prompt differs from %s (run with -update if intended):\n%s", path, got)
	}
}

func TestLLMRankFactoryErrors(t *testing.T) {
	_, env := llmrankEnv(t, llm.Config{})
	spec := specOf(t, LLMRankName)
	noLLM := env
	noLLM.LLM = nil
	if _, err := New(t.Context(), LLMRankName, noLLM, spec.Defaults()); !errors.Is(err, ErrNoLLM) ||
		!strings.Contains(err.Error(), "recommender llmrank needs an llm: block in the scenario") {
		t.Errorf("without llm: %v", err)
	}
	if _, err := New(t.Context(), LLMRankName, Env{LLM: env.LLM}, spec.Defaults()); !errors.Is(err, ErrNoCatalog) {
		t.Errorf("without catalog: %v", err)
	}
	bad := spec.Defaults()
	bad["base"] = LLMRankName
	if _, err := New(t.Context(), LLMRankName, env, bad); !errors.Is(err, ErrUnknown) {
		t.Errorf("base llmrank: %v", err)
	}
	if _, errs := spec.Resolve(nil, "params", map[string]any{"base": "faulty"}); len(errs) == 0 {
		t.Error("base faulty validated")
	}
	missing := spec.Defaults()
	missing["prompt"] = "nope.tmpl"
	env.Dir = t.TempDir()
	if _, err := New(t.Context(), LLMRankName, env, missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing prompt file: %v", err)
	}
}

func TestLLMRankPromptOverride(t *testing.T) {
	srv, env := llmrankEnv(t, llm.Config{})
	srv.Answer(picks("b"))
	env.Dir = t.TempDir()
	override := `{{define "llmrank.system"}}Choose {{.K}} for me.{{end}}`
	if err := os.WriteFile(filepath.Join(env.Dir, "mine.tmpl"), []byte(override), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newTestLLMRank(t, env, map[string]any{"prompt": "mine.tmpl"})
	if v := r.PromptVersion(); !strings.HasPrefix(v, LLMRankPromptVersion+"+mine.tmpl@") {
		t.Errorf("PromptVersion() = %q", v)
	}
	recommend(t, r, Request{User: "u", K: 2})
	msgs := srv.Requests()[0].Messages
	if msgs[0].Content != "Choose 2 for me." {
		t.Errorf("system prompt %q", msgs[0].Content)
	}
	if !strings.Contains(msgs[1].Content, "item_id: a") {
		t.Errorf("the embedded user template was lost:\n%s", msgs[1].Content)
	}
}

func TestLLMRankObserveAndResetReachTheBase(t *testing.T) {
	srv, env := llmrankEnv(t, llm.Config{})
	srv.Handle(func(llmtest.ChatRequest) llmtest.Reply { return llmtest.Reply{Content: "{"} })
	r := newTestLLMRank(t, env, nil)
	req := Request{User: "u", K: 1}
	// The malformed answer makes the slate the base's, which shows what
	// the base learned: popular's clicks on f lift it over a.
	before := ids(recommend(t, r, req))
	for round := range 3 {
		observe(t, r, clicked("v", round, "f", "f", "f", "f", "f", "f", "f", "f")...)
	}
	after := ids(recommend(t, r, req))
	if err := r.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	reset := ids(recommend(t, r, req))
	if before[0] != "a" || after[0] != "f" || reset[0] != "a" {
		t.Errorf("top item before %v, after clicks %v, after reset %v; want a, f, a", before, after, reset)
	}
}

// FuzzParseLLMRankAnswer feeds arbitrary answers through the parser and the
// merge: whatever the model says, the slate holds min(k, candidates)
// distinct candidates with descending scores and explanations.
func FuzzParseLLMRankAnswer(f *testing.F) {
	f.Add(`{"items":[{"item_id":"a","explanation":"x"},{"item_id":"zz","explanation":"y"}]}`, 3)
	f.Add(`{"items":[{"item_id":" c ","explanation":""},{"item_id":"c","explanation":"again"}]}`, 2)
	f.Add(`{"items":null}`, 1)
	f.Add(`{"items":[{"item_id":1}]}`, 4)
	f.Add(`[]`, 2)
	f.Add("", 0)
	cands := []Scored{{Item: "a", Score: 5, Explanation: "ea"}, {Item: "b", Score: 4, Explanation: "eb"},
		{Item: "c", Score: 3, Explanation: "ec"}, {Item: "d", Score: 2, Explanation: "ed"}}
	f.Fuzz(func(t *testing.T, content string, k int) {
		got, err := parseLLMRankAnswer(content)
		if err != nil {
			if !errors.Is(err, llm.ErrMalformed) {
				t.Fatalf("error %v does not wrap llm.ErrMalformed", err)
			}
			return
		}
		k = 1 + abs(k)%8
		r := &LLMRank{}
		s := r.merge(k, cands, got)
		if want := min(k, len(cands)); len(s.Items) != want {
			t.Fatalf("%d items, want %d", len(s.Items), want)
		}
		seen := map[string]bool{}
		for i, it := range s.Items {
			if !slices.ContainsFunc(cands, func(c Scored) bool { return c.Item == it.Item }) || seen[it.Item] {
				t.Fatalf("rank %d: %q is not a fresh candidate", i+1, it.Item)
			}
			seen[it.Item] = true
			if it.Explanation == "" || (i > 0 && s.Items[i-1].Score <= it.Score) {
				t.Fatalf("rank %d: %+v", i+1, it)
			}
		}
		if rej, prop := r.Hallucinations(); rej < 0 || rej > prop || prop > int64(len(got)) {
			t.Fatalf("Hallucinations() = %d, %d for %d picks", rej, prop, len(got))
		}
	})
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func BenchmarkLLMRankPrompt(b *testing.B) {
	cat := llmrankCatalog(b)
	r := &LLMRank{cat: cat, history: 15}
	tmpl, version, err := loadLLMRankPrompts("", "")
	if err != nil {
		b.Fatal(err)
	}
	r.tmpl, r.version = tmpl, version
	cands := []Scored{{Item: "a"}, {Item: "b"}, {Item: "c"}, {Item: "d"}, {Item: "f"}}
	req := Request{User: "u", K: 3, History: hist("x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8")}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.request(req, cands); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLLMRankDocs keeps docs/llmrank.md's parameter table and template
// listing equal to the code.
func TestLLMRankDocs(t *testing.T) {
	const (
		path  = "../docs/llmrank.md"
		begin = "<!-- BEGIN GENERATED: go test ./recommenders -run TestLLMRankDocs -update -->\n"
		end   = "<!-- END GENERATED -->\n"
	)
	tmpl, err := llmrankPromptFS.ReadFile("prompts/llmrank-v1.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	gen := "## Parameters\n\n#" + specOf(t, LLMRankName).Markdown() +
		"\n## The prompt (`llmrank-v1`)\n\n```gotemplate\n" + string(tmpl) + "```\n"
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, e := bytes.Index(doc, []byte(begin)), bytes.Index(doc, []byte(end))
	if b < 0 || e < b {
		t.Fatalf("%s lacks the generated-section markers", path)
	}
	if string(doc[b+len(begin):e]) == gen {
		return
	}
	if !*update {
		t.Fatalf("%s is out of date; run go test ./recommenders -run TestLLMRankDocs -update", path)
	}
	out := append(append(append([]byte{}, doc[:b+len(begin)]...), gen...), doc[e:]...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

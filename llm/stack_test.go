package llm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recloop/recloop/llm/cache"
	"github.com/recloop/recloop/llm/llmtest"
)

// testKey is recognisable so leaks are easy to find.
const testKey = "sk-test-SECRET-7f3a9c1e"

// sleepLog records waits instead of sleeping.
type sleepLog struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *sleepLog) sleep(ctx context.Context, d time.Duration) error {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
	return ctx.Err()
}

func (l *sleepLog) waits() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Duration(nil), l.d...)
}

type fixture struct {
	stack  *Stack
	srv    *llmtest.Server
	sleeps *sleepLog
	logs   *bytes.Buffer
	dir    string
}

var testNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func newFixture(t *testing.T, edit func(*Config)) *fixture {
	t.Helper()
	t.Setenv("OPENAI_API_KEY", testKey)
	f := &fixture{srv: llmtest.New(t), sleeps: &sleepLog{}, logs: &bytes.Buffer{}, dir: t.TempDir()}
	cfg := Config{BaseURL: f.srv.URL(), Model: "gpt-4o-mini", Cache: CacheConfig{Dir: f.dir}}
	if edit != nil {
		edit(&cfg)
	}
	var err error
	f.stack, err = New(cfg, WithSleep(f.sleeps.sleep), WithClock(func() time.Time { return testNow }),
		WithLogger(slog.New(slog.NewTextHandler(f.logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func ask(text string) Request {
	return Request{Role: RolePersona, Subject: "persona-7", Messages: []Message{
		{Role: "system", Content: "You are a shopper."}, {Role: "user", Content: text},
	}}
}

func askJSON(t testing.TB, text string) Request {
	r := ask(text)
	r.Schema = testSchema(t)
	return r
}

const validAnswer = `{"choice":1,"reason":"cheap","mood":"bored","weight":1,"done":false,"tags":[],"details":[]}`

// script answers with replies in order, then repeats the last one.
func script(replies ...llmtest.Reply) func(llmtest.ChatRequest) llmtest.Reply {
	return func(r llmtest.ChatRequest) llmtest.Reply {
		return replies[min(int(r.N), len(replies))-1]
	}
}

func TestRetries(t *testing.T) {
	retryAt := testNow.Add(3 * time.Second).Format(http.TimeFormat)
	ok := llmtest.Reply{Content: "fine"}
	tests := []struct {
		name        string
		maxAttempts int
		replies     []llmtest.Reply
		wantErr     error // nil: success
		wantHTTP    int
		wantWaits   []time.Duration // exact waits; nil: only the count matters
		wantRetries int
	}{
		{"429 honours Retry-After seconds", 0, []llmtest.Reply{
			{Status: 429, Body: `{"error":{"message":"slow down","code":"rate_limit_exceeded"}}`, Header: map[string]string{"Retry-After": "1"}}, ok,
		}, nil, 2, []time.Duration{time.Second}, 1},
		{"429 honours Retry-After date", 0, []llmtest.Reply{
			{Status: 429, Body: `{"error":{"message":"slow down"}}`, Header: map[string]string{"Retry-After": retryAt}}, ok,
		}, nil, 2, []time.Duration{3 * time.Second}, 1},
		{"500 retried", 0, []llmtest.Reply{llmtest.Error(500, "", "boom"), ok}, nil, 2, nil, 1},
		{"408 retried", 0, []llmtest.Reply{llmtest.Error(408, "", "timeout"), llmtest.Error(502, "", "bad gw"), ok}, nil, 3, nil, 2},
		{"401 not retried", 0, []llmtest.Reply{llmtest.Error(401, "invalid_api_key", "bad key")}, ErrAuth, 1, []time.Duration{}, 0},
		{"403 not retried", 0, []llmtest.Reply{llmtest.Error(403, "", "forbidden")}, ErrAuth, 1, []time.Duration{}, 0},
		{"insufficient_quota not retried", 0, []llmtest.Reply{llmtest.Error(429, "insufficient_quota", "pay up")}, ErrQuota, 1, []time.Duration{}, 0},
		{"max attempts", 3, []llmtest.Reply{llmtest.Error(503, "", "down")}, errAny, 3, nil, 2},
		{"default max attempts is 6", 0, []llmtest.Reply{llmtest.Error(500, "", "down")}, errAny, 6, nil, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.MaxAttempts = tt.maxAttempts; c.Cache.Mode = CacheOff })
			f.srv.Handle(script(tt.replies...))
			resp, err := f.stack.Complete(context.Background(), ask("hi"))
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.wantErr == errAny && err == nil, tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if got := f.srv.Count(); got != tt.wantHTTP {
				t.Errorf("HTTP requests = %d, want %d", got, tt.wantHTTP)
			}
			waits := f.sleeps.waits()
			if len(waits) != tt.wantHTTP-1 {
				t.Errorf("waits = %v, want %d of them", waits, tt.wantHTTP-1)
			}
			for i, w := range tt.wantWaits {
				if waits[i] != w {
					t.Errorf("wait %d = %v, want %v", i, waits[i], w)
				}
			}
			for i, w := range waits {
				// Full jitter: uniform in [0, 500ms·2^i).
				if tt.wantWaits == nil && (w < 0 || w >= retryBaseDelay<<i) {
					t.Errorf("wait %d = %v outside [0, %v)", i, w, retryBaseDelay<<i)
				}
			}
			if err == nil && resp.Usage.Retries != tt.wantRetries {
				t.Errorf("Usage.Retries = %d, want %d", resp.Usage.Retries, tt.wantRetries)
			}
			if got := f.stack.Usage().Total.Retries; got != tt.wantRetries {
				t.Errorf("Totals retries = %d, want %d", got, tt.wantRetries)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"2", 2 * time.Second, true},
		{"0.5", 500 * time.Millisecond, true},
		{"-1", 0, false},
		{"NaN", 0, false},
		{"99999", retryAfterCap, true},
		{testNow.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"soon", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, testNow)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestStructuredOutputFallback(t *testing.T) {
	tests := []struct {
		name         string
		rejectSchema bool
		rejectObject bool
		wantFormats  []string // response_format type per HTTP request, "" for none
	}{
		{"json_schema accepted", false, false, []string{"json_schema", "json_schema"}},
		{"json_schema rejected", true, false, []string{"json_schema", "json_object", "json_object"}},
		{"both rejected", true, true, []string{"json_schema", "json_object", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.Cache.Mode = CacheOff })
			f.srv.RejectJSONSchema, f.srv.RejectJSONObject = tt.rejectSchema, tt.rejectObject
			for _, q := range []string{"first", "second"} {
				resp, err := f.stack.Complete(context.Background(), askJSON(t, q))
				if err != nil {
					t.Fatal(err)
				}
				if err := Validate(testSchema(t), []byte(resp.Content)); err != nil {
					t.Fatalf("answer %s invalid: %v", resp.Content, err)
				}
			}
			reqs := f.srv.Requests()
			var got []string
			for _, r := range reqs {
				format := ""
				if r.ResponseFormat != nil {
					format = r.ResponseFormat.Type
				}
				got = append(got, format)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.wantFormats) {
				t.Fatalf("formats = %q, want %q", got, tt.wantFormats)
			}
			last := reqs[len(reqs)-1]
			if rf := last.ResponseFormat; rf != nil && rf.Type == "json_schema" {
				if !rf.JSONSchema.Strict || rf.JSONSchema.Name != "answer" {
					t.Errorf("json_schema = %+v, want strict and named", rf.JSONSchema)
				}
			} else if !strings.Contains(last.Messages[0].Content, `"additionalProperties":false`) ||
				!strings.HasPrefix(last.Messages[0].Content, "You are a shopper.") {
				t.Errorf("fallback system prompt lacks the schema: %q", last.Messages[0].Content)
			}
		})
	}
}

func TestRepair(t *testing.T) {
	tests := []struct {
		name     string
		replies  []llmtest.Reply
		wantErr  error
		wantHTTP int
	}{
		{"fenced answer needs no repair", []llmtest.Reply{{Content: "```json\n" + validAnswer + "\n```"}}, nil, 1},
		{"repair succeeds", []llmtest.Reply{{Content: `{"choice":"one"}`}, {Content: validAnswer}}, nil, 2},
		{"repair fails", []llmtest.Reply{{Content: `I pick item 1`}, {Content: `{"choice":1}`}}, ErrMalformed, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.srv.Handle(script(tt.replies...))
			resp, err := f.stack.Complete(context.Background(), askJSON(t, "pick"))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if f.srv.Count() != tt.wantHTTP {
				t.Fatalf("HTTP requests = %d, want %d", f.srv.Count(), tt.wantHTTP)
			}
			if err == nil && resp.Content != validAnswer {
				t.Errorf("content = %q", resp.Content)
			}
			if tt.wantHTTP == 2 {
				msgs := f.srv.Requests()[1].Messages
				n := len(msgs)
				if n != 4 || msgs[n-2].Role != "assistant" || msgs[n-2].Content != tt.replies[0].Content ||
					!strings.Contains(msgs[n-1].Content, "schema violation") {
					t.Errorf("repair messages = %+v", msgs)
				}
			}
			if err != nil {
				// A malformed answer must not be cached: asking again calls again.
				f.stack.Complete(context.Background(), askJSON(t, "pick"))
				if f.srv.Count() != 2*tt.wantHTTP {
					t.Errorf("after a failure, HTTP requests = %d, want %d", f.srv.Count(), 2*tt.wantHTTP)
				}
			}
		})
	}
}

func TestSeedAndTemperatureSent(t *testing.T) {
	zero, seed := 0.0, 42
	f := newFixture(t, func(c *Config) { c.Temperature, c.Seed, c.MaxTokens = &zero, &seed, 100 })
	req := ask("hi")
	req.Replicate = 3
	if _, err := f.stack.Complete(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	got := f.srv.Requests()[0]
	if got.Seed == nil || *got.Seed != 45 { // 42 + replicate 3
		t.Errorf("seed = %v, want 45", got.Seed)
	}
	if got.Temperature == nil || *got.Temperature <= 0 || *got.Temperature > 1e-5 {
		t.Errorf("temperature = %v, want a tiny positive stand-in for 0", got.Temperature)
	}
	// max_tokens is deprecated in favour of max_completion_tokens.
	if got.MaxCompletionTokens != 100 || got.MaxTokens != 0 || got.Model != "gpt-4o-mini" {
		t.Errorf("max_completion_tokens = %d, max_tokens = %d, model = %q", got.MaxCompletionTokens, got.MaxTokens, got.Model)
	}
	if auth := got.Header.Get("Authorization"); auth != "Bearer "+testKey {
		t.Errorf("Authorization = %q", auth)
	}
}

func TestReasoningModelParameters(t *testing.T) {
	zero := 0.0
	f := newFixture(t, func(c *Config) { c.Model, c.Temperature, c.MaxTokens = "o4-mini", &zero, 100 })
	if _, err := f.stack.Complete(context.Background(), ask("hi")); err != nil {
		t.Fatal(err)
	}
	got := f.srv.Requests()[0]
	if got.MaxTokens != 0 || got.MaxCompletionTokens != 100 || got.Temperature != nil {
		t.Errorf("max_tokens %d, max_completion_tokens %d, temperature %v; want 0, 100, none",
			got.MaxTokens, got.MaxCompletionTokens, got.Temperature)
	}
}

// A server that refuses max_completion_tokens gets max_tokens instead, from
// then on, with one warning; other bad requests are not retried that way.
func TestMaxTokensForServersThatRefuseTheNewName(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxTokens = 100 })
	f.srv.Handle(func(r llmtest.ChatRequest) llmtest.Reply {
		if r.MaxCompletionTokens != 0 {
			return llmtest.Error(400, "", "[{'type': 'extra_forbidden', 'loc': ('body', 'max_completion_tokens'), 'msg': 'Extra inputs are not permitted'}]")
		}
		return llmtest.Reply{Content: "ok"}
	})
	for _, q := range []string{"one", "two"} {
		if resp, err := f.stack.Complete(context.Background(), ask(q)); err != nil || resp.Content != "ok" {
			t.Fatalf("%s: %q, %v", q, resp.Content, err)
		}
	}
	var sent []string
	for _, r := range f.srv.Requests() {
		sent = append(sent, fmt.Sprintf("%d/%d", r.MaxCompletionTokens, r.MaxTokens))
	}
	if want := []string{"100/0", "0/100", "0/100"}; !slices.Equal(sent, want) {
		t.Errorf("max_completion_tokens/max_tokens sent = %v, want %v", sent, want)
	}
	if n := strings.Count(f.logs.String(), "refuses max_completion_tokens"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, f.logs.String())
	}

	other := newFixture(t, func(c *Config) { c.MaxTokens = 100 })
	other.srv.Handle(func(llmtest.ChatRequest) llmtest.Reply { return llmtest.Error(400, "", "messages: too long") })
	if _, err := other.stack.Complete(context.Background(), ask("hi")); err == nil || other.srv.Count() != 1 {
		t.Errorf("err %v after %d requests, want an error after 1", err, other.srv.Count())
	}
}

func TestCostAndBudget(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Model = "house-model"
		c.Prices = map[string]Price{"house-model": {InputPerMTok: 2, OutputPerMTok: 8}}
		c.BudgetUSD = 0.01
	})
	f.srv.Handle(func(llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Content: "ok", PromptTokens: 1000, CompletionTokens: 500}
	})
	ctx := context.Background()
	// 1000·2/1e6 + 500·8/1e6 = 0.002 + 0.004 = 0.006 per call.
	r1, err := f.stack.Complete(ctx, ask("one"))
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(r1.Usage.CostUSD-0.006) > 1e-12 || r1.Usage.PromptTokens != 1000 || r1.Usage.CompletionTokens != 500 {
		t.Fatalf("usage = %+v, want 1000+500 tokens costing 0.006", r1.Usage)
	}
	// Spent 0.006 < 0.01: the second call goes out and brings it to 0.012.
	judge := ask("two")
	judge.Role, judge.Subject = RoleJudge, "persona-8"
	if _, err := f.stack.Complete(ctx, judge); err != nil {
		t.Fatal(err)
	}
	// Spent 0.012 ≥ 0.01: new calls fail fast...
	if _, err := f.stack.Complete(ctx, ask("three")); !errors.Is(err, ErrBudgetExceeded) {
		t.Fatalf("error %v, want ErrBudgetExceeded", err)
	}
	// ...but what was paid for is still served from the cache.
	again, err := f.stack.Complete(ctx, ask("one"))
	if err != nil || !again.Cached || again.Usage.CostUSD != 0 || again.Usage.CacheHits != 1 {
		t.Fatalf("cached repeat = %+v, %v", again, err)
	}
	if f.srv.Count() != 2 {
		t.Errorf("HTTP requests = %d, want 2", f.srv.Count())
	}
	u := f.stack.Usage()
	want := Usage{Calls: 4, PromptTokens: 2000, CompletionTokens: 1000, CostUSD: 0.012, CacheHits: 1, Errors: 1}
	if math.Abs(u.Total.CostUSD-want.CostUSD) > 1e-12 {
		t.Errorf("total cost = %v, want %v", u.Total.CostUSD, want.CostUSD)
	}
	u.Total.CostUSD = want.CostUSD
	if u.Total != want {
		t.Errorf("total = %+v, want %+v", u.Total, want)
	}
	if p, j := u.ByRole[RolePersona], u.ByRole[RoleJudge]; p.Calls != 3 || p.PromptTokens != 1000 || j.Calls != 1 || j.CompletionTokens != 500 {
		t.Errorf("by role = %+v", u.ByRole)
	}
	if s := u.BySubject["persona-8"]; s.Calls != 1 || math.Abs(s.CostUSD-0.006) > 1e-12 {
		t.Errorf("by subject = %+v", u.BySubject)
	}
}

func TestPrices(t *testing.T) {
	cfg := Config{Prices: map[string]Price{"gpt-4o": {InputPerMTok: 1, OutputPerMTok: 1}}}
	tests := []struct {
		model string
		want  Price
		ok    bool
	}{
		{"gpt-4o-mini", Price{0.15, 0.60}, true},
		{"gpt-4o-mini-2024-07-18", Price{0.15, 0.60}, true}, // longest prefix, not gpt-4o
		{"gpt-4o", Price{1, 1}, true},                       // override wins
		{"gpt-4o-2024-08-06", Price{1, 1}, true},
		{"llama3.1:8b", Price{}, false},
	}
	for _, tt := range tests {
		got, ok := cfg.price(tt.model)
		if got != tt.want || ok != tt.ok {
			t.Errorf("price(%q) = %v, %v; want %v, %v", tt.model, got, ok, tt.want, tt.ok)
		}
	}
}

func TestUnknownModelWarnsOnce(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Model = "llama3.1:8b" })
	for _, q := range []string{"a", "b", "c"} {
		resp, err := f.stack.Complete(context.Background(), ask(q))
		if err != nil || resp.Usage.CostUSD != 0 {
			t.Fatalf("resp %+v, err %v", resp, err)
		}
	}
	if n := strings.Count(f.logs.String(), "no price for model"); n != 1 {
		t.Errorf("warned %d times, want once:\n%s", n, f.logs)
	}
}

func TestEstimate(t *testing.T) {
	f := newFixture(t, nil)
	// "You are a shopper." is 18 bytes, "hello" 5: ceil(23/4) = 6 prompt
	// tokens; no max_tokens → 256. gpt-4o-mini: 6·0.15/1e6 + 256·0.60/1e6 = 0.0000009 + 0.0001536.
	got := f.stack.Estimate(ask("hello"))
	if got.PromptTokens != 6 || got.CompletionTokens != 256 || math.Abs(got.CostUSD-0.0001545) > 1e-12 {
		t.Errorf("estimate = %+v", got)
	}
	req := askJSON(t, "hello")
	req.MaxTokens = 10
	want := 6 + (len(req.Schema.JSON)+3)/4
	if got := f.stack.Estimate(req); got.PromptTokens != want || got.CompletionTokens != 10 {
		t.Errorf("estimate with schema = %+v, want %d prompt tokens", got, want)
	}
	if f.srv.Count() != 0 {
		t.Errorf("Estimate made %d HTTP requests", f.srv.Count())
	}
}

func TestCacheHitMakesNoHTTPCall(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	first, err := f.stack.Complete(ctx, askJSON(t, "pick"))
	if err != nil || first.Cached {
		t.Fatalf("first = %+v, %v", first, err)
	}
	t.Setenv("OPENAI_API_KEY", "")
	replay, err := New(Config{BaseURL: f.srv.URL(), Model: "gpt-4o-mini", Cache: CacheConfig{Dir: f.dir, Mode: CacheReplay}})
	if err != nil {
		t.Fatal(err)
	}
	second, err := replay.Complete(ctx, askJSON(t, "pick"))
	if err != nil || !second.Cached || second.Content != first.Content || second.Usage.CostUSD != 0 || second.Usage.CacheHits != 1 {
		t.Fatalf("replayed = %+v, %v", second, err)
	}
	if f.srv.Count() != 1 {
		t.Errorf("HTTP requests = %d, want 1", f.srv.Count())
	}
	if u := replay.Usage().Total; u.CacheHits != 1 || u.Calls != 1 || u.CostUSD != 0 {
		t.Errorf("replay usage = %+v", u)
	}
	// Each key ingredient changes the key.
	variants := []func(*Request){
		func(r *Request) { r.Replicate = 1 },
		func(r *Request) { r.Role = RoleJudge },
		func(r *Request) { r.MaxTokens = 7 },
		func(r *Request) { r.Schema = nil },
		func(r *Request) { r.Messages[1].Content = "pick!" },
	}
	for i, edit := range variants {
		r := askJSON(t, "pick")
		edit(&r)
		if _, err := replay.Complete(ctx, r); !errors.Is(err, ErrReplayMiss) {
			t.Errorf("variant %d: error %v, want a replay miss", i, err)
		}
	}
}

func TestReplayMissNamesTheCall(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Cache.Mode = CacheReplay })
	req := ask("hi")
	req.Replicate = 2
	_, err := f.stack.Complete(context.Background(), req)
	if !errors.Is(err, ErrReplayMiss) || !errors.Is(err, cache.ErrMiss) {
		t.Fatalf("error %v, want ErrReplayMiss wrapping cache.ErrMiss", err)
	}
	for _, want := range []string{"persona", `"persona-7"`, "replicate 2", "gpt-4o-mini"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if f.srv.Count() != 0 {
		t.Errorf("HTTP requests = %d, want 0", f.srv.Count())
	}
}

func TestMalformedBodyIsNotCached(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.Handle(script(llmtest.Truncated(), llmtest.Reply{Content: "fine"}))
	if _, err := f.stack.Complete(context.Background(), ask("hi")); err == nil {
		t.Fatal("truncated body accepted")
	}
	resp, err := f.stack.Complete(context.Background(), ask("hi"))
	if err != nil || resp.Content != "fine" || resp.Cached {
		t.Fatalf("retry after truncated body = %+v, %v", resp, err)
	}
}

func TestConcurrentCalls(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxConcurrency = 16 })
	const n = 64
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := f.stack.Complete(context.Background(), askJSON(t, "same"))
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := f.stack.Complete(context.Background(), askJSON(t, fmt.Sprint("distinct ", i)))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Identical calls share one flight or hit the disk: 1 + 64 requests.
	if f.srv.Count() != n+1 {
		t.Errorf("HTTP requests = %d, want %d", f.srv.Count(), n+1)
	}
	if u := f.stack.Usage().Total; u.Calls != 2*n || u.CacheHits != n-1 {
		t.Errorf("usage = %+v, want %d calls and %d cache hits", u, 2*n, n-1)
	}
}

func TestAdaptiveConcurrencyBacksOff(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxConcurrency, c.MaxAttempts, c.Cache.Mode = 8, 7, CacheOff })
	limited := llmtest.Reply{Status: 429, Body: `{"error":{"message":"slow down","code":"rate_limit_exceeded"}}`,
		Header: map[string]string{"Retry-After": "0"}}
	// Six 429s in a row (all at the same instant on the test clock) are two
	// storms of three: 8 → 4 → 2. The seventh answer succeeds.
	f.srv.Handle(script(limited, limited, limited, limited, limited, limited, llmtest.Reply{Content: "ok"}))
	if _, err := f.stack.Complete(context.Background(), ask("hi")); err != nil {
		t.Fatal(err)
	}
	// The successful answer is a run of 1 < 2 successes: no increase yet.
	if got := f.stack.limiter.Limit(); got != 2 {
		t.Fatalf("limit = %d, want 2", got)
	}
}

func TestAdaptiveLimiter(t *testing.T) {
	now := testNow
	a := newAdaptiveLimiter(8, func() time.Time { return now })
	steps := []struct {
		status    int
		advance   time.Duration
		wantLimit int
	}{
		{429, 0, 8},
		{429, 6 * time.Second, 8}, // the first 429 falls out of the 5 s window
		{429, time.Second, 8},
		{429, time.Second, 4}, // three within 5 s: halve
		{200, 0, 4}, {200, 0, 4}, {200, 0, 4},
		{200, 0, 5},                           // a run of 4 successes at limit 4: +1
		{429, 0, 5}, {429, 0, 5}, {429, 0, 2}, // 5/2 = 2
		{429, 0, 2}, {429, 0, 2}, {429, 0, 1},
		{429, 0, 1}, {429, 0, 1}, {429, 0, 1}, // never below 1
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		a.observe(s.status)
		if got := a.Limit(); got != s.wantLimit {
			t.Fatalf("step %d (%d): limit %d, want %d", i, s.status, got, s.wantLimit)
		}
	}
	// At limit 1 a second acquire waits; giving up returns the context error
	// and leaves the slot usable.
	if err := a.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("acquire on a full limiter = %v, want context.Canceled", err)
	}
	done := make(chan struct{})
	go func() {
		a.acquire(context.Background())
		close(done)
	}()
	a.release()
	<-done
	if a.inflight != 1 || len(a.waiters) != 0 {
		t.Errorf("inflight %d, waiters %d; want 1, 0", a.inflight, len(a.waiters))
	}
}

func TestTokenBucket(t *testing.T) {
	now := testNow
	var waits []time.Duration
	b := newTokenBucket(60, func() time.Time { return now }, func(_ context.Context, d time.Duration) error {
		waits = append(waits, d)
		now = now.Add(d)
		return nil
	})
	ctx := context.Background()
	// A full bucket of 60 goes at once; the 61st unit waits 1 s (60/min = 1/s).
	if err := b.take(ctx, 60); err != nil || len(waits) != 0 {
		t.Fatalf("burst: err %v, waits %v", err, waits)
	}
	b.take(ctx, 1)
	if len(waits) != 1 || waits[0] != time.Second {
		t.Fatalf("waits = %v, want [1s]", waits)
	}
	// Asking for more than the capacity waits for a full bucket (60 s).
	waits = nil
	b.take(ctx, 500)
	if len(waits) != 1 || waits[0] != time.Minute {
		t.Fatalf("waits = %v, want [1m]", waits)
	}
	if newTokenBucket(0, time.Now, sleepCtx).take(ctx, 1e9) != nil {
		t.Error("a disabled bucket refused")
	}
}

func TestAPIKeyNeverLeaks(t *testing.T) {
	f := newFixture(t, nil)
	// A hostile or careless server echoes the Authorization header back.
	f.srv.Handle(func(r llmtest.ChatRequest) llmtest.Reply {
		if strings.Contains(r.Messages[len(r.Messages)-1].Content, "deny") {
			return llmtest.Error(401, "invalid_api_key", "Incorrect API key provided: "+r.Header.Get("Authorization"))
		}
		if strings.Contains(r.Messages[len(r.Messages)-1].Content, "fail") {
			return llmtest.Error(400, "", "bad request from "+r.Header.Get("Authorization"))
		}
		return llmtest.Reply{Content: validAnswer}
	})
	ctx := context.Background()
	var errs []error
	for _, q := range []string{"deny", "fail", "ok"} {
		_, err := f.stack.Complete(ctx, askJSON(t, q))
		errs = append(errs, err)
	}
	if !errors.Is(errs[0], ErrAuth) || errs[1] == nil || errs[2] != nil {
		t.Fatalf("errors = %v", errs)
	}
	for _, err := range errs[:2] {
		if strings.Contains(err.Error(), testKey) || strings.Contains(fmt.Sprintf("%+v", err), testKey) {
			t.Errorf("error leaks the key: %v", err)
		}
	}
	if strings.Contains(f.logs.String(), testKey) {
		t.Errorf("logs leak the key:\n%s", f.logs)
	}
	files := 0
	filepath.WalkDir(f.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		b, _ := os.ReadFile(path)
		if bytes.Contains(b, []byte(testKey)) {
			t.Errorf("cache file %s contains the key", path)
		}
		return nil
	})
	if files == 0 {
		t.Error("no cache files written: the scan proves nothing")
	}
}

func TestConfigValidate(t *testing.T) {
	neg, hot := -1, 3.0
	tests := []struct {
		name   string
		cfg    Config
		fields []string
	}{
		{"minimal", Config{Model: "m"}, nil},
		{"ollama", Config{Model: "llama3.1", BaseURL: "http://localhost:11434/v1", Timeout: "2m", Cache: CacheConfig{Mode: "replay"}}, nil},
		{"no model", Config{}, []string{"model"}},
		{"everything wrong", Config{
			Model: "m", BaseURL: "localhost:11434", Temperature: &hot, Seed: &neg, Timeout: "soon",
			MaxTokens: -1, MaxConcurrency: -1, MaxAttempts: -2, RequestsPerMinute: -1, TokensPerMinute: -1,
			BudgetUSD: -1, Prices: map[string]Price{"m": {InputPerMTok: -1}}, Cache: CacheConfig{Mode: "sometimes"},
		}, []string{"base_url", "temperature", "seed", "timeout", "max_tokens", "max_concurrency", "max_attempts",
			"requests_per_minute", "tokens_per_minute", "budget_usd", "prices.m", "cache.mode"}},
		{"zero timeout", Config{Model: "m", Timeout: "0s"}, []string{"timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			var got []string
			for _, e := range unwrapAll(err) {
				var fe *FieldError
				if errors.As(e, &fe) {
					got = append(got, fe.Field)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.fields) {
				t.Errorf("fields = %v, want %v (err %v)", got, tt.fields, err)
			}
		})
	}
	d := Config{Model: "m"}.WithDefaults()
	if d.APIKeyEnv != "OPENAI_API_KEY" || d.Timeout != "1m0s" || d.MaxConcurrency != 8 || d.MaxAttempts != 6 ||
		d.Cache.Dir != ".recloop-cache" || d.Cache.Mode != "readwrite" || d.BaseURL != DefaultBaseURL {
		t.Errorf("defaults = %+v", d)
	}
}

func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

func TestNewReadsKeyOnlyFromEnv(t *testing.T) {
	srv := llmtest.New(t)
	t.Setenv("RECLOOP_TEST_KEY", "sk-from-env")
	s, err := New(Config{BaseURL: srv.URL(), Model: "m", APIKeyEnv: "RECLOOP_TEST_KEY", Cache: CacheConfig{Mode: CacheOff}},
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Complete(context.Background(), ask("hi")); err != nil {
		t.Fatal(err)
	}
	if got := srv.Requests()[0].Header.Get("Authorization"); got != "Bearer sk-from-env" {
		t.Errorf("Authorization = %q", got)
	}
	if _, err := New(Config{}); err == nil {
		t.Error("New accepted a config without a model")
	}
}

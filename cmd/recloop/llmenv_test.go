package main

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recloop/recloop/llm/llmtest"
	"github.com/recloop/recloop/runner"
)

// clearLLMEnv unsets every variable the endpoint configuration reads, so a
// developer's own setup cannot leak into a test.
func clearLLMEnv(t *testing.T) {
	t.Helper()
	for _, name := range []string{"RECLOOP_LLM_BASE_URL", "RECLOOP_LLM_MODEL", "OPENAI_BASE_URL", "OPENAI_API_KEY",
		"OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "OPENAI_API_VERSION", "AZURE_OPENAI_DEPLOYMENT"} {
		t.Setenv(name, "")
	}
}

// deadEndpoint points OPENAI_BASE_URL, alone of the LLM variables, at a
// port where nothing listens, moves into an empty directory, and returns
// the URL.
func deadEndpoint(t *testing.T) string {
	t.Helper()
	clearLLMEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String() + "/v1"
	l.Close()
	t.Setenv("OPENAI_BASE_URL", url)
	t.Chdir(t.TempDir())
	return url
}

// The built-in LLM quickstart runs against whatever OPENAI_BASE_URL names,
// and --dry-run says where the endpoint and the model came from.
func TestLLMQuickstartHonoursOpenAIBaseURL(t *testing.T) {
	clearLLMEnv(t)
	server := llmtest.New(t)
	t.Setenv("OPENAI_BASE_URL", server.URL())
	t.Setenv("OPENAI_API_KEY", secretKey)
	t.Setenv("OPENAI_ORG_ID", "org-test")
	t.Setenv("OPENAI_PROJECT_ID", "proj-test")
	t.Chdir(t.TempDir())

	code, out, stderr := cli(t, context.Background(), "run", "--dry-run", "llm-quickstart")
	if code != runner.ExitOK {
		t.Fatalf("dry run: exit %d: %s", code, stderr)
	}
	want := "model gpt-4o-mini (from scenario) at " + server.URL() + " (from OPENAI_BASE_URL)"
	if !strings.Contains(out, want) || strings.Contains(out, secretKey) {
		t.Fatalf("dry run output lacks %q (or shows the key):\n%s", want, out)
	}

	code, _, stderr = cli(t, context.Background(), "run", "--quiet", "--cache", "off", "--out", filepath.Join(t.TempDir(), "out"), "llm-quickstart")
	if code != runner.ExitOK {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	reqs := server.Requests()
	// 20 personas × 2 variants × 5 rounds of decisions at least, and the
	// preflight.
	if len(reqs) < 200 || server.Preflights() != 1 {
		t.Fatalf("%d requests (%d preflights) reached the server OPENAI_BASE_URL names", len(reqs), server.Preflights())
	}
	h := reqs[0].Header
	if h.Get("Authorization") != "Bearer "+secretKey || h.Get("OpenAI-Organization") != "org-test" || h.Get("OpenAI-Project") != "proj-test" {
		t.Errorf("headers: organization %q, project %q, key sent: %v", h.Get("OpenAI-Organization"), h.Get("OpenAI-Project"), h.Get("Authorization") == "Bearer "+secretKey)
	}
}

// RECLOOP_LLM_BASE_URL still works, and wins over OPENAI_BASE_URL; the
// scenario wins over both.
func TestLLMEndpointPrecedence(t *testing.T) {
	clearLLMEnv(t)
	server := llmtest.New(t)
	t.Setenv("RECLOOP_LLM_BASE_URL", server.URL())
	t.Setenv("OPENAI_BASE_URL", "http://openai-base-url.invalid/v1")
	t.Setenv("RECLOOP_LLM_MODEL", "env-model")
	t.Chdir(t.TempDir())
	code, out, stderr := cli(t, context.Background(), "run", "--dry-run", "llm-quickstart")
	if code != runner.ExitOK || !strings.Contains(out, "model env-model (from scenario) at "+server.URL()+" (from RECLOOP_LLM_BASE_URL)") {
		t.Fatalf("exit %d, stdout:\n%s\nstderr: %s", code, out, stderr)
	}

	dir := t.TempDir()
	scenario := writeFile(t, dir, "llm.yaml", llmScenario("http://scenario.invalid/v1", filepath.Join(dir, "cache"), "A reader.", ""))
	code, out, stderr = cli(t, context.Background(), "run", "--dry-run", scenario)
	if code != runner.ExitOK || !strings.Contains(out, "model test-model (from scenario) at http://scenario.invalid/v1 (from scenario)") {
		t.Fatalf("exit %d, stdout:\n%s\nstderr: %s", code, out, stderr)
	}
}

// An endpoint where nothing listens stops the run at the first call, with
// exit 3 and a message naming the URL; what the run has is written and
// marked partial. No retry is made, so the run cannot take long.
func TestLLMUnreachableEndpointStopsTheRun(t *testing.T) {
	url := deadEndpoint(t)
	out := filepath.Join(t.TempDir(), "out")
	code, _, stderr := cli(t, context.Background(), "run", "--quiet", "--cache", "off", "--out", out, "llm-quickstart")
	if code != runner.ExitRuntime || !strings.Contains(stderr, url) || !strings.Contains(stderr, "unreachable") {
		t.Fatalf("exit %d (want %d), stderr:\n%s", code, runner.ExitRuntime, stderr)
	}
	res := readResults(t, out)
	if !res.Partial || !strings.Contains(res.Reason, "unreachable") {
		t.Errorf("results: partial %v, reason %q", res.Partial, res.Reason)
	}
	if res.LLM.Retries != 0 {
		t.Errorf("%d retries against a closed port", res.LLM.Retries)
	}
}

// A key the endpoint refuses stops the run at the preflight, before any
// persona's call, naming the endpoint, the model and where they came from.
func TestLLMPreflightStopsARunWithABadKey(t *testing.T) {
	clearLLMEnv(t)
	t.Setenv("OPENAI_API_KEY", secretKey)
	server := llmtest.New(t)
	server.Handle(func(llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Error(http.StatusUnauthorized, "invalid_api_key", "Incorrect API key provided")
	})
	dir := t.TempDir()
	scenario := writeFile(t, dir, "llm.yaml", llmScenario(server.URL(), filepath.Join(dir, "cache"), "A reader.", ""))
	code, _, stderr := cli(t, context.Background(), "run", "--quiet", "--out", filepath.Join(dir, "out"), scenario)
	for _, want := range []string{"preflight", server.URL(), "(from scenario)", "401"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	if code != runner.ExitRuntime || strings.Contains(stderr, secretKey) {
		t.Fatalf("exit %d (want %d): %s", code, runner.ExitRuntime, stderr)
	}
	if server.Count() != server.Preflights() {
		t.Errorf("%d calls after a failed preflight", server.Count()-server.Preflights())
	}
}

// An endpoint that fails every call opens the circuit breaker: the run stops
// with exit 3 and partial results instead of failing persona after persona.
func TestLLMCircuitBreakerStopsTheRun(t *testing.T) {
	clearLLMEnv(t)
	t.Setenv("OPENAI_API_KEY", secretKey)
	server := llmtest.New(t)
	server.Handle(func(r llmtest.ChatRequest) llmtest.Reply {
		if r.IsPreflight() {
			return llmtest.Reply{Content: `{"ok":true}`}
		}
		return llmtest.Error(http.StatusInternalServerError, "server_error", "overloaded")
	})
	dir := t.TempDir()
	scenario := writeFile(t, dir, "llm.yaml", llmScenario(server.URL(), filepath.Join(dir, "cache"), "A reader.", "  max_attempts: 1\n  max_consecutive_failures: 3"))
	out := filepath.Join(dir, "out")
	code, _, stderr := cli(t, context.Background(), "run", "--quiet", "--out", out, scenario)
	if code != runner.ExitRuntime || !strings.Contains(stderr, "in a row") || !strings.Contains(stderr, server.URL()) {
		t.Fatalf("exit %d (want %d): %s", code, runner.ExitRuntime, stderr)
	}
	if res := readResults(t, out); !res.Partial || !strings.Contains(res.Reason, "in a row") {
		t.Errorf("results: partial %v, reason %q", res.Partial, res.Reason)
	}
	// Calls in flight when the breaker opened may still fail, but no more
	// than the concurrency (4) beyond the threshold.
	if n := server.Count() - server.Preflights(); n > 3+4 {
		t.Errorf("%d calls after the breaker's threshold of 3", n)
	}
}

package main

import (
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/recloop/recloop/llm/llmtest"
	"github.com/recloop/recloop/runner"
)

// checkLines maps each preflight item to its status word.
func checkLines(out string) map[string]string {
	got := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^(ok|fail)\s+(reachable|authorised|model exists|json schema|seed|latency)\b`).FindAllStringSubmatch(out, -1) {
		got[m[2]] = m[1]
	}
	return got
}

func TestLLMCheck(t *testing.T) {
	all := []string{"reachable", "authorised", "model exists", "json schema", "seed", "latency"}
	for _, tc := range []struct {
		name  string
		setup func(*llmtest.Server)
		code  int
		fail  []string
		want  string
	}{
		{"healthy", func(s *llmtest.Server) { s.Models = []string{"test-model"} }, runner.ExitOK, nil, "/models lists it"},
		{"no models endpoint", func(*llmtest.Server) {}, runner.ExitOK, nil, "test-model answered"},
		{"schema ignored", func(s *llmtest.Server) { s.IgnoreSchema = true }, runner.ExitOK, []string{"json schema"}, "ignores the schema"},
		{"schema rejected", func(s *llmtest.Server) { s.RejectJSONSchema = true }, runner.ExitOK, []string{"json schema"}, "falls back"},
		{"seed refused", func(s *llmtest.Server) { s.RejectSeed = true }, runner.ExitOK, []string{"seed"}, "seed"},
		{"bad key", func(s *llmtest.Server) {
			s.Handle(func(llmtest.ChatRequest) llmtest.Reply {
				return llmtest.Error(http.StatusUnauthorized, "invalid_api_key", "Incorrect API key provided")
			})
		}, runner.ExitRuntime, []string{"authorised", "model exists", "json schema", "seed", "latency"}, "answered 401"},
		{"unknown model", func(s *llmtest.Server) {
			s.Handle(func(llmtest.ChatRequest) llmtest.Reply {
				return llmtest.Error(http.StatusNotFound, "model_not_found", "The model test-model does not exist")
			})
		}, runner.ExitRuntime, []string{"model exists", "json schema", "seed", "latency"}, "answered 404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearLLMEnv(t)
			t.Setenv("OPENAI_API_KEY", secretKey)
			server := llmtest.New(t)
			tc.setup(server)
			dir := t.TempDir()
			scenario := writeFile(t, dir, "llm.yaml", llmScenario(server.URL(), filepath.Join(dir, "cache"), "A reader.", ""))
			code, out, stderr := cli(t, context.Background(), "llm", "check", scenario)
			if code != tc.code || !strings.Contains(out, tc.want) || strings.Contains(out+stderr, secretKey) {
				t.Fatalf("exit %d (want %d), want %q in:\n%s\nstderr: %s", code, tc.code, tc.want, out, stderr)
			}
			got := checkLines(out)
			for _, name := range all {
				want := "ok"
				for _, f := range tc.fail {
					if f == name {
						want = "fail"
					}
				}
				if got[name] != want {
					t.Errorf("%s: %q, want %q\n%s", name, got[name], want, out)
				}
			}
		})
	}
}

func TestLLMCheckUnreachable(t *testing.T) {
	url := deadEndpoint(t)
	code, out, stderr := cli(t, context.Background(), "llm", "check")
	if code != runner.ExitRuntime || !strings.Contains(out, "(from OPENAI_BASE_URL)") || !strings.Contains(stderr, url) || checkLines(out)["reachable"] != "fail" {
		t.Fatalf("exit %d\n%s\nstderr: %s", code, out, stderr)
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/recloop/recloop/llm/llmtest"
	"github.com/recloop/recloop/recommenders/protocol"
	"github.com/recloop/recloop/runner"
)

// Sentinels planted in the environment; no output may ever hold them.
const (
	sentinelKey   = "sk-SENTINEL-llm-7e1d0c55"
	sentinelToken = "tok-SENTINEL-rec-93ab"
)

// echoingService is a protocol server that repeats the Authorization header
// it gets: in its explanations, and in the body of every third answer, a 500.
func echoingService(t *testing.T) *httptest.Server {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m protocol.RecommendRequest
		_ = json.NewDecoder(r.Body).Decode(&m)
		auth := r.Header.Get("Authorization")
		switch r.URL.Path {
		case "/health":
			_ = json.NewEncoder(w).Encode(protocol.HealthResponse{Type: protocol.TypeHealth, Protocol: protocol.Version, Status: "ok"})
		case "/recommend":
			if calls.Add(1)%3 == 0 {
				http.Error(w, "token "+auth+" is not allowed here", http.StatusInternalServerError)
				return
			}
			resp := protocol.RecommendResponse{Type: protocol.TypeSlate, ID: m.ID, Items: []protocol.ResponseItem{}}
			for i, id := range m.Candidates[:min(m.K, len(m.Candidates))] {
				resp.Items = append(resp.Items, protocol.ResponseItem{ID: id, Score: protocol.Score(-i), Explanation: "picked for " + auth})
			}
			_ = json.NewEncoder(w).Encode(resp)
		default:
			_ = json.NewEncoder(w).Encode(protocol.Ack{Type: protocol.TypeAck, ID: m.ID})
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestSecretsReachNoOutput plants an API key and a recommender token, runs
// LLM personas against an endpoint and a recommender that both echo what
// they were sent (in answers and in errors), and looks for the sentinels in
// every file of the run, the LLM cache, stdout and stderr.
func TestSecretsReachNoOutput(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", sentinelKey)
	t.Setenv("RECLOOP_SECRET_TOKEN", sentinelToken)
	server := llmtest.New(t)
	var n atomic.Int64
	server.Handle(func(req llmtest.ChatRequest) llmtest.Reply {
		auth := req.Header.Get("Authorization")
		if n.Add(1)%5 == 0 {
			return llmtest.Error(http.StatusBadRequest, "invalid_request_error", "request sent with "+auth+" was refused")
		}
		answer := scriptedPersonas(req)
		if m, ok := answer.(map[string]any); ok {
			if items, ok := m["items"].([]map[string]any); ok && len(items) > 1 {
				items[1]["reason"] = "my key is " + auth
			}
			if _, ok := m["review"]; ok {
				m["review"] = "they sent me " + auth
			}
		}
		return llmtest.JSON(answer)
	})
	rec := echoingService(t)
	dir := t.TempDir()
	cacheDir := filepath.Join(dir, "cache")
	scenario := writeFile(t, dir, "secrets.yaml", `name: secrets
seed: 3
rounds: 3
slate_size: 4
catalog:
  synthetic: {items: 200}
personas:
  population:
    - {archetype: scifi-geek, count: 2}
    - {archetype: romantic, count: 2}
behaviour:
  model: llm
llm:
  base_url: `+server.URL()+`
  model: test-model
  temperature: 0
  max_attempts: 1
  prices: {test-model: {input_per_mtok: 1, output_per_mtok: 2}}
  cache: {dir: `+cacheDir+`}
variants:
  - {name: popular, recommender: popular}
  - name: service
    recommender: http
    params: {url: "`+rec.URL+`", candidates: true, retries: 0, headers: "Authorization: Bearer ${RECLOOP_SECRET_TOKEN}"}
tolerance: {recommender_error_rate: 1}
`)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := cli(t, context.Background(), "run", "--out", out, scenario)
	if code == runner.ExitInvalid {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "results.json")); err != nil {
		t.Fatalf("exit %d, no results: %v: %s", code, err, stderr)
	}
	for _, secret := range []string{sentinelKey, sentinelToken} {
		if strings.Contains(stdout, secret) || strings.Contains(stderr, secret) {
			t.Errorf("the terminal shows %s", secret)
		}
	}
	redacted := false
	for _, root := range []string{out, cacheDir} {
		files := 0
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			files++
			data, err := os.ReadFile(path)
			for _, secret := range []string{sentinelKey, sentinelToken} {
				if bytes.Contains(data, []byte(secret)) {
					t.Errorf("%s holds %s", path, secret)
				}
			}
			redacted = redacted || bytes.Contains(data, []byte("[redacted]"))
			return err
		})
		if err != nil || files == 0 {
			t.Errorf("%s: walked %d files: %v", root, files, err)
		}
	}
	if !redacted {
		t.Error("no output shows [redacted]: the echoes never reached the run, so the test proves nothing")
	}
}

// TestKeyInTheScenarioReachesNoOutput: a key value copied into a scenario
// (here under a custom api_key_env) is masked in every run file and on the
// terminal, even where it is the user's own text.
func TestKeyInTheScenarioReachesNoOutput(t *testing.T) {
	t.Setenv("VLLM_API_KEY", sentinelKey)
	dir := t.TempDir()
	body := `seed: 5
description: "pasted by mistake: ` + sentinelKey + `"
rounds: 3
slate_size: 4
catalog:
  synthetic: {items: 100}
personas:
  inline:
    - id: ada
      name: "Ada ` + sentinelKey + `"
      description: "Keeps her key ` + sentinelKey + ` on a sticky note."
      interests: {categories: {drama: 1}}
  population:
    - {archetype: cinephile, count: 3}
variants:
  - {name: popular, recommender: popular}
  - {name: content, recommender: content}
`
	out := filepath.Join(dir, "out")
	code, stdout, stderr := cli(t, context.Background(), "run", "--out", out, writeFile(t, dir, "pasted.yaml", "name: pasted\n"+body))
	if code != runner.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// A validation error that quotes the value shows it masked.
	bad := writeFile(t, dir, "bad.yaml", "name: \"bad "+sentinelKey+"\"\n"+body)
	vcode, vout, verr := cli(t, context.Background(), "validate", bad)
	if vcode != runner.ExitInvalid || !strings.Contains(verr+vout, "[redacted]") {
		t.Errorf("validate: exit %d, output %q, want exit 2 and the value masked", vcode, verr+vout)
	}
	if terminal := stdout + stderr + vout + verr; strings.Contains(terminal, sentinelKey) {
		t.Error("the terminal shows the key")
	}
	redacted := false
	err := filepath.WalkDir(out, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if bytes.Contains(data, []byte(sentinelKey)) {
			t.Errorf("%s holds the key", path)
		}
		redacted = redacted || bytes.Contains(data, []byte("[redacted]"))
		return err
	})
	if err != nil || !redacted {
		t.Errorf("walk: %v; some file shows [redacted]: %v", err, redacted)
	}
}

// TestKeyInBaseURLIsRefused: the case. The key never reaches a URL:
// validate and run stop with exit 2 before any request, and name the field.
func TestKeyInBaseURLIsRefused(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", sentinelKey)
	server := llmtest.New(t)
	dir := t.TempDir()
	scenario := writeFile(t, dir, "url.yaml", llmScenario(server.URL()+"/${OPENAI_API_KEY}", filepath.Join(dir, "cache"), "A teacher.", ""))
	for _, args := range [][]string{{"validate", scenario}, {"run", "--dry-run", scenario}, {"run", "--out", filepath.Join(dir, "out"), scenario}} {
		code, stdout, stderr := cli(t, context.Background(), args...)
		if code != runner.ExitInvalid || !strings.Contains(stderr, "llm.base_url: ${OPENAI_API_KEY} holds a secret") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
		if strings.Contains(stdout+stderr, sentinelKey) {
			t.Errorf("%v printed the key", args)
		}
	}
	if server.Count() != 0 {
		t.Errorf("%d requests were sent", server.Count())
	}
}

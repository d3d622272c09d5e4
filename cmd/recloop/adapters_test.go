package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/recloop/recloop/recommenders/protocol"
	"github.com/recloop/recloop/runner"
)

func needPython(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not on PATH")
	}
}

type variantErrors struct {
	Name     string `json:"name"`
	Protocol *struct {
		Violations map[string]int64 `json:"violations"`
		Fallbacks  int64            `json:"fallbacks"`
		Rate       float64          `json:"violation_rate"`
	} `json:"protocol"`
	Errors struct {
		Calls    int `json:"calls"`
		Errors   int `json:"errors"`
		Timeouts int `json:"timeouts"`
		Invalid  int `json:"invalid"`
	} `json:"errors"`
	Conversation *struct {
		Dialogues int `json:"dialogues"`
		Successes int `json:"successes"`
	} `json:"conversation"`
}

func readVariants(t *testing.T, dir string) map[string]variantErrors {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Variants []variantErrors `json:"variants"`
	}
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	out := map[string]variantErrors{}
	for _, v := range res.Variants {
		out[v.Name] = v
	}
	return out
}

// TestPythonExampleRunsBesideBuiltins runs the subprocess example's
// scenario from the CLI.
func TestPythonExampleRunsBesideBuiltins(t *testing.T) {
	needPython(t)
	out := t.TempDir()
	code, _, stderr := cli(t, context.Background(), "run", "--quiet", "--out", out, "../../examples/python-recommender/scenario.yaml")
	if code != runner.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	v := readVariants(t, out)
	if py := v["python"]; py.Errors.Calls == 0 || py.Errors.Errors != 0 || len(v) != 3 {
		t.Errorf("variants = %+v", v)
	}
}

// TestHTTPExampleKeepsTheTokenSecret runs the HTTP example's scenario
// against the example server, which demands a bearer token, and checks that
// the token reaches no output.
func TestHTTPExampleKeepsTheTokenSecret(t *testing.T) {
	needPython(t)
	const token = "tok-7f3a9c-never-write-me"
	t.Setenv("RECLOOP_TOKEN", token)
	url := startPythonService(t, "../../examples/http-recommender/server.py", "--port", "0")

	scenario, err := os.ReadFile("../../examples/http-recommender/scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(scenario), "url: http://127.0.0.1:8000",
		"url: "+url+"\n      headers: \"Authorization: Bearer ${RECLOOP_TOKEN}\"", 1)
	if text == string(scenario) {
		t.Fatal("the example scenario no longer has the url line this test replaces")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	path := writeFile(t, dir, "http.yaml", text)
	code, stdoutText, stderr := cli(t, context.Background(), "run", "--out", out, path)
	if code != runner.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if v := readVariants(t, out)["service"]; v.Errors.Calls == 0 || v.Errors.Errors != 0 {
		t.Errorf("service variant = %+v", v)
	}
	if strings.Contains(stdoutText+stderr, token) {
		t.Error("the token was printed")
	}
	files := 0
	err = filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		data, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(data), token) {
			t.Errorf("%s contains the token", p)
		}
		return err
	})
	if err != nil || files < 2 {
		t.Fatalf("walked %d files: %v", files, err)
	}
}

// dyingService answers from the request's candidates for its first calls,
// then fails every call, as a server that died mid-run.
func dyingService(t *testing.T, healthy int32) *httptest.Server {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m protocol.RecommendRequest
		_ = json.NewDecoder(r.Body).Decode(&m)
		switch r.URL.Path {
		case "/health":
			_ = json.NewEncoder(w).Encode(protocol.HealthResponse{Type: protocol.TypeHealth, Protocol: protocol.Version, Status: "ok"})
		case "/recommend":
			if calls.Add(1) > healthy {
				http.Error(w, "gone", http.StatusServiceUnavailable)
				return
			}
			resp := protocol.RecommendResponse{Type: protocol.TypeSlate, ID: m.ID, Items: []protocol.ResponseItem{}}
			for i, id := range m.Candidates[:min(m.K, len(m.Candidates))] {
				resp.Items = append(resp.Items, protocol.ResponseItem{ID: id, Score: protocol.Score(-i)})
			}
			_ = json.NewEncoder(w).Encode(resp)
		default:
			_ = json.NewEncoder(w).Encode(protocol.Ack{Type: protocol.TypeAck, ID: m.ID})
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestServerDiesMidRun: the variant with on_error: fail stops failing
// cleanly, the one with a fallback carries on, the built-in is untouched.
func TestServerDiesMidRun(t *testing.T) {
	failing, fallback := dyingService(t, 60), dyingService(t, 60)
	dir := t.TempDir()
	path := writeFile(t, dir, "dies.yaml", `
name: dies
seed: 3
rounds: 6
slate_size: 5
catalog:
  synthetic: {items: 300}
personas:
  population:
    - {archetype: cinephile, count: 20}
variants:
  - {name: popular, recommender: popular}
  - name: fail
    recommender: http
    params: {url: "`+failing.URL+`", candidates: true, retries: 0, on_error: fail}
  - name: fallback
    recommender: http
    params: {url: "`+fallback.URL+`", candidates: true, retries: 0, on_error: "fallback:popular"}
metrics: {bootstrap: 50}
`)
	out := filepath.Join(dir, "out")
	code, _, stderr := cli(t, context.Background(), "run", "--quiet", "--out", out, path)
	if code != runner.ExitRuntime {
		t.Fatalf("exit %d, want %d (the failed variant exceeds the error tolerance): %s", code, runner.ExitRuntime, stderr)
	}
	v := readVariants(t, out)
	// The server answered the first 60 calls; every later one is an error.
	if f := v["fail"]; f.Errors.Calls <= 60 || f.Errors.Errors != f.Errors.Calls-60 {
		t.Errorf("fail variant = %+v, want all but 60 calls failed", f)
	}
	if v["fallback"].Errors.Errors != 0 || v["popular"].Errors.Errors != 0 {
		t.Errorf("fallback = %+v, popular = %+v, want no errors", v["fallback"], v["popular"])
	}
	// The results count what went wrong, by kind, and what the fallback answered.
	fb, f := v["fallback"], v["fail"]
	if fb.Protocol == nil || fb.Protocol.Fallbacks != int64(fb.Errors.Calls-60) {
		t.Errorf("fallback variant's protocol counts = %+v, want %d fallbacks", fb.Protocol, fb.Errors.Calls-60)
	}
	if f.Protocol == nil || len(f.Protocol.Violations) == 0 || f.Protocol.Rate <= 0 {
		t.Errorf("fail variant's protocol counts = %+v, want violations by kind and a rate", f.Protocol)
	}
	if v["popular"].Protocol != nil {
		t.Errorf("a built-in recommender has protocol counts: %+v", v["popular"].Protocol)
	}
}

// TestPythonChatExampleConversesThroughExecAndHTTP runs the conversational
// example as a subprocess (its scenario as shipped) and as a service (its
// HTTP scenario against the example started with --http 0): both hold
// every dialogue without a failed reply.
func TestPythonChatExampleConversesThroughExecAndHTTP(t *testing.T) {
	needPython(t)
	check := func(out, variant string) {
		t.Helper()
		v := readVariants(t, out)[variant]
		if v.Conversation == nil || v.Conversation.Dialogues == 0 || v.Conversation.Successes == 0 || v.Errors.Calls == 0 ||
			v.Errors.Errors+v.Errors.Timeouts+v.Errors.Invalid != 0 {
			t.Fatalf("%s: conversation %+v, errors %+v", variant, v.Conversation, v.Errors)
		}
		if v.Protocol == nil || v.Protocol.Fallbacks != 0 || v.Protocol.Rate != 0 {
			t.Fatalf("%s: protocol %+v", variant, v.Protocol)
		}
	}
	out := t.TempDir()
	if code, _, stderr := cli(t, context.Background(), "run", "--quiet", "--out", out, "../../examples/python-chat-recommender/scenario.yaml"); code != runner.ExitOK {
		t.Fatalf("exec: exit %d: %s", code, stderr)
	}
	check(out, "python")

	url := startPythonService(t, "../../examples/python-chat-recommender/recommender.py", "--http", "0")
	scenario, err := os.ReadFile("../../examples/python-chat-recommender/scenario-http.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(scenario), "url: http://127.0.0.1:8001", "url: "+url, 1)
	if text == string(scenario) {
		t.Fatal("the example scenario no longer has the url line this test replaces")
	}
	dir := t.TempDir()
	out = filepath.Join(dir, "out")
	if code, _, stderr := cli(t, context.Background(), "run", "--quiet", "--out", out, writeFile(t, dir, "http.yaml", text)); code != runner.ExitOK {
		t.Fatalf("http: exit %d: %s", code, stderr)
	}
	check(out, "service")
}

// startPythonService starts an example service that prints "listening on
// URL" first, stops it when the test ends, and returns the URL.
func startPythonService(t *testing.T, args ...string) string {
	t.Helper()
	srv := exec.Command("python3", args...)
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		t.Fatalf("server said %q, %v", line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return url
}

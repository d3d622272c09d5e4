package httprec

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recloop/recloop/recommenders"
	"github.com/recloop/recloop/recommenders/protocol"
	"github.com/recloop/recloop/recommenders/protocol/prototest"
)

// service is a protocol server whose /recommend answer the test programs.
// It validates every message it receives against the schemas.
type service struct {
	t         testing.TB
	recommend func(w http.ResponseWriter, req *protocol.RecommendRequest, call int)
	calls     atomic.Int32
	inFlight  atomic.Int32
	maxFlight atomic.Int32
	conns     atomic.Int32
	mu        sync.Mutex
	resets    []protocol.Reset
	feedback  []protocol.Feedback
	headers   []http.Header
	version   int
	// chat, when set, declares the chat capability and answers /chat.
	chat func(w http.ResponseWriter, req *protocol.ChatRequest)
}

func (s *service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for m := s.maxFlight.Load(); n > m && !s.maxFlight.CompareAndSwap(m, n); m = s.maxFlight.Load() {
	}
	s.mu.Lock()
	s.headers = append(s.headers, r.Header.Clone())
	s.mu.Unlock()
	if r.URL.Path == "/health" {
		v := s.version
		if v == 0 {
			v = protocol.Version
		}
		h := protocol.HealthResponse{Type: protocol.TypeHealth, Protocol: v, Status: "ok"}
		if s.chat != nil {
			h.Capabilities = []string{protocol.CapabilityChat}
		}
		_ = json.NewEncoder(w).Encode(h)
		return
	}
	body, _ := io.ReadAll(r.Body)
	schema := map[string]string{"/recommend": "recommend_request", "/feedback": "feedback", "/reset": "reset", "/chat": "chat_request"}[r.URL.Path]
	if err := prototest.Validate(schema, body); err != nil {
		s.t.Errorf("recloop sent an invalid %s: %v", schema, err)
	}
	switch r.URL.Path {
	case "/reset":
		s.ack(w, body, func() { s.resets = append(s.resets, decode[protocol.Reset](body)) })
	case "/feedback":
		s.ack(w, body, func() { s.feedback = append(s.feedback, decode[protocol.Feedback](body)) })
	case "/recommend":
		var m protocol.RecommendRequest
		_ = json.Unmarshal(body, &m)
		s.recommend(w, &m, int(s.calls.Add(1)))
	case "/chat":
		m := decode[protocol.ChatRequest](body)
		s.chat(w, &m)
	}
}

// ack records a message under the lock and acknowledges it.
func (s *service) ack(w http.ResponseWriter, body []byte, record func()) {
	s.mu.Lock()
	record()
	s.mu.Unlock()
	_ = json.NewEncoder(w).Encode(protocol.Ack{Type: protocol.TypeAck, ID: decode[protocol.Envelope](body).ID})
}

func decode[T any](body []byte) T {
	var m T
	_ = json.Unmarshal(body, &m)
	return m
}

func slate(w http.ResponseWriter, id string, ids ...string) {
	resp := protocol.RecommendResponse{Type: protocol.TypeSlate, ID: id}
	for i, it := range ids {
		resp.Items = append(resp.Items, protocol.ResponseItem{ID: it, Score: protocol.Score(10 - i), Explanation: "because"})
	}
	_ = json.NewEncoder(w).Encode(resp)
}

func good(w http.ResponseWriter, req *protocol.RecommendRequest, _ int) { slate(w, req.ID, "b", "c") }

func start(t *testing.T, s *service) *httptest.Server {
	t.Helper()
	s.t = t
	srv := httptest.NewUnstartedServer(s)
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func build(t *testing.T, url string, raw map[string]any) (*protocol.Adapter, error) {
	t.Helper()
	return prototest.Build(t, Spec, New, recommenders.Env{Catalog: prototest.Catalog(t), Seed: 99, Variant: "svc"},
		map[string]any{"url": url, "backoff": "1ms", "max_backoff": "20ms", "timeout": "2s"}, raw)
}

var req = prototest.Request

func TestMisbehavingServers(t *testing.T) {
	for _, tc := range []struct {
		name      string
		params    map[string]any
		recommend func(w http.ResponseWriter, req *protocol.RecommendRequest, call int)
		wantErr   error
		kind      string // the violation counted, "" for none
		calls     int32
	}{
		{name: "ok", recommend: good, calls: 1},
		{name: "500 then 200", recommend: func(w http.ResponseWriter, r *protocol.RecommendRequest, call int) {
			if call == 1 {
				http.Error(w, "busy", http.StatusInternalServerError)
				return
			}
			good(w, r, call)
		}, calls: 2},
		{name: "429 with Retry-After", recommend: func(w http.ResponseWriter, r *protocol.RecommendRequest, call int) {
			if call == 1 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			good(w, r, call)
		}, calls: 2},
		{name: "500 until retries run out", params: map[string]any{"retries": 2},
			recommend: func(w http.ResponseWriter, _ *protocol.RecommendRequest, _ int) {
				http.Error(w, "down", http.StatusServiceUnavailable)
			},
			wantErr: protocol.ErrStatus, kind: "status", calls: 3},
		{name: "400 is not retried", recommend: func(w http.ResponseWriter, _ *protocol.RecommendRequest, _ int) { http.Error(w, "bad", 400) },
			wantErr: protocol.ErrStatus, kind: "status", calls: 1},
		{name: "slow", params: map[string]any{"timeout": "30ms", "retries": 1},
			recommend: func(w http.ResponseWriter, r *protocol.RecommendRequest, call int) {
				time.Sleep(300 * time.Millisecond)
				good(w, r, call)
			}, wantErr: context.DeadlineExceeded, kind: "timeout", calls: 2},
		{name: "garbage JSON", recommend: func(w http.ResponseWriter, _ *protocol.RecommendRequest, _ int) { _, _ = io.WriteString(w, "<html>") },
			wantErr: protocol.ErrMalformed, kind: "malformed", calls: 1},
		{name: "oversized", params: map[string]any{"max_response_bytes": 1024},
			recommend: func(w http.ResponseWriter, _ *protocol.RecommendRequest, _ int) {
				_, _ = io.WriteString(w, `{"type":"slate","id":"x","items":[],"pad":"`+strings.Repeat("x", 4096)+`"}`)
			}, wantErr: protocol.ErrOversized, kind: "oversized", calls: 1},
		{name: "unknown ids", recommend: func(w http.ResponseWriter, r *protocol.RecommendRequest, _ int) { slate(w, r.ID, "b", "nope") },
			wantErr: protocol.ErrInvalid, kind: "unknown_id", calls: 1},
		{name: "duplicates", recommend: func(w http.ResponseWriter, r *protocol.RecommendRequest, _ int) { slate(w, r.ID, "b", "b") },
			wantErr: protocol.ErrInvalid, kind: "duplicate", calls: 1},
		{name: "consumed", recommend: func(w http.ResponseWriter, r *protocol.RecommendRequest, _ int) { slate(w, r.ID, "a", "b") },
			wantErr: protocol.ErrInvalid, kind: "consumed", calls: 1},
		{name: "NaN score", recommend: func(w http.ResponseWriter, r *protocol.RecommendRequest, _ int) {
			_, _ = io.WriteString(w, `{"type":"slate","id":"`+r.ID+`","items":[{"id":"b","score":NaN},{"id":"c","score":1}]}`)
		}, wantErr: protocol.ErrInvalid, kind: "non_finite", calls: 1},
		{name: "fewer than k", recommend: func(w http.ResponseWriter, r *protocol.RecommendRequest, _ int) { slate(w, r.ID, "b") },
			wantErr: protocol.ErrInvalid, kind: "short", calls: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &service{recommend: tc.recommend}
			srv := start(t, s)
			a, err := build(t, srv.URL, tc.params)
			if err != nil {
				t.Fatal(err)
			}
			sl, err := a.Recommend(context.Background(), req)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && (len(sl.Items) != 2 || sl.Items[0].Item != "b" || sl.Items[0].Explanation != "because") {
				t.Errorf("slate = %+v", sl.Items)
			}
			if got := s.calls.Load(); got != tc.calls {
				t.Errorf("server saw %d recommend calls, want %d", got, tc.calls)
			}
			v := a.Violations()
			if tc.kind == "" && len(v) > 0 || tc.kind != "" && (len(v) != 1 || v[tc.kind] != 1) {
				t.Errorf("violations = %v, want one %q", v, tc.kind)
			}
		})
	}
}

func TestPolicies(t *testing.T) {
	down := func(w http.ResponseWriter, _ *protocol.RecommendRequest, _ int) { http.Error(w, "down", 500) }
	t.Run("fail stops the world", func(t *testing.T) {
		s := &service{recommend: down}
		a, err := build(t, start(t, s).URL, map[string]any{"on_error": "fail", "retries": 0})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := a.Recommend(context.Background(), req); !errors.Is(err, protocol.ErrFailed) {
				t.Fatalf("err = %v, want ErrFailed", err)
			}
		}
		if s.calls.Load() != 1 {
			t.Errorf("%d calls reached the server after it failed, want 1", s.calls.Load())
		}
	})
	t.Run("fallback answers", func(t *testing.T) {
		s := &service{recommend: down}
		a, err := build(t, start(t, s).URL, map[string]any{"on_error": "fallback:popular", "retries": 0})
		if err != nil {
			t.Fatal(err)
		}
		sl, err := a.Recommend(context.Background(), req)
		// popular: b (40) then c (30); a is consumed.
		if err != nil || len(sl.Items) != 2 || sl.Items[0].Item != "b" || sl.Items[1].Item != "c" {
			t.Fatalf("slate = %+v, err = %v", sl.Items, err)
		}
		if a.Fallbacks() != 1 || a.Violations()["status"] != 1 {
			t.Errorf("fallbacks = %d, violations = %v", a.Fallbacks(), a.Violations())
		}
	})
	t.Run("skip goes on", func(t *testing.T) {
		s := &service{recommend: func(w http.ResponseWriter, r *protocol.RecommendRequest, call int) {
			if call == 1 {
				down(w, r, call)
				return
			}
			good(w, r, call)
		}}
		a, err := build(t, start(t, s).URL, map[string]any{"on_error": "skip", "retries": 0})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Recommend(context.Background(), req); !errors.Is(err, protocol.ErrStatus) {
			t.Fatalf("first call err = %v, want ErrStatus", err)
		}
		if _, err := a.Recommend(context.Background(), req); err != nil {
			t.Fatalf("second call: %v", err)
		}
	})
}

func TestWorldLifecycle(t *testing.T) {
	s := &service{recommend: good}
	a, err := build(t, start(t, s).URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Observe(context.Background(), []recommenders.Feedback{{User: "u", Round: 0, Item: "b", Rank: 1, Clicked: true}}); err != nil {
		t.Fatal(err)
	}
	if len(s.resets) != 1 || s.resets[0].World != a.World() || s.resets[0].Variant != "svc" || len(s.resets[0].Catalog) != 5 {
		t.Errorf("resets = %+v", s.resets)
	}
	if len(s.feedback) != 1 || len(s.feedback[0].Events) != 1 || !s.feedback[0].Events[0].Clicked {
		t.Errorf("feedback = %+v", s.feedback)
	}
}

func TestVersionMismatch(t *testing.T) {
	s := &service{recommend: good, version: 2}
	_, err := build(t, start(t, s).URL, nil)
	if !errors.Is(err, protocol.ErrVersion) || !strings.Contains(err.Error(), "version 2") || !strings.Contains(err.Error(), "speaks 1") {
		t.Fatalf("err = %v, want a version mismatch naming 2 and 1", err)
	}
}

func TestKeepAliveAndConcurrencyLimit(t *testing.T) {
	s := &service{recommend: func(w http.ResponseWriter, r *protocol.RecommendRequest, call int) {
		time.Sleep(2 * time.Millisecond)
		good(w, r, call)
	}}
	a, err := build(t, start(t, s).URL, map[string]any{"max_concurrency": 2})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := a.Recommend(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.conns.Load(); n != 1 {
		t.Errorf("sequential calls opened %d connections, want 1", n)
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if _, err := a.Recommend(context.Background(), req); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if m := s.maxFlight.Load(); m > 2 {
		t.Errorf("%d requests in flight at once, max_concurrency is 2", m)
	}
	if n := s.conns.Load(); n > 2 {
		t.Errorf("%d connections opened, want at most max_concurrency = 2", n)
	}
}

func TestHeadersFromEnv(t *testing.T) {
	const secret = "s3cr3t-token-value"
	t.Setenv("RECLOOP_TEST_TOKEN", secret)
	s := &service{recommend: good}
	a, err := build(t, start(t, s).URL, map[string]any{"headers": "Authorization: Bearer ${RECLOOP_TEST_TOKEN}; X-Team: recs"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Recommend(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	for _, h := range s.headers {
		if h.Get("Authorization") != "Bearer "+secret || h.Get("X-Team") != "recs" {
			t.Fatalf("headers = %v", h)
		}
	}
	_, err = ParseHeaders("Authorization: Bearer ${RECLOOP_UNSET_VAR}", func(string) (string, bool) { return "", false })
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "RECLOOP_UNSET_VAR") {
		t.Errorf("err = %v, want one naming the unset variable", err)
	}
	for _, bad := range []string{"no colon", ": empty name", "Bad Name: x"} {
		if _, err := ParseHeaders(bad, func(string) (string, bool) { return secret, true }); err == nil || strings.Contains(err.Error(), secret) {
			t.Errorf("ParseHeaders(%q) err = %v", bad, err)
		}
	}
}

func TestWait(t *testing.T) {
	tr := &transport{backoff: 100 * time.Millisecond, maxBackoff: time.Second, seed: 7}
	for _, tc := range []struct {
		attempt    int
		retryAfter time.Duration
		want       time.Duration
	}{
		{0, 0, 100 * time.Millisecond},
		{2, 0, 400 * time.Millisecond}, // 100ms·2²
		{5, 0, time.Second},            // 3.2s capped
		{0, 700 * time.Millisecond, 700 * time.Millisecond},
		{0, time.Minute, time.Second}, // Retry-After capped too
	} {
		if got := tr.wait("r0-u", tc.attempt, tc.retryAfter); got != tc.want {
			t.Errorf("wait(attempt %d, retry-after %v) = %v, want %v", tc.attempt, tc.retryAfter, got, tc.want)
		}
	}
	tr.jitter = true
	a, b := tr.wait("r0-u", 2, 0), tr.wait("r0-u", 2, 0)
	if a != b || a < 200*time.Millisecond || a > 400*time.Millisecond {
		t.Errorf("jittered wait = %v then %v, want the same value in [200ms, 400ms]", a, b)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	for in, want := range map[string]time.Duration{
		"":                              0,
		"3":                             3 * time.Second,
		"Thu, 01 Jan 2026 00:00:05 GMT": 5 * time.Second,
		"soon":                          0,
		"-1":                            0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestBadPolicyContactsNobody(t *testing.T) {
	s := &service{recommend: good}
	_, err := build(t, start(t, s).URL, map[string]any{"on_error": "fallback:nope"})
	if !errors.Is(err, recommenders.ErrUnknown) || len(s.headers) != 0 {
		t.Fatalf("err = %v after %d requests, want ErrUnknown before any", err, len(s.headers))
	}
}

func TestBadURL(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "localhost:8000"} {
		p, _ := Spec.Resolve(nil, "", map[string]any{"url": u})
		if _, err := New(t.Context(), recommenders.Env{Catalog: prototest.Catalog(t)}, p); !errors.Is(err, ErrConfig) {
			t.Errorf("url %q: err = %v, want ErrConfig", u, err)
		}
	}
}

// The health check and the first reset run under the builder's context: a
// build that was cancelled contacts nobody and says why.
func TestBuildHonoursItsContext(t *testing.T) {
	s := &service{recommend: good}
	url := start(t, s).URL
	p, errs := Spec.Resolve(nil, "", map[string]any{"url": url, "backoff": "1ms"})
	if len(errs) > 0 {
		t.Fatal(errs.Err())
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := New(ctx, recommenders.Env{Catalog: prototest.Catalog(t), Variant: "svc"}, p)
	if !errors.Is(err, context.Canceled) || len(s.headers) != 0 {
		t.Fatalf("err = %v after %d requests, want context.Canceled before any", err, len(s.headers))
	}
}

// TestHeaderValuesNeverComeBack: a service that echoes the headers it gets,
// in an explanation or in an error body, hands back no secret.
func TestHeaderValuesNeverComeBack(t *testing.T) {
	const secret = "tok-SENTINEL-echo-5521"
	t.Setenv("RECLOOP_TEST_TOKEN", secret)
	s := &service{}
	s.recommend = func(w http.ResponseWriter, r *protocol.RecommendRequest, call int) {
		s.mu.Lock()
		auth := s.headers[len(s.headers)-1].Get("Authorization")
		s.mu.Unlock()
		if call > 1 {
			http.Error(w, "refused "+auth, http.StatusForbidden)
			return
		}
		_ = json.NewEncoder(w).Encode(protocol.RecommendResponse{Type: protocol.TypeSlate, ID: r.ID,
			Items: []protocol.ResponseItem{{ID: "b", Score: 2, Explanation: "for " + auth}, {ID: "c", Score: 1}}})
	}
	a, err := build(t, start(t, s).URL, map[string]any{"headers": "Authorization: Bearer ${RECLOOP_TEST_TOKEN}", "on_error": "fail"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Recommend(context.Background(), req)
	if err != nil || len(resp.Items) != 2 {
		t.Fatalf("first call: %+v, %v", resp, err)
	}
	if e := resp.Items[0].Explanation; strings.Contains(e, secret) || !strings.Contains(e, "[redacted]") {
		t.Errorf("explanation %q", e)
	}
	_, err = a.Recommend(context.Background(), req)
	if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("second call: err = %v, want the echo masked", err)
	}
}

// A service whose health answer declares chat gets POST /chat; its reply is
// validated like a slate (here: a repeated item is counted and fails the
// turn). One without the capability does not converse.
func TestChatOverHTTP(t *testing.T) {
	turn := 0
	svc := &service{recommend: good, chat: func(w http.ResponseWriter, req *protocol.ChatRequest) {
		turn++
		msg := "How about these?"
		reply := protocol.ChatReply{Type: protocol.TypeReply, ID: req.ID, Message: &msg,
			Items: []protocol.ResponseItem{{ID: "b", Score: 1}, {ID: "c", Score: 0.5}}}
		if turn == 2 {
			reply.Items[1].ID = "b"
		}
		_ = json.NewEncoder(w).Encode(reply)
	}}
	a, err := build(t, start(t, svc).URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !recommenders.Converses(a) {
		t.Fatal("a service that declared chat does not converse")
	}
	chat := recommenders.ChatRequest{Conversation: "svc/u/0", User: "u", K: 2,
		Messages: []recommenders.ChatMessage{{Role: recommenders.SpeakerUser, Content: "sci-fi"}}}
	if reply, err := a.Respond(t.Context(), chat); err != nil || len(reply.Items) != 2 {
		t.Fatalf("reply %+v, %v", reply, err)
	}
	if _, err := a.Respond(t.Context(), chat); !errors.Is(err, protocol.ErrInvalid) || a.Violations()["duplicate"] != 1 {
		t.Fatalf("a repeated item: %v, violations %v", err, a.Violations())
	}
	plain, err := build(t, start(t, &service{recommend: good}).URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if recommenders.Converses(plain) {
		t.Fatal("a service without the chat capability converses")
	}
}

// The Python conversational example as the service it is meant to be:
// started with --http 0, it says where it listens, its health answer
// declares chat, and it asks, then proposes.
func TestPythonChatExampleOverHTTP(t *testing.T) {
	argv := prototest.PythonChatExample(t)
	srv := exec.Command(argv[0], append(argv[1:], "--http", "0")...)
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	// The first line says where it listens; a hung server must not hang the test.
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(10 * time.Second):
		t.Fatal("the example did not say where it listens within 10s")
	}
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok {
		t.Fatalf("the example said %q, want \"listening on <url>\"", line)
	}
	resp, err := http.Get(url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := prototest.Validate("health_response", body); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	a, err := prototest.Build(t, Spec, New, recommenders.Env{Catalog: prototest.ChatCatalog(t), Seed: 99, Variant: "py"},
		map[string]any{"url": url, "timeout": "5s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	prototest.CheckPythonChatExample(t, a)
}

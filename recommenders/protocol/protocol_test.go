package protocol_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/recommenders"
	"github.com/recloop/recloop/recommenders/protocol"
	"github.com/recloop/recloop/recommenders/protocol/prototest"
)

// fakeTransport records every message the adapter sends and answers
// recommend requests with answer (or fails with err).
type fakeTransport struct {
	mu     sync.Mutex
	sent   [][]byte
	answer func(*protocol.RecommendRequest) (*protocol.RecommendResponse, error)
	err    error
}

func (f *fakeTransport) record(msg any) {
	data, _ := json.Marshal(msg)
	f.mu.Lock()
	f.sent = append(f.sent, data)
	f.mu.Unlock()
}

func (f *fakeTransport) Recommend(_ context.Context, req *protocol.RecommendRequest) (*protocol.RecommendResponse, error) {
	f.record(req)
	if f.err != nil {
		return nil, f.err
	}
	return f.answer(req)
}

func (f *fakeTransport) Send(_ context.Context, _ string, msg any) error {
	f.record(msg)
	return f.err
}

func (f *fakeTransport) Close() error { return nil }

func params(t testing.TB, raw map[string]any) config.Params {
	t.Helper()
	spec := config.Spec{Name: "test", Params: protocol.CommonParams}
	p, errs := spec.Resolve(nil, "", raw)
	if len(errs) > 0 {
		t.Fatal(errs.Err())
	}
	return p
}

func newAdapter(t testing.TB, ft *fakeTransport, raw map[string]any) *protocol.Adapter {
	t.Helper()
	env := recommenders.Env{Catalog: prototest.Catalog(t), Seed: 0xfeedface12345678, Variant: "ext"}
	a, err := protocol.NewAdapter(context.Background(), env, params(t, raw), ft)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func items(ids ...string) *protocol.RecommendResponse {
	r := &protocol.RecommendResponse{Type: protocol.TypeSlate}
	for i, id := range ids {
		r.Items = append(r.Items, protocol.ResponseItem{ID: id, Score: protocol.Score(len(ids) - i)})
	}
	return r
}

var request = recommenders.Request{User: "u1", Round: 3, K: 2,
	History: []recommenders.HistoryItem{{Item: "a", Round: -1}, {Item: "c", Round: 1, Rating: 4}},
	Context: map[string]string{"query": "space"}}

// TestSentMessagesMatchSchemas validates every message the adapter sends,
// with every optional field filled in, against its schema.
func TestSentMessagesMatchSchemas(t *testing.T) {
	ft := &fakeTransport{answer: func(r *protocol.RecommendRequest) (*protocol.RecommendResponse, error) {
		return items("b", "d"), nil
	}}
	a := newAdapter(t, ft, map[string]any{"candidates": true})
	if _, err := a.Recommend(context.Background(), request); err != nil {
		t.Fatal(err)
	}
	fb := []recommenders.Feedback{{User: "u1", Round: 3, Item: "b", Rank: 1, Clicked: true, Rating: 5}, {User: "u1", Round: 3, Item: "d", Rank: 2}}
	if err := a.Observe(context.Background(), fb); err != nil {
		t.Fatal(err)
	}
	if err := a.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	health, _ := json.Marshal(protocol.HealthRequest{Type: protocol.TypeHealth, Protocol: protocol.Version, ID: "h1"})
	hs, _ := json.Marshal(protocol.Handshake{Type: protocol.TypeHandshake, Protocol: protocol.Version, Name: "x"})
	sent := append(ft.sent, health)
	wantTypes := []string{"reset", "recommend", "feedback", "reset", "health"}
	if len(sent) != len(wantTypes) {
		t.Fatalf("sent %d messages, want %d", len(sent), len(wantTypes))
	}
	for i, data := range sent {
		var env protocol.Envelope
		_ = json.Unmarshal(data, &env)
		if env.Type != wantTypes[i] {
			t.Errorf("message %d has type %q, want %q", i, env.Type, wantTypes[i])
		}
		if err := prototest.Validate(prototest.SchemaFor(env.Type), data); err != nil {
			t.Errorf("message %d: %v\n%s", i, err, data)
		}
	}
	if err := prototest.Validate("handshake", hs); err != nil {
		t.Error(err)
	}
	var req protocol.RecommendRequest
	_ = json.Unmarshal(sent[1], &req)
	// Released by round 3 and not consumed (a, c consumed): b, d, e.
	if got := strings.Join(req.Candidates, ","); got != "b,d,e" {
		t.Errorf("candidates = %s, want b,d,e", got)
	}
	var reset protocol.Reset
	_ = json.Unmarshal(sent[0], &reset)
	if len(reset.Catalog) != 5 || reset.Seed != 0xfeedface12345678>>11 || reset.World != a.World() {
		t.Errorf("reset = %+v", reset)
	}
	// Popularity goes out as shares: a has 50 of 50+40+30+20+10 = 150.
	if p := reset.Catalog[0].Popularity; math.Abs(p-50.0/150) > 1e-12 || reset.Catalog[4].ReleaseRound != 2 {
		t.Errorf("catalog[0].popularity = %v, want 1/3; catalog[4] = %+v", p, reset.Catalog[4])
	}
}

// TestSchemasRejectBadMessages makes sure the schemas can fail.
func TestSchemasRejectBadMessages(t *testing.T) {
	for _, tc := range []struct{ schema, msg string }{
		{"recommend_request", `{"type":"recommend","protocol":1,"id":"r","variant":"v","world":"w","user":"u","round":0,"k":0,"history":[]}`},
		{"recommend_request", `{"type":"recommend","protocol":2,"id":"r","variant":"v","world":"w","user":"u","round":0,"k":1,"history":[]}`},
		{"recommend_response", `{"type":"slate","id":"r","items":[{"id":"a"}]}`},
		{"feedback", `{"type":"feedback","protocol":1,"id":"f","variant":"v","world":"w","round":0,"events":[{"user":"u","item":"a","rank":0,"clicked":true}]}`},
		{"reset", `{"type":"reset","protocol":1,"id":"x","variant":"v","world":"w","seed":-1}`},
		{"handshake", `{"type":"handshake"}`},
	} {
		if err := prototest.Validate(tc.schema, []byte(tc.msg)); err == nil {
			t.Errorf("%s accepted %s", tc.schema, tc.msg)
		}
	}
}

func TestCheck(t *testing.T) {
	nan := protocol.ResponseItem{ID: "b", Score: protocol.Score(math.NaN())}
	for _, tc := range []struct {
		name  string
		k     int
		round int
		resp  *protocol.RecommendResponse
		kinds []string
	}{
		{"valid", 2, 3, items("b", "d"), nil},
		{"unknown id", 2, 3, items("b", "zz"), []string{"unknown_id"}},
		{"duplicate", 2, 3, items("b", "b"), []string{"duplicate"}},
		{"consumed", 2, 3, items("a", "b"), []string{"consumed"}},
		{"unreleased", 2, 1, items("e", "b"), []string{"unreleased"}},
		{"too many", 2, 3, items("b", "d", "e"), []string{"too_many"}},
		// Eligible in round 3: b, d, e (a and c consumed); 1 < 2.
		{"short", 2, 3, items("b"), []string{"short"}},
		// Eligible in round 1: b, d (e unreleased); asking for 5 and getting both is fine.
		{"short but all eligible", 5, 1, items("b", "d"), nil},
		{"non-finite", 2, 3, &protocol.RecommendResponse{Items: []protocol.ResponseItem{nan, {ID: "d"}}}, []string{"non_finite"}},
		{"several", 2, 3, items("zz", "zz", "a"), []string{"unknown_id", "duplicate", "too_many", "consumed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAdapter(t, &fakeTransport{}, nil)
			req := request
			req.K, req.Round = tc.k, tc.round
			slate, err := a.Check(req, tc.resp)
			if (err != nil) != (len(tc.kinds) > 0) {
				t.Fatalf("err = %v, want kinds %v", err, tc.kinds)
			}
			if err != nil && !errors.Is(err, protocol.ErrInvalid) {
				t.Errorf("err %v does not wrap ErrInvalid", err)
			}
			if err == nil && len(slate.Items) != len(tc.resp.Items) {
				t.Errorf("slate has %d items, want %d", len(slate.Items), len(tc.resp.Items))
			}
			got := a.Violations()
			if len(got) != len(tc.kinds) {
				t.Errorf("violations = %v, want %v", got, tc.kinds)
			}
			for _, k := range tc.kinds {
				if got[k] != 1 {
					t.Errorf("violations[%s] = %d, want 1 (all: %v)", k, got[k], got)
				}
			}
		})
	}
}

func TestPolicies(t *testing.T) {
	ctx := context.Background()
	bad := func(*protocol.RecommendRequest) (*protocol.RecommendResponse, error) { return items("zz", "b"), nil }
	t.Run("skip", func(t *testing.T) {
		a := newAdapter(t, &fakeTransport{answer: bad}, map[string]any{"on_error": "skip"})
		for range 2 {
			if _, err := a.Recommend(ctx, request); !errors.Is(err, protocol.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		}
		if v := a.Violations()["unknown_id"]; v != 2 {
			t.Errorf("unknown_id = %d, want 2", v)
		}
	})
	t.Run("fail", func(t *testing.T) {
		ft := &fakeTransport{answer: bad}
		a := newAdapter(t, ft, map[string]any{"on_error": "fail"})
		if _, err := a.Recommend(ctx, request); !errors.Is(err, protocol.ErrFailed) || !errors.Is(err, protocol.ErrInvalid) {
			t.Fatalf("err = %v, want ErrFailed wrapping ErrInvalid", err)
		}
		before := len(ft.sent)
		if _, err := a.Recommend(ctx, request); !errors.Is(err, protocol.ErrFailed) || !strings.Contains(err.Error(), `unknown item id "zz"`) {
			t.Fatalf("second call: err = %v, want ErrFailed naming the first failure", err)
		}
		if len(ft.sent) != before {
			t.Error("a failed world still called the recommender")
		}
		if err := a.Observe(ctx, []recommenders.Feedback{{User: "u1", Round: 3, Item: "b", Rank: 1}}); !errors.Is(err, protocol.ErrFailed) {
			t.Errorf("Observe err = %v, want ErrFailed", err)
		}
		if err := a.Reset(ctx); err != nil {
			t.Fatal(err)
		}
		ft.answer = func(*protocol.RecommendRequest) (*protocol.RecommendResponse, error) { return items("b", "d"), nil }
		if _, err := a.Recommend(ctx, request); err != nil {
			t.Errorf("after Reset: %v", err)
		}
	})
	t.Run("fallback", func(t *testing.T) {
		ft := &fakeTransport{err: errors.New("connection refused")}
		env := recommenders.Env{Catalog: prototest.Catalog(t), Seed: 1, Variant: "ext"}
		ft.err = nil
		a, err := protocol.NewAdapter(ctx, env, params(t, map[string]any{"on_error": "fallback:popular"}), ft)
		if err != nil {
			t.Fatal(err)
		}
		ft.err = errors.New("connection refused")
		slate, err := a.Recommend(ctx, request)
		if err != nil {
			t.Fatal(err)
		}
		// popular ranks b (40) then d (20) among the unconsumed released items.
		if len(slate.Items) != 2 || slate.Items[0].Item != "b" || slate.Items[1].Item != "d" {
			t.Errorf("fallback slate = %+v, want b, d", slate.Items)
		}
		if a.Fallbacks() != 1 || a.Violations()["transport"] != 1 {
			t.Errorf("fallbacks = %d, violations = %v", a.Fallbacks(), a.Violations())
		}
	})
	t.Run("bad policy", func(t *testing.T) {
		for _, s := range []string{"retry", "fallback:nosuch", "fallback:http", "fallback:"} {
			if _, err := protocol.ParsePolicy(s); err == nil {
				t.Errorf("ParsePolicy(%q) accepted it", s)
			}
		}
	})
}

func TestDecodeSlate(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     error
		score    float64
	}{
		{"number", `{"type":"slate","id":"r","items":[{"id":"a","score":1.5}]}`, nil, 1.5},
		{"python NaN", `{"type":"slate","id":"r","items":[{"id":"a","score":NaN}]}`, nil, math.NaN()},
		{"python -Infinity", `{"type":"slate","id":"r","items":[{"id":"a","score":-Infinity}]}`, nil, math.Inf(-1)},
		{"NaN inside a string stays", `{"type":"slate","id":"NaN","items":[{"id":"a","score":2,"explanation":"Infinity NaN"}]}`, nil, 2},
		{"garbage", `<html>oops</html>`, protocol.ErrMalformed, 0},
		{"no items", `{"type":"slate","id":"r"}`, protocol.ErrMalformed, 0},
		{"score string", `{"type":"slate","id":"r","items":[{"id":"a","score":"high"}]}`, protocol.ErrMalformed, 0},
		{"error answer", `{"type":"error","id":"r","error":"model not loaded"}`, protocol.ErrRemote, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := protocol.DecodeSlate([]byte(tc.in))
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err != nil {
				return
			}
			got := float64(resp.Items[0].Score)
			if got != tc.score && !(math.IsNaN(got) && math.IsNaN(tc.score)) {
				t.Errorf("score = %v, want %v", got, tc.score)
			}
			if tc.name == "NaN inside a string stays" && (resp.ID != "NaN" || resp.Items[0].Explanation != "Infinity NaN") {
				t.Errorf("strings changed: %+v", resp)
			}
		})
	}
}

// FuzzDecodeSlate checks that no answer panics the decoder, that Sanitize
// leaves valid JSON valid, and that it changes nothing without the tokens.
func FuzzDecodeSlate(f *testing.F) {
	f.Add([]byte(`{"type":"slate","id":"r","items":[{"id":"a","score":NaN}]}`))
	f.Add([]byte(`{"id":"\"NaN\\","items":[{"id":"a","score":-Infinity}]}`))
	f.Add([]byte(`[Infinity, "x\\\"Infinity"]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = protocol.DecodeSlate(data)
		clean := protocol.Sanitize(data)
		if json.Valid(data) && !json.Valid(clean) {
			t.Fatalf("Sanitize broke valid JSON: %q -> %q", data, clean)
		}
		if !bytes.Contains(data, []byte("NaN")) && !bytes.Contains(data, []byte("Infinity")) && !bytes.Equal(clean, data) {
			t.Fatalf("Sanitize changed %q", data)
		}
	})
}

// TestPythonExampleAnswersMatchSchemas plays a conversation with the
// subprocess example and validates every line it writes.
func TestPythonExampleAnswersMatchSchemas(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not on PATH")
	}
	ft := &fakeTransport{answer: func(*protocol.RecommendRequest) (*protocol.RecommendResponse, error) { return items("b", "d"), nil }}
	a := newAdapter(t, ft, nil)
	if _, err := a.Recommend(context.Background(), request); err != nil {
		t.Fatal(err)
	}
	if err := a.Observe(context.Background(), []recommenders.Feedback{{User: "u1", Round: 3, Item: "b", Rank: 1, Clicked: true}}); err != nil {
		t.Fatal(err)
	}
	health, _ := json.Marshal(protocol.HealthRequest{Type: protocol.TypeHealth, Protocol: protocol.Version, ID: "h1"})
	in := append(bytes.Join(append([][]byte{health}, ft.sent...), []byte("\n")), '\n')
	cmd := exec.Command("python3", "../../examples/python-recommender/recommender.py")
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"handshake", "health_response", "ack", "recommend_response", "ack"}
	sc := bufio.NewScanner(bytes.NewReader(out))
	n := 0
	for ; sc.Scan(); n++ {
		if n >= len(want) {
			t.Fatalf("extra line %q", sc.Text())
		}
		if err := prototest.Validate(want[n], sc.Bytes()); err != nil {
			t.Errorf("line %d: %v\n%s", n+1, err, sc.Text())
		}
		if want[n] == "recommend_response" {
			resp, err := protocol.DecodeSlate(sc.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Check(request, resp); err != nil {
				t.Errorf("the example's slate is invalid: %v", err)
			}
		}
	}
	if n != len(want) {
		t.Errorf("%d lines, want %d:\n%s", n, len(want), out)
	}
}

package protocol_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/recloop/recloop/recommenders"
	"github.com/recloop/recloop/recommenders/protocol"
	"github.com/recloop/recloop/recommenders/protocol/prototest"
)

// chatTransport is a fakeTransport that converses when chat is set,
// answering with reply (raw JSON, decoded as a real transport would).
type chatTransport struct {
	fakeTransport
	chat  bool
	reply func(*protocol.ChatRequest) string
	// chatErr fails chat calls only, so that the world's reset still works.
	chatErr error
}

func (c *chatTransport) Converses() bool { return c.chat }

func (c *chatTransport) Chat(_ context.Context, req *protocol.ChatRequest) (*protocol.ChatReply, error) {
	c.record(req)
	if c.err != nil {
		return nil, c.err
	}
	if c.chatErr != nil {
		return nil, c.chatErr
	}
	return protocol.DecodeReply([]byte(c.reply(req)))
}

var chatRequest = recommenders.ChatRequest{Conversation: "ext/u1/0", User: "u1", Round: 0, Turn: 1, K: 2,
	History: []recommenders.HistoryItem{{Item: "a", Round: -1}},
	Messages: []recommenders.ChatMessage{
		{Role: recommenders.SpeakerUser, Content: "sci-fi please"},
		{Role: recommenders.SpeakerRecommender, Content: "How about these?", Items: []recommenders.Scored{{Item: "b", Score: 1, Explanation: "sci-fi"}}},
		{Role: recommenders.SpeakerUser, Content: "something else"},
	}}

func TestChatMessagesMatchTheirSchemas(t *testing.T) {
	ct := &chatTransport{chat: true, reply: func(r *protocol.ChatRequest) string {
		return `{"type":"reply","id":"` + r.ID + `","message":"Try these.","items":[{"id":"c","score":2,"explanation":"a drama"},{"id":"d","score":1}]}`
	}}
	a := chatAdapter(t, ct, nil)
	reply, err := a.Respond(t.Context(), chatRequest)
	if err != nil {
		t.Fatal(err)
	}
	if reply.Message != "Try these." || len(reply.Items) != 2 || reply.Items[0].Item != "c" || reply.Items[0].Explanation != "a drama" {
		t.Fatalf("reply %+v", reply)
	}
	sent := ct.sent[len(ct.sent)-1]
	if err := prototest.Validate("chat_request", sent); err != nil {
		t.Fatalf("%v\n%s", err, sent)
	}
	var msg protocol.ChatRequest
	if err := json.Unmarshal(sent, &msg); err != nil {
		t.Fatal(err)
	}
	if msg.ID != "c0-u1-t1" || msg.Conversation != "ext/u1/0" || len(msg.Messages) != 3 || msg.Messages[1].Items[0].ID != "b" {
		t.Fatalf("message %+v", msg)
	}
	for _, good := range []string{
		`{"type":"reply","id":"x","message":"What genre?"}`,
		`{"type":"reply","id":"x","message":"","titles":["Alpha"]}`,
	} {
		if err := prototest.Validate("chat_reply", []byte(good)); err != nil {
			t.Errorf("%s: %v", good, err)
		}
	}
}

// chatAdapter is newAdapter over a transport that may converse.
func chatAdapter(t testing.TB, ct *chatTransport, raw map[string]any) *protocol.Adapter {
	t.Helper()
	env := recommenders.Env{Catalog: prototest.Catalog(t), Seed: 0xfeedface12345678, Variant: "ext"}
	a, err := protocol.NewAdapter(context.Background(), env, params(t, raw), ct)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestBadRepliesAreCountedByKind(t *testing.T) {
	for _, c := range []struct {
		name, body string
		err        error // the transport's, instead of body
		kinds      []string
		fails      bool
	}{
		{"not JSON", `{"type":"reply",`, nil, []string{"malformed"}, true},
		{"no message", `{"type":"reply","id":"ID","items":[]}`, nil, []string{"malformed"}, true},
		{"wrong type", `{"type":"slate","id":"ID","items":[]}`, nil, []string{"malformed"}, true},
		{"wrong id", `{"type":"reply","id":"other","message":"hi"}`, nil, []string{"malformed"}, true},
		{"remote error", `{"type":"error","id":"ID","error":"model not loaded"}`, nil, []string{"remote_error"}, true},
		{"too many", `{"type":"reply","id":"ID","message":"m","items":[{"id":"b","score":1},{"id":"c","score":1},{"id":"d","score":1}]}`, nil, []string{"too_many"}, true},
		{"duplicate", `{"type":"reply","id":"ID","message":"m","items":[{"id":"b","score":1},{"id":"b","score":1}]}`, nil, []string{"duplicate"}, true},
		{"NaN", `{"type":"reply","id":"ID","message":"m","items":[{"id":"b","score":NaN}]}`, nil, []string{"non_finite"}, true},
		{"unknown, passed on", `{"type":"reply","id":"ID","message":"m","items":[{"id":"zzz","score":1},{"id":"e","score":1}]}`, nil, []string{"unknown_id", "unreleased"}, false},
		{"empty id", `{"type":"reply","id":"ID","message":"m","items":[{"id":"","score":1}]}`, nil, []string{"malformed"}, true},
		{"empty title", `{"type":"reply","id":"ID","message":"m","titles":["Alpha",""]}`, nil, []string{"malformed"}, true},
		{"message null", `{"type":"reply","id":"ID","message":null}`, nil, []string{"malformed"}, true},
		{"score not a number", `{"type":"reply","id":"ID","message":"m","items":[{"id":"b","score":"high"}]}`, nil, []string{"malformed"}, true},
		{"NaN and a duplicate", `{"type":"reply","id":"ID","message":"m","items":[{"id":"b","score":NaN},{"id":"b","score":Infinity}]}`, nil, []string{"duplicate", "non_finite"}, true},
		{"oversized", "", fmt.Errorf("transport: %w (1048576 bytes)", protocol.ErrOversized), []string{"oversized"}, true},
		{"timeout", "", fmt.Errorf("transport: %w", context.DeadlineExceeded), []string{"timeout"}, true},
		{"crash", "", fmt.Errorf("%w: exit status 1", protocol.ErrCrashed), []string{"crash"}, true},
		{"titles only", `{"type":"reply","id":"ID","message":"Try Alpha.","titles":["Alpha"]}`, nil, nil, false},
		{"a question", `{"type":"reply","id":"ID","message":"What genre are you in the mood for?"}`, nil, nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ct := &chatTransport{chat: true, chatErr: c.err, reply: func(r *protocol.ChatRequest) string { return strings.ReplaceAll(c.body, `"ID"`, `"`+r.ID+`"`) }}
			a := chatAdapter(t, ct, nil)
			reply, err := a.Respond(t.Context(), chatRequest)
			if (err != nil) != c.fails {
				t.Fatalf("err = %v, reply %+v", err, reply)
			}
			got := a.Violations()
			if len(got) != len(c.kinds) {
				t.Fatalf("violations %v, want %v", got, c.kinds)
			}
			for _, k := range c.kinds {
				if got[k] != 1 {
					t.Errorf("violations %v, want one %s", got, k)
				}
			}
		})
	}
}

// Violations add up over a world's turns, each kind once per reply, as
// for slates; a good reply adds nothing. With on_error: fail the first bad
// reply fails the world, and later turns fail without a call.
func TestChatViolationsAddUpAndFailTheWorld(t *testing.T) {
	bodies := []string{
		`{"type":"reply","id":"ID","message":"m","items":[{"id":"b","score":NaN},{"id":"c","score":NaN}]}`,
		`{"type":"reply","id":"ID","message":"m","items":[{"id":"b","score":1}]}`,
		`{"type":"reply","id":"ID","message":"m","items":[{"id":"b","score":1},{"id":"c","score":Infinity},{"id":"d","score":1}]}`,
		`{"type":"reply","id":"wrong","message":"m"}`,
	}
	n := 0
	ct := &chatTransport{chat: true, reply: func(r *protocol.ChatRequest) string {
		n++
		return strings.ReplaceAll(bodies[n-1], `"ID"`, `"`+r.ID+`"`)
	}}
	a := chatAdapter(t, ct, nil)
	for range bodies {
		_, _ = a.Respond(t.Context(), chatRequest)
	}
	want := map[string]int64{"non_finite": 2, "too_many": 1, "malformed": 1}
	if got := a.Violations(); len(got) != len(want) || got["non_finite"] != 2 || got["too_many"] != 1 || got["malformed"] != 1 {
		t.Fatalf("violations %v, want %v", got, want)
	}

	n = 0
	failing := &chatTransport{chat: true, reply: ct.reply}
	f := chatAdapter(t, failing, map[string]any{"on_error": "fail"})
	if _, err := f.Respond(t.Context(), chatRequest); !errors.Is(err, protocol.ErrFailed) || !errors.Is(err, protocol.ErrInvalid) {
		t.Fatalf("first bad reply: err = %v", err)
	}
	if _, err := f.Respond(t.Context(), chatRequest); !errors.Is(err, protocol.ErrFailed) || n != 1 {
		t.Fatalf("after the failure: err = %v, %d calls", err, n)
	}
}

func TestARecommenderWithoutTheChatCapabilityIsRefused(t *testing.T) {
	ct := &chatTransport{chat: false}
	a := chatAdapter(t, ct, nil)
	if recommenders.Converses(a) {
		t.Fatal("an adapter whose recommender did not declare chat converses")
	}
	if _, err := a.Respond(t.Context(), chatRequest); !errors.Is(err, recommenders.ErrNotConversational) {
		t.Fatalf("err = %v", err)
	}
	ft := &fakeTransport{}
	if recommenders.Converses(newAdapter(t, ft, nil)) {
		t.Fatal("a transport that cannot carry chat converses")
	}
}

func TestChatFallsBackToAConversationalBuiltin(t *testing.T) {
	ct := &chatTransport{chat: true, reply: func(*protocol.ChatRequest) string { return `{"type":"reply",` }}
	a := chatAdapter(t, ct, map[string]any{"on_error": "fallback:chatpopular"})
	reply, err := a.Respond(t.Context(), chatRequest)
	if err != nil || len(reply.Items) == 0 || a.Fallbacks() != 1 {
		t.Fatalf("reply %+v, err %v, fallbacks %d", reply, err, a.Fallbacks())
	}
}

func FuzzChatReply(f *testing.F) {
	for _, s := range []string{
		`{"type":"reply","id":"c0-u-t0","message":"hi","items":[{"id":"a","score":1,"explanation":"x"}]}`,
		`{"type":"reply","id":"c0-u-t0","message":"hi","titles":["Alpha"]}`,
		`{"type":"reply","id":"c0-u-t0","message":null}`,
		`{"type":"error","error":"no"}`,
		`{"type":"reply","id":"c0-u-t0","message":"m","items":[{"id":"a","score":NaN},{"id":"a","score":-Infinity}]}`,
		`[1,2]`, ``, `{"type":"reply","message":"\u0000"}`,
		`{"type":"reply","id":"c0-u-t0","message":"m","items":[{"id":"","score":1}],"titles":[""]}`,
		`{"type":"reply","id":"c0-u-t0","message":"m","items":[{"id":"b","score":1e999}]}`,
		`{"type":"reply","id":"c0-u-t0","message":"m","items":[{"id":"b","score":1},{"id":"c","score":2},{"id":"d","score":3}]}`,
		`{"type":"reply","id":"c0-u-t0","message":"m","items":null,"titles":null,"extra":{"nested":[1,{"a":NaN}]}}`,
	} {
		f.Add([]byte(s))
	}
	a := chatAdapter(f, &chatTransport{chat: true}, nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		reply, err := protocol.DecodeReply(data)
		if err != nil {
			if !errors.Is(err, protocol.ErrMalformed) && !errors.Is(err, protocol.ErrRemote) {
				t.Fatalf("DecodeReply error %v wraps neither ErrMalformed nor ErrRemote", err)
			}
			return
		}
		if reply.Message == nil {
			t.Fatal("a decoded reply without a message")
		}
		checked, err := a.CheckReply(chatRequest, reply.ID, reply)
		if err != nil {
			return
		}
		if len(checked.Items) > chatRequest.K {
			t.Fatalf("a reply of %d items passed a check for %d", len(checked.Items), chatRequest.K)
		}
		seen := map[string]bool{}
		for _, it := range checked.Items {
			if math.IsNaN(it.Score) || math.IsInf(it.Score, 0) {
				t.Fatalf("a non-finite score passed: %+v", it)
			}
			if it.Item == "" || seen[it.Item] {
				t.Fatalf("an empty or repeated id passed: %+v", checked.Items)
			}
			seen[it.Item] = true
		}
		for _, title := range checked.Titles {
			if title == "" {
				t.Fatalf("an empty title passed: %q", checked.Titles)
			}
		}
		if checked.Message != *reply.Message {
			t.Fatalf("message %q became %q", *reply.Message, checked.Message)
		}
	})
}

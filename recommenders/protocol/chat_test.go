package protocol_test

import (
	"context"
	"encoding/json"
	"errors"
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
}

func (c *chatTransport) Converses() bool { return c.chat }

func (c *chatTransport) Chat(_ context.Context, req *protocol.ChatRequest) (*protocol.ChatReply, error) {
	c.record(req)
	if c.err != nil {
		return nil, c.err
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
		kinds      []string
		fails      bool
	}{
		{"not JSON", `{"type":"reply",`, []string{"malformed"}, true},
		{"no message", `{"type":"reply","id":"ID","items":[]}`, []string{"malformed"}, true},
		{"wrong type", `{"type":"slate","id":"ID","items":[]}`, []string{"malformed"}, true},
		{"wrong id", `{"type":"reply","id":"other","message":"hi"}`, []string{"malformed"}, true},
		{"remote error", `{"type":"error","id":"ID","error":"model not loaded"}`, []string{"remote_error"}, true},
		{"too many", `{"type":"reply","id":"ID","message":"m","items":[{"id":"b","score":1},{"id":"c","score":1},{"id":"d","score":1}]}`, []string{"too_many"}, true},
		{"duplicate", `{"type":"reply","id":"ID","message":"m","items":[{"id":"b","score":1},{"id":"b","score":1}]}`, []string{"duplicate"}, true},
		{"NaN", `{"type":"reply","id":"ID","message":"m","items":[{"id":"b","score":NaN}]}`, []string{"non_finite"}, true},
		{"unknown, passed on", `{"type":"reply","id":"ID","message":"m","items":[{"id":"zzz","score":1},{"id":"e","score":1}]}`, []string{"unknown_id", "unreleased"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ct := &chatTransport{chat: true, reply: func(r *protocol.ChatRequest) string { return strings.ReplaceAll(c.body, `"ID"`, `"`+r.ID+`"`) }}
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
		for _, it := range checked.Items {
			if math.IsNaN(it.Score) || math.IsInf(it.Score, 0) {
				t.Fatalf("a non-finite score passed: %+v", it)
			}
		}
	})
}

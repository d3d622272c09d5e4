package recommenders

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/recloop/recloop/llm"
	"github.com/recloop/recloop/llm/llmtest"
)

// newTestLLMChat builds llmchat on llmrankCatalog: a (sci-fi, space, 1979,
// popularity 60), b (sci-fi, time-travel, 1985, 50), c (drama, space, no
// year, 40), d (drama, wedding, 2001, 30), e (comedy, released in round 2,
// 20), f (comedy, time-travel, 0).
func newTestLLMChat(t *testing.T, params map[string]any) (*llmtest.Server, *LLMChat) {
	t.Helper()
	srv, env := llmrankEnv(t, llm.Config{})
	return srv, build(t, LLMChatName, env, params).(*LLMChat)
}

func userSays(texts ...string) []ChatMessage {
	out := make([]ChatMessage, len(texts))
	for i, s := range texts {
		out[i] = ChatMessage{Role: SpeakerUser, Content: s}
	}
	return out
}

// promptCandidates are the candidate ids of the last request, in order.
func promptCandidates(t *testing.T, srv *llmtest.Server) []string {
	t.Helper()
	reqs := srv.Requests()
	if len(reqs) == 0 {
		t.Fatal("no request")
	}
	msgs := reqs[len(reqs)-1].Messages
	var ids []string
	for _, line := range strings.Split(msgs[len(msgs)-1].Content, "\n") {
		if id, ok := strings.CutPrefix(line, "- id: "); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

func chatReply(message string, ids ...string) func(llmtest.ChatRequest) any {
	return func(llmtest.ChatRequest) any {
		items := make([]map[string]string, len(ids))
		for i, id := range ids {
			items[i] = map[string]string{"id": id, "explanation": "why " + id}
		}
		return map[string]any{"message": message, "items": items}
	}
}

func TestLLMChatRetrievalFollowsTheText(t *testing.T) {
	srv, r := newTestLLMChat(t, nil)
	srv.Answer(chatReply("Here you go."))
	for _, c := range []struct {
		msgs []ChatMessage
		want []string
	}{
		// b matches genre and decade; a and c have the excluded tag; e is
		// not released yet.
		{userSays("A sci-fi from the 1980s, no space."), []string{"b", "d", "f"}},
		{userSays("Anything from 1990"), []string{"d", "a", "b", "c", "f"}},
		{userSays("Before 2000 please", "and not drama"), []string{"a", "b", "f"}},
		// b was proposed already.
		{[]ChatMessage{{Role: SpeakerUser, Content: "sci-fi"}, {Role: SpeakerRecommender, Content: "This?", Items: []Scored{{Item: "b"}}},
			{Role: SpeakerUser, Content: "No."}}, []string{"a", "c", "d", "f"}},
	} {
		if _, err := r.Respond(t.Context(), ChatRequest{Conversation: "c", User: "u", K: 2, Messages: c.msgs}); err != nil {
			t.Fatal(err)
		}
		if got := promptCandidates(t, srv); !slices.Equal(got, c.want) {
			t.Errorf("%v: candidates %v, want %v", c.msgs, got, c.want)
		}
	}
	if _, err := r.Respond(t.Context(), ChatRequest{Round: 2, K: 2, Messages: userSays("a comedy"),
		History: hist("f")}); err != nil {
		t.Fatal(err)
	}
	if got := promptCandidates(t, srv); got[0] != "e" || slices.Contains(got, "f") {
		t.Errorf("round 2 candidates %v: want e, released, first and f, consumed, left out", got)
	}
}

func TestLLMChatDropsInventedIDs(t *testing.T) {
	srv, r := newTestLLMChat(t, map[string]any{"candidates": 3})
	srv.Answer(chatReply("Try these.", "zzz", "b", "e", "b", "a", "c"))
	reply, err := r.Respond(t.Context(), ChatRequest{K: 2, Messages: userSays("sci-fi please")})
	if err != nil {
		t.Fatal(err)
	}
	want := []Scored{{Item: "b", Score: 2, Explanation: "why b"}, {Item: "a", Score: 1, Explanation: "why a"}}
	if reply.Message != "Try these." || !reflect.DeepEqual(reply.Items, want) {
		t.Errorf("reply %+v, want the valid picks %v", reply, want)
	}
	// zzz is unknown and e unreleased; c is a candidate past k.
	if rejected, proposed := r.Hallucinations(); rejected != 2 || proposed != 5 {
		t.Errorf("hallucinations %d of %d, want 2 of 5", rejected, proposed)
	}
}

func TestLLMChatObserveBreaksTies(t *testing.T) {
	srv, r := newTestLLMChat(t, nil)
	srv.Answer(chatReply("Dramas."))
	req := ChatRequest{K: 2, Messages: userSays("a drama")}
	if _, err := r.Respond(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if got := promptCandidates(t, srv); !slices.Equal(got[:2], []string{"c", "d"}) {
		t.Fatalf("candidates %v, want c, d first (by popularity)", got)
	}
	observe(t, r, clicked("u", 0, "d")...)
	observe(t, r, clicked("v", 0, "d")...)
	if _, err := r.Respond(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if got := promptCandidates(t, srv); !slices.Equal(got[:2], []string{"d", "c"}) {
		t.Errorf("candidates %v, want d, accepted twice, before c", got)
	}
	if err := r.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Respond(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if got := promptCandidates(t, srv); !slices.Equal(got[:2], []string{"c", "d"}) {
		t.Errorf("after Reset: candidates %v, want c, d", got)
	}
}

func TestLLMChatRequestsAreDeterministic(t *testing.T) {
	srv, r := newTestLLMChat(t, nil)
	srv.Answer(chatReply("What are you in the mood for?"))
	req := ChatRequest{Conversation: "c", User: "u", K: 3, Messages: userSays("Hello there.")}
	for range 2 {
		reply, err := r.Respond(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		if len(reply.Items) != 0 || reply.Message != "What are you in the mood for?" {
			t.Errorf("reply %+v, want the question", reply)
		}
	}
	reqs := srv.Requests()
	if len(reqs) != 2 || !reflect.DeepEqual(reqs[0].Messages, reqs[1].Messages) {
		t.Fatal("the same conversation gave different requests")
	}
	if !strings.Contains(reqs[0].Messages[1].Content, "has not said anything the search could use") {
		t.Errorf("the prompt does not say the user gave nothing to search on:\n%s", reqs[0].Messages[1].Content)
	}
}

func TestLLMChatMalformedFallsBackAndFatalErrorsPropagate(t *testing.T) {
	srv, r := newTestLLMChat(t, map[string]any{"max_items": 1})
	srv.Handle(func(llmtest.ChatRequest) llmtest.Reply { return llmtest.Reply{Content: "no JSON here"} })
	reply, err := r.Respond(t.Context(), ChatRequest{K: 3, Messages: userSays("drama")})
	if err != nil {
		t.Fatal(err)
	}
	if len(reply.Items) != 1 || reply.Items[0].Item != "c" || r.Fallbacks() != 1 {
		t.Errorf("reply %+v with %d fallbacks, want the best candidate c once", reply, r.Fallbacks())
	}
	srv.Handle(func(llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Error(401, "invalid_api_key", "Incorrect API key provided")
	})
	if _, err := r.Respond(t.Context(), ChatRequest{K: 3, Messages: userSays("comedy")}); !errors.Is(err, llm.ErrAuth) {
		t.Errorf("err = %v, want llm.ErrAuth", err)
	}
}

func TestLLMChatSlatesUseNoModel(t *testing.T) {
	srv, r := newTestLLMChat(t, nil)
	s := recommend(t, r, Request{User: "u", K: 3, History: hist("a")})
	// b shares sci-fi with a and c shares space; b is more popular.
	if got := ids(s); !slices.Equal(got, []string{"b", "c", "d"}) {
		t.Errorf("slate %v, want [b c d]", got)
	}
	if srv.Count() != 0 {
		t.Errorf("%d model calls for a slate, want none", srv.Count())
	}
	_, env := llmrankEnv(t, llm.Config{})
	env.LLM = nil
	if _, err := New(t.Context(), LLMChatName, env, llmchatSpec.Defaults()); !errors.Is(err, ErrLLMChatNoLLM) {
		t.Errorf("without an llm: %v", err)
	}
}

// TestLLMChatDocs keeps docs/llmchat.md's parameter table and the listing
// of both prompts (the user's and the recommender's) equal to the code.
func TestLLMChatDocs(t *testing.T) {
	const (
		path  = "../docs/llmchat.md"
		begin = "<!-- BEGIN GENERATED: go test ./recommenders -run TestLLMChatDocs -update -->\n"
		end   = "<!-- END GENERATED -->\n"
	)
	user, err := os.ReadFile("../personas/prompts/chatuser-v1.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := llmchatPromptFS.ReadFile("prompts/llmchat-v1.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	gen := "### Parameters of `llmchat`\n\n#" + specOf(t, LLMChatName).Markdown() +
		"\n### The user's prompt (`chatuser-v1`)\n\n```gotemplate\n" + string(user) + "```\n" +
		"\n### The recommender's prompt (`llmchat-v1`)\n\n```gotemplate\n" + string(rec) + "```\n"
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
		t.Fatalf("%s is out of date; run go test ./recommenders -run TestLLMChatDocs -update", path)
	}
	out := append(append(append([]byte{}, doc[:b+len(begin)]...), gen...), doc[e:]...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

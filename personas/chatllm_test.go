package personas

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/recloop/recloop/llm"
	"github.com/recloop/recloop/llm/llmtest"
	"github.com/recloop/recloop/trajectory"
)

// chatUserWorld starts a fake endpoint and an LLM chat user talking to it,
// with Ana (llmPersonaFixture) needing a drama (volunteered), from 1990 to
// 2005 (on ask), and no comedy (hidden).
func chatUserWorld(t *testing.T, opts LLMChatUserOptions) (*llmtest.Server, *LLMChatUser, *State, *Dialogue) {
	t.Helper()
	t.Setenv("OPENAI_API_KEY", "k")
	srv := llmtest.New(t)
	seed := 5
	client, err := llm.New(llm.Config{BaseURL: srv.URL(), Model: "m", Seed: &seed, Cache: llm.CacheConfig{Mode: llm.CacheOff}})
	if err != nil {
		t.Fatal(err)
	}
	cat := llmCatalog(t)
	u, err := NewLLMChatUser(BehaviourEnv{Catalog: cat, LLM: client, Dir: t.TempDir()}, opts)
	if err != nil {
		t.Fatal(err)
	}
	st := llmState(t, cat)
	lo, hi := 1990.0, 2005.0
	need := Need{Patience: 3, Style: StyleChatty, Constraints: []Constraint{
		{Category: "drama", Reveal: RevealVolunteer},
		{Attribute: "year", Min: &lo, Max: &hi, Reveal: RevealOnAsk},
		{Category: "comedy", Exclude: true, Reveal: RevealHidden},
	}}.WithDefaults()
	st.Need = &need
	d := &Dialogue{ID: "c1", Need: st.Need, Revealed: make([]bool, 3), Catalog: cat}
	return srv, u, st, d
}

// proposes appends a recommender turn proposing ids.
func proposes(t *testing.T, d *Dialogue, text string, ids ...string) {
	t.Helper()
	turn := DialogueTurn{Text: text}
	for _, id := range ids {
		i, ok := d.Catalog.Index(id)
		if !ok {
			t.Fatalf("no item %q", id)
		}
		turn.Items = append(turn.Items, i)
		turn.Explanations = append(turn.Explanations, "a fine pick, "+id)
	}
	d.Turns = append(d.Turns, turn)
}

func chatAnswerOf(utterance, act, item string, satisfaction float64) func(llmtest.ChatRequest) any {
	return func(llmtest.ChatRequest) any {
		return map[string]any{"utterance": utterance, "act": act, "accepted_item": item, "satisfaction": satisfaction, "reason": "because"}
	}
}

func TestChatUserTurns(t *testing.T) {
	srv, u, st, d := chatUserWorld(t, LLMChatUserOptions{})
	ctx := context.Background()

	// The opening is an inform whatever the model says, and reveals what
	// it names; satisfaction is clamped.
	srv.Answer(chatAnswerOf("Hi! I want a DRAMA, anything from the nineties on.", trajectory.ActAccept, "", 1.4))
	got, err := u.Say(ctx, st, d)
	if err != nil {
		t.Fatal(err)
	}
	if got.Act != trajectory.ActInform || got.Accepted != -1 || got.Satisfaction != 1 || got.Reason != "because" {
		t.Errorf("opening = %+v", got)
	}
	if !slices.Equal(got.Reveals, []int{0}) {
		t.Errorf("reveals = %v, want [0]", got.Reveals)
	}
	d.Turns = append(d.Turns, DialogueTurn{User: true, Text: got.Text, Act: got.Act})

	// Accepting a proposed item takes it; naming the year reveals the
	// on-ask constraint, naming comedy (hidden) is counted apart.
	proposes(t, d, "How about these?", "m1", "m2")
	srv.Answer(chatAnswerOf("The Long Field, from 1998? Yes, and no comedy is right.", trajectory.ActAccept, "m1", 0.9))
	got, err = u.Say(ctx, st, d)
	if err != nil {
		t.Fatal(err)
	}
	m1, _ := u.cat.Index("m1")
	if got.Act != trajectory.ActAccept || got.Accepted != m1 || got.Hallucinations != 0 {
		t.Errorf("accept = %+v", got)
	}
	if len(got.Reveals) != 0 {
		t.Errorf("reveals = %v, want none (year is not named; comedy is hidden)", got.Reveals)
	}
	if u.HiddenMentions() != 1 {
		t.Errorf("hidden mentions = %d, want 1", u.HiddenMentions())
	}
	if u.Model() != "m" {
		t.Errorf("model = %q, want the client's", u.Model())
	}
	if reqs := srv.Requests(); reqs[len(reqs)-1].MaxCompletionTokens != DefaultChatUserMaxTokens {
		t.Errorf("max_completion_tokens = %d", reqs[len(reqs)-1].MaxCompletionTokens)
	}
}

func TestChatUserOutOfPatienceQuits(t *testing.T) {
	srv, u, st, d := chatUserWorld(t, LLMChatUserOptions{})
	d.Turns = append(d.Turns, DialogueTurn{User: true, Text: "A drama.", Act: trajectory.ActInform})
	for range st.Need.Patience {
		proposes(t, d, "This?", "m3")
		d.Turns = append(d.Turns, DialogueTurn{User: true, Text: "No.", Act: trajectory.ActReject})
	}
	srv.Answer(chatAnswerOf("Not that either.", trajectory.ActReject, "", 0.1))
	got, err := u.Say(context.Background(), st, d)
	if err != nil {
		t.Fatal(err)
	}
	if got.Act != trajectory.ActQuit {
		t.Errorf("act = %q, want quit once patience is spent", got.Act)
	}
	if p := srv.Requests()[0].Messages[1].Content; !strings.Contains(p, "Your patience has run out") {
		t.Errorf("prompt does not say patience ran out:\n%s", p)
	}
}

func TestChatUserHallucinatedAcceptIsRejected(t *testing.T) {
	srv, u, st, d := chatUserWorld(t, LLMChatUserOptions{})
	d.Turns = append(d.Turns, DialogueTurn{User: true, Text: "A drama.", Act: trajectory.ActInform})
	proposes(t, d, "This one?", "m2")
	for _, c := range []struct {
		item           string
		hallucinations int
	}{
		{"m3", 1},   // in the catalog, never proposed
		{"nope", 1}, // not in the catalog
		{"", 0},     // accepting nothing in particular
		{" m2 ", 0}, // proposed, with stray spaces: accepted
	} {
		srv.Answer(chatAnswerOf("I'll take it.", trajectory.ActAccept, c.item, 0.5))
		got, err := u.Say(context.Background(), st, d)
		if err != nil {
			t.Fatal(err)
		}
		if got.Hallucinations != c.hallucinations {
			t.Errorf("%q: hallucinations = %d, want %d", c.item, got.Hallucinations, c.hallucinations)
		}
		wantAct, wantItem := trajectory.ActReject, -1
		if c.item == " m2 " {
			wantAct, wantItem = trajectory.ActAccept, 1
		}
		if got.Act != wantAct || got.Accepted != wantItem {
			t.Errorf("%q: act %q accepted %d, want %q %d", c.item, got.Act, got.Accepted, wantAct, wantItem)
		}
	}
}

func TestChatUserRepairsMalformedAnswers(t *testing.T) {
	srv, u, st, d := chatUserWorld(t, LLMChatUserOptions{})
	valid := `{"utterance":"A drama, please.","act":"inform","accepted_item":"","satisfaction":1,"reason":"start"}`
	srv.Handle(func(r llmtest.ChatRequest) llmtest.Reply {
		if len(r.Messages) == 2 {
			return llmtest.Reply{Content: `{"utterance":"A drama, please.","act":"shrug"}`}
		}
		return llmtest.Reply{Content: valid}
	})
	got, err := u.Say(context.Background(), st, d)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != "A drama, please." || srv.Count() != 2 {
		t.Errorf("got %+v after %d requests, want the repaired answer after 2", got, srv.Count())
	}

	srv.Handle(func(llmtest.ChatRequest) llmtest.Reply { return llmtest.Reply{Content: "I want a drama."} })
	if _, err := u.Say(context.Background(), st, d); !errors.Is(err, llm.ErrMalformed) {
		t.Errorf("still malformed after repair: err = %v, want llm.ErrMalformed", err)
	}
}

// TestChatUserPromptNamesOnlyProposedTitles is the leakage guard: the
// persona's evidence, a title in its description and titles the
// recommender mentioned without proposing them stay out of the prompt.
func TestChatUserPromptNamesOnlyProposedTitles(t *testing.T) {
	_, u, st, d := chatUserWorld(t, LLMChatUserOptions{})
	p := *st.Persona
	p.Description = "Ana still talks about The Long Field (1998) and hates Office Chaos."
	st.Persona = &p
	d.Turns = append(d.Turns, DialogueTurn{User: true, Text: "Something like the long field?", Act: trajectory.ActInform})
	proposes(t, d, "Unlike Office Chaos, this one is calm.", "m2")
	d.Turns[1].Explanations[0] = "Fans of The Long Field liked it."
	req, err := u.request(st, d)
	if err != nil {
		t.Fatal(err)
	}
	var prompt strings.Builder
	for _, m := range req.Messages {
		prompt.WriteString(strings.ToLower(m.Content))
	}
	proposed := map[string]bool{"m2": true}
	for i := range u.cat.Len() {
		it := u.cat.Item(i)
		if it.Title == "" {
			continue
		}
		in := strings.Contains(prompt.String(), strings.ToLower(it.Title))
		if in != proposed[it.ID] {
			t.Errorf("title %q in prompt = %v, want %v", it.Title, in, proposed[it.ID])
		}
	}
	for _, want := range []string{"drama", "year from 1990 to 2005", "not comedy", "never say", "topic: year", "chatty"} {
		if !strings.Contains(prompt.String(), want) {
			t.Errorf("prompt lacks %q", want)
		}
	}
	// m2 is a documentary, but the persona's own words never say so.
	if strings.Contains(req.Messages[0].Content, "documentary") {
		t.Error("the system prompt names a latent interest")
	}
}

func TestChatUserRequestsAreDeterministic(t *testing.T) {
	srv, u, st, d := chatUserWorld(t, LLMChatUserOptions{})
	d.Turns = append(d.Turns, DialogueTurn{User: true, Text: "A drama.", Act: trajectory.ActInform})
	proposes(t, d, "These?", "m1", "m3")
	srv.Answer(chatAnswerOf("No.", trajectory.ActReject, "", 0.3))
	for range 2 {
		if _, err := u.Say(context.Background(), st, d); err != nil {
			t.Fatal(err)
		}
	}
	d.Round = 1
	if _, err := u.Say(context.Background(), st, d); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	if !reflect.DeepEqual(reqs[0].Messages, reqs[1].Messages) || *reqs[0].Seed != *reqs[1].Seed {
		t.Error("the same dialogue gave different requests")
	}
	if *reqs[2].Seed == *reqs[0].Seed {
		t.Error("another round's dialogue replays the same draw")
	}
	req, err := u.request(st, d)
	if err != nil {
		t.Fatal(err)
	}
	if req.Role != RoleChatUser || req.Subject != "ana" {
		t.Errorf("role %q subject %q", req.Role, req.Subject)
	}
}

func TestChatUserModelOverride(t *testing.T) {
	srv, u, st, d := chatUserWorld(t, LLMChatUserOptions{Model: "user-m", MaxTokens: 50})
	if u.Model() != "user-m" {
		t.Errorf("model = %q", u.Model())
	}
	if _, err := u.Say(context.Background(), st, d); err != nil {
		t.Fatal(err)
	}
	if r := srv.Requests()[0]; r.Model != "user-m" || r.MaxCompletionTokens != 50 {
		t.Errorf("request model %q max_completion_tokens %d", r.Model, r.MaxCompletionTokens)
	}
	if _, err := NewLLMChatUser(BehaviourEnv{Catalog: u.cat}, LLMChatUserOptions{}); !errors.Is(err, ErrNoLLM) {
		t.Errorf("without a client: %v", err)
	}
}

package personas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/llm"
	"github.com/recloop/recloop/trajectory"
)

// fakeLLM answers with a function of the request and keeps every request.
type fakeLLM struct {
	mu     sync.Mutex
	reqs   []llm.Request
	answer func(req llm.Request) (string, error)
}

func (f *fakeLLM) Complete(_ context.Context, req llm.Request) (llm.Response, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	content, err := f.answer(req)
	if err != nil {
		return llm.Response{}, err
	}
	return llm.Response{Content: content, Model: "fake"}, nil
}

// answers returns a fake that gives content to every slate request and a
// fixed summary to reflection requests.
func answers(content string) *fakeLLM {
	return &fakeLLM{answer: func(req llm.Request) (string, error) {
		switch req.Schema.Name {
		case reflectSchema.Name:
			return `{"summary":"I keep enjoying slow dramas."}`, nil
		case interviewSchema.Name:
			return `{"satisfaction":7,"review":"Decent."}`, nil
		}
		return content, nil
	}}
}

// llmCatalog has titles, descriptions and attributes, as a real catalog
// would. Features: categories comedy(0) documentary(1) drama(2), tags
// nature(3) slow-burn(4).
func llmCatalog(tb testing.TB) *catalog.Catalog {
	tb.Helper()
	cat, err := catalog.New([]catalog.Item{
		{ID: "m1", Title: "The Long Field", Categories: []string{"drama"}, Tags: []string{"slow-burn"},
			Attributes:  map[string]any{"year": 1998.0, "runtime": 131.0, "language": "fr"},
			Description: "A farmer and   his estranged daughter\nspend one last harvest together.", Popularity: 3},
		{ID: "m2", Title: "Blue Planet Diaries", Categories: []string{"documentary"}, Tags: []string{"nature"},
			Attributes: map[string]any{"year": 2011.0}, Description: strings.Repeat("Whales sing. ", 30), Popularity: 2},
		{ID: "m3", Title: "Office Chaos", Categories: []string{"comedy"}, Popularity: 5},
		{ID: "m4", Categories: []string{"drama", "comedy"}, Popularity: 1},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return cat
}

func llmPersonaFixture() Persona {
	return Persona{
		ID:          "ana",
		Name:        "Ana",
		Description: "Ana is 34, a nurse on night shifts who unwinds with quiet films.",
		Interests:   catalog.Taste{Categories: map[string]float64{"drama": 0.9, "comedy": 0.4}, Tags: map[string]float64{"slow-burn": 0.7, "nature": 0.2}},
		// The prompt must never mention documentary: the persona does not know.
		LatentInterests: catalog.Taste{Categories: map[string]float64{"documentary": 1}},
		Traits:          Traits{Activity: 0.8, Conformity: 0.2, Curiosity: 0.5, Pickiness: 0.9, Mainstreamness: 0.2},
		// m4 has no title: the prompt names it by id.
		Evidence: Evidence{Liked: []string{"m1", "m4"}, Disliked: []string{"m3"}},
	}
}

func newLLMForTest(tb testing.TB, cat *catalog.Catalog, client llm.Client, params config.Params) Behaviour {
	tb.Helper()
	b, err := NewBehaviour(LLMName, BehaviourEnv{Catalog: cat, LLM: client, Dir: tb.TempDir()}, params)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func llmState(tb testing.TB, cat *catalog.Catalog) *State {
	tb.Helper()
	return mustBuild(tb, []Persona{llmPersonaFixture()}, cat, 7)[0]
}

func shownSlate(ids ...string) []trajectory.Shown {
	out := make([]trajectory.Shown, len(ids))
	for k, id := range ids {
		out[k] = trajectory.Shown{Item: id, Score: float64(len(ids) - k), Explanation: "because you liked " + id}
	}
	return out
}

// TestLLMPromptGolden pins every prompt for a fixed persona, memory and
// slate. go test ./personas -run TestLLMPromptGolden -update rewrites it.
func TestLLMPromptGolden(t *testing.T) {
	cat := llmCatalog(t)
	fake := answers(`{"items":[],"exit":false,"feedback":""}`)
	b := newLLMForTest(t, cat, fake, config.Params{"reflect_every": 2})
	st := llmState(t, cat)
	st.SlatesViewed = 2
	st.Memory = []Recollection{
		{Visit: 1, Item: 0, Rating: 5, Reason: "Quiet and true."},
		{Visit: 2, Item: 2, Rating: 2, Reason: "Too loud."},
	}
	st.Reflection = "I like slow, quiet stories."
	if _, err := b.Decide(context.Background(), st, 2, shownSlate("m2", "m1", "m4", "m3")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.(Interviewer).Interview(context.Background(), st, "treatment"); err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for _, req := range fake.reqs {
		fmt.Fprintf(&got, "=== %s\n", req.Schema.Name)
		for _, msg := range req.Messages {
			fmt.Fprintf(&got, "--- %s\n%s\n", msg.Role, msg.Content)
		}
	}
	checkGolden(t, "testdata/llm-prompts.golden", got.String())
	if strings.Contains(got.String(), "treatment") {
		t.Error("the interview prompt names the variant")
	}
	// documentary appears only as the category of the item shown (m2), never
	// among the persona's interests.
	if sys := fake.reqs[1].Messages[0].Content; strings.Contains(sys, "documentary") {
		t.Errorf("the system prompt leaks a latent interest:\n%s", sys)
	}
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s is out of date (go test ./personas -run %s -update)\ngot:\n%s", path, t.Name(), got)
	}
}

func TestLLMRequestConformsToSchema(t *testing.T) {
	cat := llmCatalog(t)
	fake := answers(`{"items":[],"exit":false,"feedback":""}`)
	b := newLLMForTest(t, cat, fake, config.Params{"max_tokens": 321})
	st := llmState(t, cat)
	if _, err := b.Decide(context.Background(), st, 0, shownSlate("m1", "m2")); err != nil {
		t.Fatal(err)
	}
	if len(fake.reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(fake.reqs))
	}
	req := fake.reqs[0]
	if req.Role != llm.RolePersona || req.Subject != "ana" || req.Replicate != 0 || req.MaxTokens != 321 {
		t.Errorf("request header = %+v", req)
	}
	if len(req.Messages) != 2 || req.Messages[0].Role != "system" || req.Messages[1].Role != "user" {
		t.Fatalf("messages = %+v", req.Messages)
	}
	for _, schema := range []*llm.Schema{actionSchema, reflectSchema, interviewSchema} {
		var doc map[string]any
		if err := json.Unmarshal(schema.JSON, &doc); err != nil {
			t.Fatalf("%s: %v", schema.Name, err)
		}
		checkStrict(t, schema.Name, doc)
	}
	for _, tc := range []struct {
		schema *llm.Schema
		doc    string
		valid  bool
	}{
		{actionSchema, `{"items":[{"item_id":"m1","action":"click","rating":5,"reason":"r"}],"exit":false,"feedback":""}`, true},
		{actionSchema, `{"items":[{"item_id":"m1","action":"watch","rating":5,"reason":"r"}],"exit":false,"feedback":""}`, false},
		{actionSchema, `{"items":[{"item_id":"m1","action":"click","rating":5}],"exit":false,"feedback":""}`, false},
		{actionSchema, `{"items":[],"exit":"no","feedback":""}`, false},
		{reflectSchema, `{"summary":"s"}`, true},
		{reflectSchema, `{"summary":"s","extra":1}`, false},
		{interviewSchema, `{"satisfaction":7,"review":"r"}`, true},
		{interviewSchema, `{"satisfaction":"7","review":"r"}`, false},
	} {
		if err := llm.Validate(tc.schema, []byte(tc.doc)); (err == nil) != tc.valid {
			t.Errorf("%s: Validate(%s) = %v, want valid %v", tc.schema.Name, tc.doc, err, tc.valid)
		}
	}
	var action struct {
		Properties struct {
			Items struct {
				Items struct {
					Properties map[string]struct {
						Enum []string `json:"enum"`
					} `json:"properties"`
				} `json:"items"`
			} `json:"items"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(req.Schema.JSON, &action); err != nil {
		t.Fatal(err)
	}
	if got := action.Properties.Items.Items.Properties["action"].Enum; !slices.Equal(got, []string{"click", "skip"}) {
		t.Errorf("action enum = %v", got)
	}
}

// checkStrict walks a JSON schema and checks what strict structured output
// demands of every object: all properties required, nothing else allowed.
func checkStrict(t *testing.T, where string, node map[string]any) {
	t.Helper()
	if node["type"] == "object" {
		props, _ := node["properties"].(map[string]any)
		req, _ := node["required"].([]any)
		if len(req) != len(props) || node["additionalProperties"] != false {
			t.Errorf("%s: object requires %v of %d properties, additionalProperties %v", where, req, len(props), node["additionalProperties"])
		}
		for name, p := range props {
			checkStrict(t, where+"."+name, p.(map[string]any))
		}
	}
	if items, ok := node["items"].(map[string]any); ok {
		checkStrict(t, where+"[]", items)
	}
}

func TestLLMDecideAppliesAnswer(t *testing.T) {
	type want struct {
		examined, clicked []bool
		ratings           []float64
		reasons           []string
		hallucinations    int
		utility           float64
		exit              bool
		feedback          string
	}
	slate := []string{"m1", "m2", "m3"}
	tests := []struct {
		name   string
		answer string
		want   want
	}{
		{
			name: "clicks ratings and reasons",
			// utility = mean((5−1)/4, (2−1)/4) = (1 + 0.25)/2 = 0.625
			answer: `{"items":[{"item_id":"m1","action":"click","rating":5,"reason":"quiet"},` +
				`{"item_id":"m3","action":"click","rating":2,"reason":"loud"},` +
				`{"item_id":"m2","action":"skip","rating":0,"reason":"not tonight"}],"exit":false,"feedback":"ok list"}`,
			want: want{
				examined: []bool{true, true, true}, clicked: []bool{true, false, true},
				ratings: []float64{5, 0, 2}, reasons: []string{"quiet", "not tonight", "loud"},
				utility: 0.625, feedback: "ok list",
			},
		},
		{
			name: "hallucinated ids are dropped and counted",
			// only m2 is real: utility = (4−1)/4 = 0.75
			answer: `{"items":[{"item_id":"m9","action":"click","rating":5,"reason":"x"},` +
				`{"item_id":"M2","action":"click","rating":5,"reason":"y"},` +
				`{"item_id":"m2","action":"click","rating":4,"reason":"z"}],"exit":false,"feedback":""}`,
			want: want{
				examined: []bool{false, true, false}, clicked: []bool{false, true, false},
				ratings: []float64{0, 4, 0}, reasons: []string{"", "z", ""},
				hallucinations: 2, utility: 0.75,
			},
		},
		{
			name: "ratings are rounded and clamped to 1–5",
			// 9 → 5, 0 → 1, 3.6 → 4: utility = (1 + 0 + 0.75)/3 = 0.58333…
			answer: `{"items":[{"item_id":"m1","action":"click","rating":9,"reason":""},` +
				`{"item_id":"m2","action":"click","rating":0,"reason":""},` +
				`{"item_id":"m3","action":"click","rating":3.6,"reason":""}],"exit":false,"feedback":""}`,
			want: want{
				examined: []bool{true, true, true}, clicked: []bool{true, true, true},
				ratings: []float64{5, 1, 4}, reasons: []string{"", "", ""},
				utility: 1.75 / 3,
			},
		},
		{
			name: "duplicates keep the first action and a bad action is a skip",
			answer: `{"items":[{"item_id":"m1","action":"skip","rating":0,"reason":"first"},` +
				`{"item_id":"m1","action":"click","rating":5,"reason":"second"},` +
				`{"item_id":"m2","action":"watch","rating":5,"reason":"odd"}],"exit":true,"feedback":"bye"}`,
			want: want{
				examined: []bool{true, true, false}, clicked: []bool{false, false, false},
				ratings: []float64{0, 0, 0}, reasons: []string{"first", "odd", ""},
				exit: true, feedback: "bye",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cat := llmCatalog(t)
			b := newLLMForTest(t, cat, answers(tc.answer), nil)
			st := llmState(t, cat)
			sl := shownSlate(slate...)
			sl[0].Reason, sl[0].Clicked = "stale", true // Decide must reset the slate
			d, err := b.Decide(context.Background(), st, 3, sl)
			if err != nil {
				t.Fatal(err)
			}
			var got want
			for _, sh := range sl {
				got.examined = append(got.examined, sh.Examined)
				got.clicked = append(got.clicked, sh.Clicked)
				got.ratings = append(got.ratings, sh.Rating)
				got.reasons = append(got.reasons, sh.Reason)
			}
			w := tc.want
			if !slices.Equal(got.examined, w.examined) || !slices.Equal(got.clicked, w.clicked) ||
				!slices.Equal(got.ratings, w.ratings) || !slices.Equal(got.reasons, w.reasons) {
				t.Errorf("slate = %+v\nwant examined %v clicked %v ratings %v reasons %q", sl, w.examined, w.clicked, w.ratings, w.reasons)
			}
			if d.Hallucinations != w.hallucinations || !near(d.Utility, w.utility) || d.Exit != w.exit || d.Feedback != w.feedback {
				t.Errorf("decision = %+v, want hallucinations %d utility %g exit %v feedback %q", d, w.hallucinations, w.utility, w.exit, w.feedback)
			}
			clicks := 0
			for k, sh := range sl {
				if sh.Clicked {
					clicks++
					idx, _ := cat.Index(slate[k])
					if !st.HasConsumed(idx) {
						t.Errorf("%s clicked but not consumed", slate[k])
					}
				}
			}
			if len(st.History) != clicks || len(st.Memory) != clicks || st.SlatesViewed != 1 {
				t.Errorf("history %d, memory %d, slates %d; want %d, %d, 1", len(st.History), len(st.Memory), st.SlatesViewed, clicks, clicks)
			}
			if st.Exited != w.exit || (w.exit && st.ExitRound != 3) {
				t.Errorf("exited %v at %d, want %v at 3", st.Exited, st.ExitRound, w.exit)
			}
		})
	}
}

// TestLLMDriftMatchesUtilityModel: a click moves the stated interests
// exactly as the utility model's default drift does.
func TestLLMDriftMatchesUtilityModel(t *testing.T) {
	cat := llmCatalog(t)
	b := newLLMForTest(t, cat, answers(`{"items":[{"item_id":"m2","action":"click","rating":5,"reason":""}],"exit":false,"feedback":""}`), nil)
	st := llmState(t, cat)
	ref := st.Clone()
	if _, err := b.Decide(context.Background(), st, 0, shownSlate("m2")); err != nil {
		t.Fatal(err)
	}
	u, err := NewBehaviour(UtilityName, BehaviourEnv{Catalog: cat}, nil)
	if err != nil {
		t.Fatal(err)
	}
	idx, _ := cat.Index("m2")
	ref.record(idx, 0, 5)
	ref.addToCentroid(cat, idx)
	u.(*utilityModel).applyDrift(ref, idx, 5)
	if !slices.Equal(st.Interests, ref.Interests) || slices.Equal(st.Interests, st.Initial) {
		t.Errorf("interests %v, want %v (initial %v)", st.Interests, ref.Interests, st.Initial)
	}
	if !slices.Equal(st.centroid, ref.centroid) {
		t.Errorf("centroid %v, want %v", st.centroid, ref.centroid)
	}
}

func TestLLMErrorsPropagate(t *testing.T) {
	tests := []struct {
		name   string
		answer func(llm.Request) (string, error)
		want   error
	}{
		{"malformed after repair", func(llm.Request) (string, error) {
			return "", fmt.Errorf("llm: decoding: %w", llm.ErrMalformed)
		}, llm.ErrMalformed},
		{"answer is not JSON", func(llm.Request) (string, error) { return "I'd click the first one", nil }, llm.ErrMalformed},
		{"budget", func(llm.Request) (string, error) { return "", llm.ErrBudgetExceeded }, llm.ErrBudgetExceeded},
		{"replay miss", func(llm.Request) (string, error) { return "", fmt.Errorf("call abc: %w", llm.ErrReplayMiss) }, llm.ErrReplayMiss},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cat := llmCatalog(t)
			b := newLLMForTest(t, cat, &fakeLLM{answer: tc.answer}, nil)
			st := llmState(t, cat)
			before := st.Clone()
			_, err := b.Decide(context.Background(), st, 0, shownSlate("m1", "m2"))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if st.SlatesViewed != before.SlatesViewed || len(st.History) != len(before.History) || !slices.Equal(st.Interests, before.Interests) {
				t.Error("a failed decision changed the state")
			}
			if _, err := b.(Interviewer).Interview(context.Background(), st, "a"); !errors.Is(err, tc.want) {
				t.Errorf("interview err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestLLMReflectsOnSchedule(t *testing.T) {
	cat := llmCatalog(t)
	fake := answers(`{"items":[{"item_id":"m1","action":"click","rating":5,"reason":"lovely"}],"exit":false,"feedback":""}`)
	b := newLLMForTest(t, cat, fake, config.Params{"reflect_every": 2})
	st := llmState(t, cat)
	ids := []string{"m1", "m2", "m3", "m4"}
	for round := range 4 {
		// A fresh item each round, so the persona is never shown what it consumed.
		fake.answer = func(req llm.Request) (string, error) {
			if req.Schema.Name == reflectSchema.Name {
				return fmt.Sprintf(`{"summary":"  summary after %d slates "}`, st.SlatesViewed), nil
			}
			return `{"items":[{"item_id":"` + ids[round] + `","action":"click","rating":4,"reason":"fine"}],"exit":false,"feedback":""}`, nil
		}
		if _, err := b.Decide(context.Background(), st, round, shownSlate(ids[round])); err != nil {
			t.Fatal(err)
		}
	}
	var kinds []string
	for _, r := range fake.reqs {
		kinds = append(kinds, r.Schema.Name)
	}
	// Reflection before the 3rd slate (2 viewed); the 5th would be next.
	wantKinds := []string{"slate_action", "slate_action", "reflection", "slate_action", "slate_action"}
	if !slices.Equal(kinds, wantKinds) {
		t.Fatalf("calls = %v, want %v", kinds, wantKinds)
	}
	if st.Reflection != "summary after 2 slates" {
		t.Errorf("reflection = %q", st.Reflection)
	}
	if sys := fake.reqs[1].Messages[0].Content; strings.Contains(sys, "summary after") {
		t.Error("the reflection appeared before it was made")
	}
	if sys := fake.reqs[3].Messages[0].Content; !strings.Contains(sys, "summary after 2 slates") {
		t.Errorf("the next prompt lacks the reflection:\n%s", sys)
	}

	// A failed decision does not make the persona reflect twice.
	st2 := llmState(t, cat)
	st2.SlatesViewed, st2.Memory = 2, []Recollection{{Visit: 1, Item: 0, Rating: 5}}
	fake2 := &fakeLLM{answer: func(req llm.Request) (string, error) {
		if req.Schema.Name == reflectSchema.Name {
			return `{"summary":"s"}`, nil
		}
		return "", llm.ErrMalformed
	}}
	b2 := newLLMForTest(t, cat, fake2, config.Params{"reflect_every": 2})
	for range 2 {
		if _, err := b2.Decide(context.Background(), st2, 5, shownSlate("m2")); !errors.Is(err, llm.ErrMalformed) {
			t.Fatalf("err = %v", err)
		}
	}
	if len(fake2.reqs) != 3 || fake2.reqs[0].Schema.Name != reflectSchema.Name || fake2.reqs[2].Schema.Name != actionSchema.Name {
		t.Errorf("%d calls after two failed decisions, want reflection + 2 slates", len(fake2.reqs))
	}
}

func TestLLMReflectionOff(t *testing.T) {
	cat := llmCatalog(t)
	fake := answers(`{"items":[],"exit":false,"feedback":""}`)
	b := newLLMForTest(t, cat, fake, config.Params{"reflect_every": 0})
	st := llmState(t, cat)
	st.SlatesViewed, st.Memory = 5, []Recollection{{Visit: 1, Item: 0, Rating: 5}}
	if _, err := b.Decide(context.Background(), st, 5, shownSlate("m2")); err != nil {
		t.Fatal(err)
	}
	if len(fake.reqs) != 1 {
		t.Errorf("%d calls with reflection off, want 1", len(fake.reqs))
	}
}

func TestLLMInterview(t *testing.T) {
	tests := []struct {
		answer string
		want   trajectory.Interview
	}{
		{`{"satisfaction":8,"review":" Good picks. "}`, trajectory.Interview{Satisfaction: 8, Review: "Good picks."}},
		{`{"satisfaction":14,"review":"Wow."}`, trajectory.Interview{Satisfaction: 10, Review: "Wow."}},
		{`{"satisfaction":0,"review":"Awful."}`, trajectory.Interview{Satisfaction: 1, Review: "Awful."}},
		{`{"satisfaction":6.6,"review":""}`, trajectory.Interview{Satisfaction: 7}},
	}
	for _, tc := range tests {
		t.Run(tc.answer, func(t *testing.T) {
			cat := llmCatalog(t)
			fake := &fakeLLM{answer: func(llm.Request) (string, error) { return tc.answer, nil }}
			b := newLLMForTest(t, cat, fake, nil)
			st := llmState(t, cat)
			st.SlatesViewed = 3
			idx, _ := cat.Index("m1")
			st.record(idx, 1, 5)
			st.record(idx+1, 2, 2)
			got, err := b.(Interviewer).Interview(context.Background(), st, "control")
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("interview = %+v, want %+v", got, tc.want)
			}
			// 2 picks rated 5 and 2: mean 3.5.
			if user := fake.reqs[0].Messages[1].Content; !strings.Contains(user, "opened it 3 times") || !strings.Contains(user, "picked 2 items, with a mean rating of 3.5") {
				t.Errorf("interview prompt:\n%s", user)
			}
		})
	}
}

func TestLLMInterviewCanBeTurnedOff(t *testing.T) {
	cat := llmCatalog(t)
	b := newLLMForTest(t, cat, answers(""), config.Params{"interview": false})
	if _, ok := b.(Interviewer); ok {
		t.Error("interview: false still interviews")
	}
	if _, ok := newLLMForTest(t, cat, answers(""), nil).(Interviewer); !ok {
		t.Error("the default does not interview")
	}
}

func TestLLMMemoryIsPerCloneAndBounded(t *testing.T) {
	cat := llmCatalog(t)
	fake := answers(`{"items":[{"item_id":"m1","action":"click","rating":5,"reason":"r1"},{"item_id":"m2","action":"click","rating":3,"reason":"r2"},{"item_id":"m3","action":"click","rating":1,"reason":"r3"}],"exit":false,"feedback":""}`)
	b := newLLMForTest(t, cat, fake, config.Params{"memory": 2})
	st := llmState(t, cat)
	st.Memory = []Recollection{{Visit: 0, Item: 3, Rating: 4, Reason: "old"}}
	c := st.Clone()
	if _, err := b.Decide(context.Background(), c, 0, shownSlate("m1", "m2", "m3")); err != nil {
		t.Fatal(err)
	}
	if len(st.Memory) != 1 || st.Memory[0].Reason != "old" {
		t.Errorf("the original's memory changed: %+v", st.Memory)
	}
	var reasons []string
	for _, r := range c.Memory {
		reasons = append(reasons, r.Reason)
	}
	if !slices.Equal(reasons, []string{"r2", "r3"}) {
		t.Errorf("clone memory reasons = %v, want the last 2 picks", reasons)
	}
	c.Memory[0].Reason = "changed"
	if st.Memory[0].Reason != "old" {
		t.Error("clone and original share memory")
	}
}

func TestLLMPromptsAreDeterministic(t *testing.T) {
	cat := llmCatalog(t)
	var prompts [2][]llm.Message
	for i := range prompts {
		fake := answers(`{"items":[{"item_id":"m1","action":"click","rating":5,"reason":"r"}],"exit":false,"feedback":""}`)
		b := newLLMForTest(t, cat, fake, nil)
		st := llmState(t, cat)
		for round, id := range []string{"m1", "m2"} {
			if _, err := b.Decide(context.Background(), st, round, shownSlate(id, "m3", "m4")); err != nil {
				t.Fatal(err)
			}
		}
		prompts[i] = fake.reqs[len(fake.reqs)-1].Messages
	}
	if !slices.Equal(prompts[0], prompts[1]) {
		t.Errorf("identical states gave different prompts:\n%v\n%v", prompts[0], prompts[1])
	}
}

func TestLLMPromptOverride(t *testing.T) {
	cat := llmCatalog(t)
	dir := t.TempDir()
	override := `{{define "persona.user"}}CUSTOM visit {{.Visit}}: {{range .Slate}}{{.Item}} {{end}}{{end}}`
	if err := os.WriteFile(filepath.Join(dir, "mine.tmpl"), []byte(override), 0o644); err != nil {
		t.Fatal(err)
	}
	fake := answers(`{"items":[],"exit":false,"feedback":""}`)
	b, err := NewBehaviour(LLMName, BehaviourEnv{Catalog: cat, LLM: fake, Dir: dir}, config.Params{"prompt": "mine.tmpl"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Decide(context.Background(), llmState(t, cat), 0, shownSlate("m1", "m2")); err != nil {
		t.Fatal(err)
	}
	if got := fake.reqs[0].Messages[1].Content; got != "CUSTOM visit 1: m1 m2 " {
		t.Errorf("user prompt = %q", got)
	}
	if sys := fake.reqs[0].Messages[0].Content; !strings.HasPrefix(sys, "You are Ana") {
		t.Errorf("the embedded system prompt was lost: %q", sys)
	}
	v := b.(interface{ PromptVersion() string }).PromptVersion()
	if !strings.HasPrefix(v, PromptVersion+"+mine.tmpl@") {
		t.Errorf("version = %q", v)
	}

	for name, params := range map[string]config.Params{
		"missing file": {"prompt": "absent.tmpl"},
		"bad template": {"prompt": "bad.tmpl"},
	} {
		if err := os.WriteFile(filepath.Join(dir, "bad.tmpl"), []byte(`{{define "persona.user"}}{{.Visit`), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := NewBehaviour(LLMName, BehaviourEnv{Catalog: cat, LLM: fake, Dir: dir}, params); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestLLMNeedsClient(t *testing.T) {
	_, err := NewBehaviour(LLMName, BehaviourEnv{Catalog: llmCatalog(t)}, nil)
	if !errors.Is(err, ErrNoLLM) || !strings.Contains(err.Error(), "behaviour llm needs an llm: block in the scenario") {
		t.Errorf("err = %v", err)
	}
}

func TestLLMExitedPersonaIsNotAsked(t *testing.T) {
	cat := llmCatalog(t)
	fake := answers(`{"items":[],"exit":true,"feedback":""}`)
	b := newLLMForTest(t, cat, fake, nil)
	st := llmState(t, cat)
	for round := range 2 {
		if _, err := b.Decide(context.Background(), st, round, shownSlate("m1")); err != nil {
			t.Fatal(err)
		}
	}
	if len(fake.reqs) != 1 || !st.Exited || st.ExitRound != 0 {
		t.Errorf("%d calls, exited %v at %d", len(fake.reqs), st.Exited, st.ExitRound)
	}
}

func TestTraitAndInterestWords(t *testing.T) {
	cat := llmCatalog(t)
	// 0.2 < 1/3 is low, 0.5 middling, 0.8 > 2/3 high.
	got := traitWords(Traits{Activity: 0.8, Conformity: 0.2, Curiosity: 0.5, Pickiness: 0.9, Mainstreamness: 0.7})
	want := []string{traitSentences[0][2], traitSentences[1][0], traitSentences[2][1], traitSentences[3][2], traitSentences[4][2]}
	if !slices.Equal(got, want) {
		t.Errorf("traits = %q", got)
	}
	// Weights relative to the strongest (drama 0.9): slow-burn 0.78 love,
	// comedy 0.44 like, nature 0.22 mildly.
	vec, _ := cat.TasteVector(llmPersonaFixture().Interests)
	gotI := interestWords(cat, vec)
	wantI := []string{"you love: categories drama; tags slow-burn", "you like: categories comedy", "you are mildly interested in: tags nature"}
	if !slices.Equal(gotI, wantI) {
		t.Errorf("interests = %q, want %q", gotI, wantI)
	}
}

// FuzzLLMAnswer feeds arbitrary answers to the slate parser: it must never
// panic, and whatever it keeps must be consistent.
func FuzzLLMAnswer(f *testing.F) {
	f.Add(`{"items":[{"item_id":"m1","action":"click","rating":5,"reason":"a"}],"exit":false,"feedback":"f"}`)
	f.Add(`{"items":[{"item_id":"zz","action":"click","rating":-3},{"item_id":"m2","action":"skip","rating":1e308}],"exit":true}`)
	f.Add(`{"items":null}`)
	f.Add(`[]`)
	f.Add(``)
	cat := llmCatalog(f)
	base := llmState(f, cat)
	f.Fuzz(func(t *testing.T, content string) {
		b := newLLMForTest(t, cat, answers(content), nil)
		st := base.Clone()
		sl := shownSlate("m1", "m2", "m3")
		d, err := b.Decide(context.Background(), st, 1, sl)
		if err != nil {
			if !errors.Is(err, llm.ErrMalformed) {
				t.Fatalf("err = %v, not malformed", err)
			}
			return
		}
		clicks := 0
		for _, sh := range sl {
			if sh.Clicked {
				clicks++
				if !sh.Examined || sh.Rating < 1 || sh.Rating > 5 || sh.Rating != float64(int(sh.Rating)) {
					t.Errorf("bad click %+v", sh)
				}
			} else if sh.Rating != 0 {
				t.Errorf("rating without click %+v", sh)
			}
		}
		if d.Hallucinations < 0 || d.Utility < 0 || d.Utility > 1 || len(st.History) != clicks {
			t.Errorf("decision %+v with %d clicks and %d history", d, clicks, len(st.History))
		}
	})
}

func BenchmarkLLMPrompt(b *testing.B) {
	cat := vocabCatalog(b, 2000)
	lib := mustLibrary(b)
	st := mustBuild(b, lib[:1], cat, 1)[0]
	fake := answers(`{"items":[],"exit":false,"feedback":""}`)
	beh := newLLMForTest(b, cat, fake, nil)
	ids := make([]string, 10)
	for k := range ids {
		ids[k] = cat.Item(k + 100).ID
	}
	sl := shownSlate(ids...)
	b.ReportAllocs()
	for b.Loop() {
		fake.reqs = fake.reqs[:0]
		if _, err := beh.Decide(context.Background(), st.Clone(), 0, sl); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLLMDocs keeps docs/llm-personas.md's parameter table and template
// listings equal to the code (-update rewrites them).
func TestLLMDocs(t *testing.T) {
	checkSection(t, "../docs/llm-personas.md", "llm-params", LLMSpec.Markdown())
	var b strings.Builder
	for _, name := range []string{"persona-v2.tmpl", "reflect-v2.tmpl", "interview-v2.tmpl"} {
		data, err := promptFS.ReadFile("prompts/" + name)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "`personas/prompts/%s`:\n\n```\n%s```\n\n", name, data)
	}
	checkSection(t, "../docs/llm-personas.md", "llm-prompts", b.String())
}

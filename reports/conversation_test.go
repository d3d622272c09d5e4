package reports

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/trajectory"
)

// convEvents is a small conversational run: variants "asks" (the
// baseline) and "guesses", three personas (p-3 replicates p-1), two rounds,
// at most three turns, pass^2. Every text a user, a recommender or a
// language model wrote carries hostile markup somewhere.
func convEvents() []trajectory.Event {
	variants := []trajectory.VariantInfo{{Name: "asks", Recommender: "chat-asks"}, {Name: "guesses", Recommender: "chat-guess"}}
	events := []trajectory.Event{{Kind: trajectory.KindRun, Run: &trajectory.RunInfo{Scenario: "chat & <films>", Seed: 42,
		Rounds: 2, SlateSize: 2, Personas: 3, Items: 4, Behaviour: "agenda", Tool: "recloop v1.2.3", Variants: variants,
		Conversation: &trajectory.ConversationInfo{MaxTurns: 3, User: "agenda", PassK: 2}}}}
	for _, p := range []trajectory.Profile{
		{Name: "Ada", Description: "Wants a quiet film " + hostileScript},
		{Name: "Bo", Description: "Likes noise"},
		{Name: "Ada again", ReplicateOf: "p-1"},
	} {
		id := "p-" + string(rune('1'+len(events)-1))
		events = append(events, trajectory.Event{Kind: trajectory.KindPersona, Persona: id, Profile: &p})
	}
	turn := func(variant string, round int, persona string, tu trajectory.Turn) {
		tu.Conversation = persona + "/" + variant
		events = append(events, trajectory.Event{Kind: trajectory.KindTurn, Variant: variant, Round: round, Persona: persona, Turn: &tu})
	}
	user := func(index int, act, text string) trajectory.Turn {
		return trajectory.Turn{Index: index, Role: trajectory.RoleUser, Act: act, Text: text}
	}
	reply := func(index int, text string, items ...trajectory.Proposed) trajectory.Turn {
		return trajectory.Turn{Index: index, Role: trajectory.RoleRecommender, Text: text, Items: items, WallLatencyUS: 2000}
	}
	for round := range 2 {
		for _, p := range []string{"p-1", "p-2", "p-3"} {
			// asks: one question, then the right item, which the user takes.
			turn("asks", round, p, user(0, trajectory.ActInform, "Something calm "+hostileScript))
			turn("asks", round, p, reply(1, "Which decade?"))
			turn("asks", round, p, user(2, trajectory.ActAnswer, "The seventies"))
			last := reply(3, "Try these",
				trajectory.Proposed{Item: "i-1", Explanation: "calm, 1974 " + hostileScript, Satisfies: true, Relevant: true},
				trajectory.Proposed{Item: "i-2", Explanation: "calm", Satisfies: true})
			turn("asks", round, p, last)
			accept := user(4, trajectory.ActAccept, "I'll take it")
			accept.Accepted = "i-1"
			accept.End = &trajectory.DialogueEnd{Success: true, Item: "i-1", Turns: 2, Satisfaction: 0.9, Relevant: 1, Preferences: 2, Covered: 1}
			if p == "p-2" && round == 1 {
				accept.Accepted, accept.Act, accept.Text = "", trajectory.ActQuit, "Not for me"
				accept.End = &trajectory.DialogueEnd{Turns: 2, Quit: trajectory.QuitPatience, Satisfaction: 0.3, Relevant: 1}
			}
			turn("asks", round, p, accept)

			// guesses: an unknown id, a text-only reply, then the user gives
			// the answer away and takes the wrong item.
			leak := user(0, trajectory.ActInform, "Something like Title i-1")
			leak.Leaks = []string{"i-1"}
			turn("guesses", round, p, leak)
			bad := reply(1, "Here is zz")
			bad.UnknownIDs = []string{"zz"}
			bad.Error = &trajectory.StepError{Kind: trajectory.ErrorKindInvalid, Message: "unknown item zz"}
			turn("guesses", round, p, bad)
			turn("guesses", round, p, user(2, trajectory.ActReject, "No"))
			text := reply(3, "Maybe "+hostileScript, trajectory.Proposed{Item: "i-4"})
			text.Matched, text.Unmatched = 1, []string{"No Such Film " + hostileScript}
			turn("guesses", round, p, text)
			wrong := user(4, trajectory.ActAccept, "Fine")
			wrong.Accepted = "i-4"
			wrong.End = &trajectory.DialogueEnd{Item: "i-4", Turns: 2, Quit: trajectory.QuitWrongPick, Satisfaction: 0.4, Relevant: 1, Preferences: 2}
			turn("guesses", round, p, wrong)
		}
	}
	return append(events, trajectory.Event{Kind: trajectory.KindRunEnd, RunEnd: &trajectory.RunEnd{}})
}

// convRun aggregates convEvents into results, as recloop run does, and
// gives the report the same events as the run directory's trajectories.
func convRun(t *testing.T) (*metrics.Results, HTMLOptions) {
	t.Helper()
	cat, err := catalog.New([]catalog.Item{
		{ID: "i-1", Categories: []string{"drama"}}, {ID: "i-2", Categories: []string{"drama"}},
		{ID: "i-3", Categories: []string{"action"}}, {ID: "i-4", Categories: []string{"action"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	events := convEvents()
	agg := metrics.NewAggregator(cat, metrics.Config{Bootstrap: 200, ABBootstrap: 200, Seed: 7, Baseline: "asks"})
	for k := range events {
		events[k].V = trajectory.SchemaVersion
		if err := agg.Write(&events[k]); err != nil {
			t.Fatalf("event %d: %v", k, err)
		}
	}
	r := agg.Results()
	gates := []string{"success_rate[guesses] - baseline >= 0", "pass_k[*] >= 0.5"}
	var parsed []metrics.Gate
	for _, g := range gates {
		pg, err := metrics.ParseGate("", g)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, pg)
	}
	metrics.EvaluateGates(r, parsed, true)
	return r, HTMLOptions{Trajectories: eventsOpener(t, events), Titles: func(id string) string { return "Title " + id + " " + hostileScript }}
}

func TestConversationGolden(t *testing.T) {
	r, o := convRun(t)
	for _, tt := range []struct {
		golden string
		render renderer
	}{
		{"conversation.table.golden", Table},
		{"conversation.summary.md.golden", Summary},
		{"conversation.report.html.golden", func(w io.Writer, r *metrics.Results) error { return WriteHTML(w, r, o) }},
	} {
		t.Run(tt.golden, func(t *testing.T) {
			got := render(t, tt.render, r)
			got = bytes.Replace(got, []byte(echartsInline), []byte("/* echarts.min.js */"), 1)
			path := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the output; run go test ./reports -update and review the diff\n--- got ---\n%s", path, got)
			}
		})
	}
}

// A conversational run's report leads with dialogues and leaves out the
// slate sections, whose numbers would all be undefined.
func TestConversationReportSections(t *testing.T) {
	r, o := convRun(t)
	page := string(render(t, func(w io.Writer, r *metrics.Results) error { return WriteHTML(w, r, o) }, r))
	assertContains(t, page, `<h2 id="conversations">`, `href="#conversations"`, "Success by turn", "Recall by turn",
		"<code>wrong_pick</code>", "Replies with unknown ids", "✓ accepted: Title i-1", "✓ success", "✗ no success")
	for _, gone := range []string{`<h2 id="serendipity">`, `<h2 id="cold-start">`, ">CTR<", `href="#serendipity"`} {
		if strings.Contains(page, gone) {
			t.Errorf("a conversational report has %q", gone)
		}
	}
	var table bytes.Buffer
	if err := Table(&table, r); err != nil {
		t.Fatal(err)
	}
	assertContains(t, table.String(), "Conversations", "Success rate ↑", "pass^k ↑", "guesses leaves success rate about the same")
	for _, gone := range []string{"CTR", "Beyond accuracy", "Cold start"} {
		if strings.Contains(table.String(), gone) {
			t.Errorf("a conversational table has %q", gone)
		}
	}
}

// Every text users, recommenders and titles brought into a dialogue comes
// out escaped.
func TestConversationTranscriptEscapes(t *testing.T) {
	r, o := convRun(t)
	page := string(render(t, func(w io.Writer, r *metrics.Results) error { return WriteHTML(w, r, o) }, r))
	if strings.Contains(page, hostileScript) {
		t.Errorf("report contains %q unescaped", hostileScript)
	}
	const escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
	assertContains(t, page,
		"Something calm "+escaped,     // user utterance
		"Maybe "+escaped,              // recommender utterance
		"calm, 1974 "+escaped,         // explanation
		"Title i-1 "+escaped,          // item title
		"No Such Film "+escaped,       // unmatched title
		"Wants a quiet film "+escaped, // persona description
	)
	if opens, closes := strings.Count(page, "<script"), strings.Count(page, "</script"); opens != 3 || closes != 3 {
		t.Errorf("report has %d <script and %d </script, want 3 and 3", opens, closes)
	}
}

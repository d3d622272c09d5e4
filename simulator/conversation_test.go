package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/personas"
	"github.com/recloop/recloop/recommenders"
	"github.com/recloop/recloop/trajectory"
)

// conversing is a fixture whose personas all have needs, with the agenda
// user engine.
func conversing(t testing.TB) (fixture, Config) {
	t.Helper()
	f := newFixture(t, 600, 2)
	personas.DeriveNeeds(f.states, f.cat, 11)
	judge := personas.NeedJudge{Catalog: f.cat, Scorer: f.behaviour.(personas.Scorer)}
	cfg := f.config(0)
	cfg.Rounds = 3
	cfg.SlateSize = 3
	cfg.Conversation = &Conversation{MaxTurns: 6, User: personas.NewAgendaUser(f.cat, judge), Judge: judge,
		Titles: catalog.NewTitleIndex(f.cat), Learn: true, Info: trajectory.ConversationInfo{MaxTurns: 6, User: "agenda", PassK: 3, Learn: true}}
	return f, cfg
}

func turnsOf(t *testing.T, out []byte) []trajectory.Event {
	t.Helper()
	var evs []trajectory.Event
	for line := range bytes.Lines(out) {
		var ev trajectory.Event
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Kind == trajectory.KindStep {
			t.Fatalf("a conversational run wrote a step: %s", line)
		}
		if ev.Kind == trajectory.KindTurn {
			evs = append(evs, ev)
		}
	}
	return evs
}

func chatVariants(f fixture, t *testing.T) []Variant {
	return []Variant{
		{Name: "popular", Recommender: "chatpopular", New: func(context.Context, World) (recommenders.Recommender, error) {
			return f.builtin(t, "chatpopular"), nil
		}},
		{Name: "clarify", Recommender: "clarify", New: func(context.Context, World) (recommenders.Recommender, error) { return f.builtin(t, "clarify"), nil }},
	}
}

func TestConversationsAreDeterministicAtAnyConcurrency(t *testing.T) {
	f, cfg := conversing(t)
	var first []byte
	for _, conc := range []int{1, 8} {
		cfg.Concurrency = conc
		_, out, err := run(t, f, cfg, chatVariants(f, t))
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = out
			continue
		}
		if !bytes.Equal(first, out) {
			t.Fatalf("concurrency %d wrote different bytes", conc)
		}
	}
	turns := turnsOf(t, first)
	if len(turns) == 0 {
		t.Fatal("no turns written")
	}
	// Every dialogue is whole and in order: user first, roles alternate,
	// indexes count up, and only the last turn has an end.
	ends, successes := 0, map[string]int{}
	for k, ev := range turns {
		tu := ev.Turn
		wantRole := trajectory.RoleUser
		if tu.Index%2 == 1 {
			wantRole = trajectory.RoleRecommender
		}
		if tu.Role != wantRole {
			t.Fatalf("turn %d of %s is a %s turn", tu.Index, tu.Conversation, tu.Role)
		}
		if k > 0 && turns[k-1].Turn.End == nil && (turns[k-1].Turn.Conversation != tu.Conversation || turns[k-1].Turn.Index != tu.Index-1) {
			t.Fatalf("turn %d of %s does not follow turn %d of %s", tu.Index, tu.Conversation, turns[k-1].Turn.Index, turns[k-1].Turn.Conversation)
		}
		if tu.End != nil {
			ends++
			if tu.End.Success {
				successes[ev.Variant]++
			}
		}
	}
	if want := 2 * 3 * len(f.states); ends > want || ends < want/2 {
		t.Fatalf("%d dialogues ended, want about %d (2 variants × 3 rounds × %d personas, late joiners absent early)", ends, want, len(f.states))
	}
	// The popularity baseline does not listen; clarify does, and must
	// find what people want more often.
	if successes["clarify"] <= successes["popular"] {
		t.Errorf("clarify succeeded %d times, the popularity baseline %d: clarify should listen", successes["clarify"], successes["popular"])
	}
}

// leaker is a user engine that names an item it was never shown.
type leaker struct {
	personas.ChatUser
	title string
}

func (l leaker) Say(ctx context.Context, st *personas.State, d *personas.Dialogue) (personas.Utterance, error) {
	u, err := l.ChatUser.Say(ctx, st, d)
	if len(d.Turns) == 0 {
		u.Text += " Something like " + l.title + ", you know?"
	}
	return u, err
}

func TestALeakingUserIsCaught(t *testing.T) {
	f, cfg := conversing(t)
	cfg.Rounds = 1
	target := f.cat.Item(17)
	cfg.Conversation.User = leaker{ChatUser: cfg.Conversation.User, title: target.Title}
	_, out, err := run(t, f, cfg, chatVariants(f, t)[1:])
	if err != nil {
		t.Fatal(err)
	}
	leaks := 0
	for _, ev := range turnsOf(t, out) {
		if ev.Turn.Index == 0 {
			if len(ev.Turn.Leaks) != 1 || ev.Turn.Leaks[0] != target.ID {
				t.Fatalf("the opening %q names %q, recorded leaks %v", ev.Turn.Text, target.Title, ev.Turn.Leaks)
			}
			leaks++
		} else if ev.Turn.Role == trajectory.RoleUser && len(ev.Turn.Leaks) > 0 {
			t.Fatalf("an honest turn %q was taken for a leak: %v", ev.Turn.Text, ev.Turn.Leaks)
		}
	}
	if leaks == 0 {
		t.Fatal("no dialogue opened")
	}
}

// inventing proposes one id the catalog does not have next to a real one.
type inventing struct{ recommenders.Recommender }

func (inventing) Respond(_ context.Context, req recommenders.ChatRequest) (recommenders.ChatReply, error) {
	return recommenders.ChatReply{Message: "Try these.", Items: []recommenders.Scored{{Item: "no-such-film"}, {Item: "item-001"}}}, nil
}

func TestUnknownIDsAreRejectedAndRecorded(t *testing.T) {
	f, cfg := conversing(t)
	cfg.Rounds = 1
	variants := []Variant{{Name: "inventing", Recommender: "inventing", New: func(context.Context, World) (recommenders.Recommender, error) {
		return inventing{f.builtin(t, "popular")}, nil
	}}}
	_, out, err := run(t, f, cfg, variants)
	if err != nil {
		t.Fatal(err)
	}
	replies := 0
	for _, ev := range turnsOf(t, out) {
		tu := ev.Turn
		if tu.Role != trajectory.RoleRecommender {
			continue
		}
		replies++
		if len(tu.UnknownIDs) != 1 || tu.UnknownIDs[0] != "no-such-film" || tu.Error == nil || tu.Error.Kind != trajectory.ErrorKindInvalid || len(tu.Items) != 0 {
			t.Fatalf("reply recorded as %+v, want the unknown id recorded, the items rejected and an invalid error", tu)
		}
	}
	if replies == 0 {
		t.Fatal("no replies")
	}
}

// textOnly answers in words: a quoted catalog title and a quoted title
// the catalog does not have.
type textOnly struct {
	recommenders.Recommender
	title string
}

func (r textOnly) Respond(_ context.Context, req recommenders.ChatRequest) (recommenders.ChatReply, error) {
	return recommenders.ChatReply{Message: fmt.Sprintf("You could watch %q or \"Nonexistent Picture Show\".", r.title)}, nil
}

func TestTextOnlyRepliesAreMatchedToTheCatalog(t *testing.T) {
	f, cfg := conversing(t)
	cfg.Rounds = 1
	item := f.cat.Item(42)
	variants := []Variant{{Name: "text", Recommender: "text", New: func(context.Context, World) (recommenders.Recommender, error) {
		return textOnly{f.builtin(t, "popular"), item.Title}, nil
	}}}
	_, out, err := run(t, f, cfg, variants)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range turnsOf(t, out) {
		tu := ev.Turn
		if tu.Role != trajectory.RoleRecommender {
			continue
		}
		if tu.Matched != 1 || len(tu.Items) != 1 || tu.Items[0].Item != item.ID || strings.Join(tu.Unmatched, "|") != "Nonexistent Picture Show" {
			t.Fatalf("text reply recorded as matched %d, items %+v, unmatched %q", tu.Matched, tu.Items, tu.Unmatched)
		}
		return
	}
	t.Fatal("no replies")
}

func TestANonConversationalRecommenderIsRefused(t *testing.T) {
	f, cfg := conversing(t)
	variants := []Variant{{Name: "popular", Recommender: "popular", New: func(context.Context, World) (recommenders.Recommender, error) {
		return f.builtin(t, "popular"), nil
	}}}
	if _, _, err := run(t, f, cfg, variants); err == nil || !strings.Contains(err.Error(), "does not converse") {
		t.Fatalf("err = %v, want a refusal", err)
	}
}

func TestMergedConversationShardsEqualTheWholeRun(t *testing.T) {
	setup := func() (fixture, Config, []Variant) {
		f, cfg := conversing(t)
		f.states = personas.Replicate(f.states, 2, 11)
		var built atomic.Int32
		return f, cfg, []Variant{
			{Name: "popular", Recommender: "chatpopular", New: f.fresh(t, "chatpopular", &built)},
			{Name: "clarify", Recommender: "clarify", New: f.fresh(t, "clarify", &built)},
		}
	}
	f, cfg, variants := setup()
	_, whole, err := run(t, f, cfg, variants)
	if err != nil {
		t.Fatal(err)
	}
	var shards [][]byte
	for i := 3; i >= 1; i-- {
		f, cfg, variants := setup()
		cfg.Shard = &trajectory.Shard{Index: i, Count: 3}
		_, out, err := run(t, f, cfg, variants)
		if err != nil {
			t.Fatal(err)
		}
		shards = append(shards, out)
	}
	merged, err := merge(shards)
	if err != nil {
		t.Fatal(err)
	}
	// A turn leaves out a zero latency, which run writes for every call;
	// the field is wall-clock and differs between runs anyway.
	noLatency := regexp.MustCompile(`,"wall_latency_us":\d+`)
	merged, whole = noLatency.ReplaceAll(merged, nil), noLatency.ReplaceAll(whole, nil)
	if !bytes.Equal(merged, whole) {
		t.Fatalf("merged shards differ from the whole run (%d vs %d bytes)", len(merged), len(whole))
	}
}

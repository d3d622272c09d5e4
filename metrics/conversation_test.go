package metrics

import (
	"math"
	"slices"
	"testing"

	"github.com/recloop/recloop/trajectory"
)

func convRun(variants ...string) trajectory.Event {
	run := runEvent(2, variants...)
	run.Run.Personas = 3
	run.Run.Conversation = &trajectory.ConversationInfo{MaxTurns: 3, User: "agenda", PassK: 2}
	return run
}

func turnEvent(variant string, round int, persona string, tu trajectory.Turn) trajectory.Event {
	return trajectory.Event{V: 1, Kind: trajectory.KindTurn, Variant: variant, Round: round, Persona: persona, Turn: &tu}
}

// dialogue writes a dialogue's turns with their indexes and roles; its
// last turn carries end.
func dialogue(variant string, round int, persona string, end trajectory.DialogueEnd, turns ...trajectory.Turn) []trajectory.Event {
	out := make([]trajectory.Event, len(turns))
	for k, tu := range turns {
		tu.Conversation = persona + "/" + variant
		tu.Index = k
		tu.Role = trajectory.RoleUser
		if k%2 == 1 {
			tu.Role = trajectory.RoleRecommender
			tu.WallLatencyUS = 1000
		}
		if k == len(turns)-1 {
			tu.End = &end
		}
		out[k] = turnEvent(variant, round, persona, tu)
	}
	return out
}

func say(act string) trajectory.Turn { return trajectory.Turn{Act: act} }

func propose(items ...trajectory.Proposed) trajectory.Turn { return trajectory.Turn{Items: items} }

// Item verdicts: ok satisfies the need's hard constraints, hit is also
// relevant (accepting it is a success), miss is neither.
func ok(id string) trajectory.Proposed { return trajectory.Proposed{Item: id, Satisfies: true} }
func hit(id string) trajectory.Proposed {
	return trajectory.Proposed{Item: id, Satisfies: true, Relevant: true}
}
func miss(id string) trajectory.Proposed { return trajectory.Proposed{Item: id} }

func failedReply(kind string) trajectory.Turn {
	return trajectory.Turn{Error: &trajectory.StepError{Kind: kind, Message: kind}}
}

// convStream is the conversational case computed by hand: variant A, two
// rounds, max 3 turns, pass^2, slates (k) of 2; p1r replicates p1.
//
//	round 0
//	D1 p1:  inform · [a✓, b~] · accept a         success, 1 turn, sat 0.9, relevant 2, prefs 1/2
//	D2 p2:  inform, leaks c d · [c~, d] · reject · timeout · quit
//	                                             patience, 2 turns, sat 0.2, relevant 1, prefs 0
//	D3 p1r: inform · [b✓, a✓] · answer · [c✓, d] · accept d (1 hallucinated id)
//	                                             wrong_pick, 2 turns, sat 0.4, relevant 3, prefs 1/1
//	round 1
//	D4 p1:  inform · unknown id zz (invalid) · answer · [b✓] (1 title matched, 1 not) · accept b
//	                                             success, 2 turns, sat 0.8, relevant 2, prefs 2/2
//	D5 p2:  inform · [d]                         max_turns, 1 turn, sat 0.5, relevant 1, prefs 0/2
//	D6 p1r: inform · [a✓] · accept a             success, 1 turn, sat 1, relevant 2, prefs 0
//
// (✓ relevant, so also satisfying; ~ satisfying only; bare: neither.)
func convStream() []trajectory.Event {
	leaky := say(trajectory.ActInform)
	leaky.Leaks = []string{"c", "d"}
	hallucinating := say(trajectory.ActAccept)
	hallucinating.Hallucinations = 1
	unknown := failedReply(trajectory.ErrorKindInvalid)
	unknown.UnknownIDs = []string{"zz"}
	titled := propose(hit("b"))
	titled.Matched, titled.Unmatched = 1, []string{"No such film"}

	events := []trajectory.Event{
		convRun("A"),
		personaEvent("p1", trajectory.Profile{}),
		personaEvent("p2", trajectory.Profile{}),
		personaEvent("p1r", trajectory.Profile{ReplicateOf: "p1"}),
	}
	for _, d := range [][]trajectory.Event{
		dialogue("A", 0, "p1", trajectory.DialogueEnd{Success: true, Item: "a", Turns: 1, Satisfaction: 0.9, Relevant: 2, Preferences: 2, Covered: 1},
			say(trajectory.ActInform), propose(hit("a"), ok("b")), say(trajectory.ActAccept)),
		dialogue("A", 0, "p2", trajectory.DialogueEnd{Turns: 2, Quit: trajectory.QuitPatience, Satisfaction: 0.2, Relevant: 1},
			leaky, propose(ok("c"), miss("d")), say(trajectory.ActReject), failedReply(trajectory.ErrorKindTimeout), say(trajectory.ActQuit)),
		dialogue("A", 0, "p1r", trajectory.DialogueEnd{Item: "d", Turns: 2, Quit: trajectory.QuitWrongPick, Satisfaction: 0.4, Relevant: 3, Preferences: 1, Covered: 1},
			say(trajectory.ActInform), propose(hit("b"), hit("a")), say(trajectory.ActAnswer), propose(hit("c"), miss("d")), hallucinating),
		dialogue("A", 1, "p1", trajectory.DialogueEnd{Success: true, Item: "b", Turns: 2, Satisfaction: 0.8, Relevant: 2, Preferences: 2, Covered: 2},
			say(trajectory.ActInform), unknown, say(trajectory.ActAnswer), titled, say(trajectory.ActAccept)),
		dialogue("A", 1, "p2", trajectory.DialogueEnd{Turns: 1, Quit: trajectory.QuitMaxTurns, Satisfaction: 0.5, Relevant: 1, Preferences: 2},
			say(trajectory.ActInform), propose(miss("d"))),
		dialogue("A", 1, "p1r", trajectory.DialogueEnd{Success: true, Item: "a", Turns: 1, Satisfaction: 1, Relevant: 2},
			say(trajectory.ActInform), propose(hit("a")), say(trajectory.ActAccept)),
	} {
		events = append(events, d...)
	}
	return append(events, runEndEvent())
}

func TestConversationMetricsByHand(t *testing.T) {
	res := aggregate(t, tinyCatalog(t), handConfig, convStream())
	v := &res.Variants[0]
	nan := math.NaN()
	tests := []struct {
		name        string
		p1, p2, p1r float64
	}{
		// p1: 2 of 2 dialogues succeed; p2: 0 of 2; p1r: 1 of 2 (D6).
		{SuccessRate, 1, 0, 0.5},
		// p1: (1 + 2) / 2; p2: no success; p1r: D6 took 1.
		{TurnsToSuccess, 1.5, nan, 1},
		// Per original persona, replicates pooled, k = 2:
		// p1 + p1r: n = 4, c = 3 → C(3,2)/C(4,2) = 3/6; p2: n = 2, c = 0 → 0/1.
		{PassK, 0.5, 0, nan},
		// p1: a, b (D1) and b (D4; D4's invalid reply proposed nothing) all satisfy: 3/3.
		// p2: c of c, d (D2; the timed-out reply proposed nothing) and none of d (D5): 1/3.
		// p1r: b, a, c of b, a, c, d (D3) and a (D6): 4/5.
		{ConstraintSatisfaction, 1, 1.0 / 3, 0.8},
		// p1: (1/2 + 2/2) / 2; p2: D2 has no preferences, D5 0/2; p1r: D3 1/1, D6 none.
		{PreferenceCoverage, 0.75, 0, 1},
		{QuitRate, 0, 1, 0.5},
		// p1: (0.9 + 0.8) / 2; p2: (0.2 + 0.5) / 2; p1r: (0.4 + 1) / 2.
		{DialogueSatisfaction, 0.85, 0.35, 0.7},
		// p1: 0 of 5 user turns; p2: 1 of 4 (D2's first); p1r: 0 of 5.
		{LeakRate, 0, 0.25, 0},
	}
	if len(v.Metrics) != len(tests) {
		t.Errorf("%d headline metrics, want only the %d conversation metrics", len(v.Metrics), len(tests))
	}
	ids := res.PersonaIDs
	for k, tt := range tests {
		if v.Metrics[k].Name != tt.name {
			t.Errorf("headline %d is %s, want %s", k, v.Metrics[k].Name, tt.name)
		}
		var sum float64
		n := 0
		for _, x := range []float64{tt.p1, tt.p2, tt.p1r} {
			if !math.IsNaN(x) {
				sum += x
				n++
			}
		}
		got := headline(t, v, tt.name)
		if want := sum / float64(n); !approx(float64(got.Value), want) || got.N != n {
			t.Errorf("%s = %v (n=%d), want %v (n=%d)", tt.name, got.Value, got.N, want, n)
		}
		per := v.PerPersona[tt.name]
		for p, want := range []float64{tt.p1, tt.p2, tt.p1r} {
			if !approx(float64(per[p]), want) {
				t.Errorf("%s of %s = %v, want %v", tt.name, ids[p], per[p], want)
			}
		}
		if _, ok := res.Definitions[tt.name]; !ok {
			t.Errorf("%s has no definition", tt.name)
		}
	}
	if _, ok := res.Definitions[CTR]; ok {
		t.Error("a conversational run defines CTR, which it does not report")
	}
}

func TestConversationCurvesAndCounts(t *testing.T) {
	res := aggregate(t, tinyCatalog(t), handConfig, convStream())
	v := &res.Variants[0]
	c := v.Conversation
	if c == nil {
		t.Fatal("no conversation summary")
	}
	// Successes: D1 and D6 in 1 turn, D4 in 2; 6 dialogues.
	checkCurve(t, SuccessAtTurn, c.SuccessAtTurn, []float64{2.0 / 6, 3.0 / 6, 3.0 / 6})
	// Recall@2 after each turn, k = 2, capped:
	//	D1 [1/2]          D2 [0, 0]        D3 [2/2, min(3,2)/min(2,3) = 1]
	//	D4 [0, 1/2]       D5 [0]           D6 [1/2]
	// t1: (0.5 + 0 + 1 + 0 + 0 + 0.5) / 6; t2 and t3 keep each final value:
	// (0.5 + 0 + 1 + 0.5 + 0 + 0.5) / 6.
	checkCurve(t, RecallAtTurn, c.RecallAtTurn, []float64{2.0 / 6, 2.5 / 6, 2.5 / 6})
	want := ConversationResult{
		Dialogues: 6, Successes: 3,
		QuitReasons: map[string]int{trajectory.QuitPatience: 1, trajectory.QuitWrongPick: 1, trajectory.QuitMaxTurns: 1},
		// User turns: 2 + 3 + 3 + 3 + 1 + 2; D2's first names c and d.
		UserTurns: 14, LeakTurns: 1, Leaks: 2,
		// Replies: 1 + 2 + 2 + 2 + 1 + 1; items: 2 + 2 + 4 + 1 + 1 + 1.
		RecommenderTurns: 9, Proposed: 11, UnknownIDs: 1,
		MatchedTitles: 1, UnmatchedTitles: 1, WrongPicks: 1, Hallucinations: 1,
	}
	got := *c
	got.SuccessAtTurn, got.RecallAtTurn = nil, nil
	if got.Dialogues != want.Dialogues || got.Successes != want.Successes || got.UserTurns != want.UserTurns ||
		got.LeakTurns != want.LeakTurns || got.Leaks != want.Leaks || got.RecommenderTurns != want.RecommenderTurns ||
		got.Proposed != want.Proposed || got.UnknownIDs != want.UnknownIDs || got.MatchedTitles != want.MatchedTitles ||
		got.UnmatchedTitles != want.UnmatchedTitles || got.WrongPicks != want.WrongPicks || got.Hallucinations != want.Hallucinations ||
		len(got.QuitReasons) != len(want.QuitReasons) {
		t.Errorf("counts %+v, want %+v", got, want)
	}
	for reason, n := range want.QuitReasons {
		if got.QuitReasons[reason] != n {
			t.Errorf("quit %s: %d, want %d", reason, got.QuitReasons[reason], n)
		}
	}
	// The 9 replies are the recommender calls: D2's timeout and D4's
	// invalid reply failed.
	if e := v.Errors; e.Calls != 9 || e.Timeouts != 1 || e.Invalid != 1 || e.Errors != 0 || !approx(float64(e.Rate), 2.0/9) {
		t.Errorf("errors %+v, want 9 calls, 1 timeout, 1 invalid, rate 2/9", e)
	}
	if v.WallLatencyMS.P50 != 1 {
		t.Errorf("p50 latency %v, want 1 ms", v.WallLatencyMS.P50)
	}
	// Round 0: D1 of D1–D3 succeeded, 1 of 5 replies failed; round 1: D4
	// and D6, 1 of 4.
	checkCurve(t, SuccessRate+" by round", v.Rounds[SuccessRate], []float64{1.0 / 3, 2.0 / 3})
	checkCurve(t, RecommenderErrRate+" by round", v.Rounds[RecommenderErrRate], []float64{0.2, 0.25})
	checkCurve(t, ActivePersonas+" by round", v.Rounds[ActivePersonas], []float64{3, 3})
	if _, ok := v.Rounds[CTR]; ok {
		t.Error("a conversational run has CTR by round")
	}
}

func checkCurve(t *testing.T, name string, got []Float, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s has %d points, want %d", name, len(got), len(want))
		return
	}
	for k := range want {
		if !approx(float64(got[k]), want[k]) {
			t.Errorf("%s[%d] = %v, want %v", name, k, got[k], want[k])
		}
	}
}

func TestPassHatK(t *testing.T) {
	for _, tt := range []struct {
		n, c, k int
		want    float64
	}{
		{4, 3, 2, 0.5},        // C(3,2)/C(4,2) = 3/6
		{4, 4, 2, 1},          // every draw succeeds
		{5, 1, 2, 0},          // C(1,2) = 0
		{6, 4, 3, 4.0 / 20},   // C(4,3)/C(6,3) = 4/20
		{3, 2, 1, 2.0 / 3},    // pass^1 is the success rate
		{1, 1, 2, math.NaN()}, // fewer dialogues than k
		{3, 3, 0, math.NaN()}, // no k
	} {
		if got := passHatK(tt.n, tt.c, tt.k); !approx(got, tt.want) {
			t.Errorf("pass^%d(n=%d, c=%d) = %v, want %v", tt.k, tt.n, tt.c, got, tt.want)
		}
	}
}

// convStreamAB adds variant B, in which every dialogue fails at once.
func convStreamAB() []trajectory.Event {
	events := convStream()
	events[0].Run.Variants = append(events[0].Run.Variants, trajectory.VariantInfo{Name: "B", Recommender: "rec-B"})
	end := events[len(events)-1]
	events = events[:len(events)-1]
	for r := range 2 {
		for _, p := range []string{"p1", "p2", "p1r"} {
			events = append(events, dialogue("B", r, p, trajectory.DialogueEnd{Turns: 1, Quit: trajectory.QuitMaxTurns, Relevant: 1},
				say(trajectory.ActInform), propose(miss("d")))...)
		}
	}
	return append(events, end)
}

// Paired differences average a persona's replicates first; pass^k has one
// value per original persona already. Gates read the metrics and curves.
func TestConversationComparisonsAndGates(t *testing.T) {
	cfg := handConfig
	cfg.Baseline = "A"
	res := aggregate(t, tinyCatalog(t), cfg, convStreamAB())
	find := func(metric string) Comparison {
		for _, c := range res.Comparisons {
			if c.Metric == metric && c.Segment == "" && c.Candidate == "B" {
				return c
			}
		}
		t.Fatalf("no comparison on %s", metric)
		return Comparison{}
	}
	// Success rate, B − A per original persona: p1 0 − (1 + 0.5)/2, p2 0 − 0.
	if c := find(SuccessRate); c.N != 2 || !approx(float64(c.Diff), -0.375) {
		t.Errorf("success rate difference %v (n=%d), want −0.375 (n=2)", c.Diff, c.N)
	}
	// pass^2: p1 C(0,2)/C(4,2) − 0.5, p2 0 − 0.
	if c := find(PassK); c.N != 2 || !approx(float64(c.Diff), -0.25) {
		t.Errorf("pass^k difference %v (n=%d), want −0.25 (n=2)", c.Diff, c.N)
	}
	var gates []Gate
	for _, check := range []string{
		"success_rate[B] - baseline >= 0",
		"pass_k[*] >= 0.25",
		"success_at_turn[A] >= 0.5",
		"recall_at_turn[A] >= 0.4",
		"error_rate[A] <= 0.25",
		"turns_to_success[B] <= 2",
	} {
		g, err := ParseGate("", check)
		if err != nil {
			t.Fatal(err)
		}
		gates = append(gates, g)
	}
	EvaluateGates(res, gates, true)
	// Two original personas cannot resolve the success-rate margin: inconclusive.
	want := []string{GateInconclusive, GatePass, GateFail, GatePass, GatePass, GatePass, GateFail}
	var got []string
	for _, g := range res.Gates {
		got = append(got, g.Verdict)
	}
	if !slices.Equal(got, want) {
		for _, g := range res.Gates {
			t.Log(g.Name, g.Verdict, g.Message)
		}
		t.Errorf("verdicts %v, want %v", got, want)
	}
}

// The conversation computations follow the registry's order, which fixes
// the headline order of a conversational run.
func TestConversationMetricsFollowTheRegistry(t *testing.T) {
	var want, got []string
	for _, m := range registry {
		if m.Scope == ScopePersona && m.Needs == NeedsConversation {
			want = append(want, m.Name)
		}
	}
	for _, pm := range conversationMetrics {
		got = append(got, pm.name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("conversation computations %v, registry %v", got, want)
	}
}

func TestTurnOutsideAConversation(t *testing.T) {
	agg := NewAggregator(tinyCatalog(t), handConfig)
	run := runEvent(1, "A")
	if err := agg.Write(&run); err != nil {
		t.Fatal(err)
	}
	ev := turnEvent("A", 0, "p1", say(trajectory.ActInform))
	if err := agg.Write(&ev); err == nil {
		t.Error("a turn in a run without a conversation was accepted")
	}
}

package personas

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/trajectory"
)

var shopFunnel = Engagement{Funnel: []string{"click", "add_to_cart", "purchase"}, BounceBelow: DefaultBounceBelow, Search: true}

func newEngagedModel(tb testing.TB, params config.Params, eng Engagement) *utilityModel {
	tb.Helper()
	return newModelIn(tb, BehaviourEnv{Catalog: tinyCatalog(tb), Seed: 1, Engagement: eng}, params)
}

// tinyPersona has I = (comedy 0.6, drama 0.8), L = (documentary 1),
// ‖I + L‖ = √2 and pickiness 0.5. Item d (drama) has x = (0, 0, 1, 0), so
// aff_true = 0.8/√2 = 0.565685; item a (comedy) 0.6/√2 = 0.424264; item b
// (documentary) 1/√2 = 0.707107. With the defaults f₀ = −2, f₁ = 4, f_k = 1:
//
//	P(advance | d) = σ(−2 + 4·0.565685 − 0.5) = σ(−0.237258) = 0.440962
//	P(advance | a) = σ(−2 + 4·0.424264 − 0.5) = σ(−0.802944) = 0.309396
//	P(advance | b) = σ(−2 + 4·0.707107 − 0.5) = σ(0.328427)  = 0.581377
//
// and with δ = 0 the completion is d₀ + d₁·aff_true = 0.2 + aff_true.
func TestFunnelAndDwellByHand(t *testing.T) {
	m := newEngagedModel(t, config.Params{"dwell_noise": 0.0}, shopFunnel)
	st := mustBuild(t, []Persona{tinyPersona("shopper")}, m.cat, 1)[0]
	tests := []struct {
		item         string
		advance, dwl float64
	}{
		{"d", 0.440962, 0.765685},
		{"a", 0.309396, 0.624264},
		{"b", 0.581377, 0.907107},
	}
	for _, tt := range tests {
		idx, _ := m.cat.Index(tt.item)
		_, _, affT, _ := m.affinities(st, idx)
		if got := m.eng.advanceProb(st, affT); math.Abs(got-tt.advance) > 1e-6 {
			t.Errorf("%s: P(advance) = %.6f, want %.6f", tt.item, got, tt.advance)
		}
		if got := m.eng.dwell(st, 3, idx, affT); math.Abs(got-tt.dwl) > 1e-6 {
			t.Errorf("%s: dwell = %.6f, want %.6f", tt.item, got, tt.dwl)
		}
	}
}

// Over many rounds the stages reached follow P(advance): stage ≥ 2 with
// probability p, stage 3 with p², and no click below the bounce threshold
// goes past the click.
func TestFunnelStagesFollowTheirProbabilities(t *testing.T) {
	m := newEngagedModel(t, nil, shopFunnel)
	st := mustBuild(t, []Persona{tinyPersona("shopper")}, m.cat, 1)[0]
	idx, _ := m.cat.Index("d")
	_, _, affT, _ := m.affinities(st, idx)
	p := m.eng.advanceProb(st, affT)
	const n = 20000
	var second, third, unbounced int
	for round := range n {
		var sh trajectory.Shown
		m.eng.engage(st, round, idx, affT, &sh)
		if sh.Bounced {
			if sh.Stage != 1 {
				t.Fatalf("round %d: a bounce reached stage %d", round, sh.Stage)
			}
			continue
		}
		unbounced++
		if sh.Stage >= 2 {
			second++
		}
		if sh.Stage == 3 {
			third++
		}
	}
	// σ of a share over 20,000 draws is at most 0.0036; allow 4σ.
	if got := float64(second) / float64(unbounced); math.Abs(got-p) > 0.015 {
		t.Errorf("share reaching add_to_cart %.4f, want %.4f", got, p)
	}
	if got := float64(third) / float64(unbounced); math.Abs(got-p*p) > 0.015 {
		t.Errorf("share reaching purchase %.4f, want %.4f", got, p*p)
	}
}

func TestBounceEndsTheFunnelAtTheClick(t *testing.T) {
	m := newEngagedModel(t, config.Params{"dwell_base": -1.0, "dwell_noise": 0.0, "funnel_base": 50.0}, shopFunnel)
	st := mustBuild(t, []Persona{tinyPersona("shopper")}, m.cat, 1)[0]
	var sh trajectory.Shown
	m.eng.engage(st, 0, 3, 0.5, &sh)
	if !sh.Bounced || sh.Stage != 1 || sh.Dwell != 0 {
		t.Errorf("dwell clamp(−1 + 0.5) = 0 is a bounce that stays at the click, got %+v", sh)
	}
	m = newEngagedModel(t, config.Params{"dwell_noise": 0.0, "funnel_base": 50.0}, shopFunnel)
	sh = trajectory.Shown{}
	m.eng.engage(st, 0, 3, 0.5, &sh)
	if sh.Bounced || sh.Stage != 3 || !near(sh.Dwell, 0.7) {
		t.Errorf("σ(50 + …) ≈ 1 goes all the way; dwell 0.2 + 0.5 = 0.7; got %+v", sh)
	}
}

// Without a funnel Decide marks nothing beyond the click and the slate's
// bytes are what they were before funnels existed.
func TestNoFunnelLeavesClicksAsBefore(t *testing.T) {
	off := newEngagedModel(t, nil, Engagement{})
	on := newEngagedModel(t, nil, shopFunnel)
	a := mustBuild(t, []Persona{tinyPersona("x")}, off.cat, 1)[0]
	b := a.Clone()
	clicked := 0
	for round := range 20 {
		sa, sb := slateOf("a", "b", "c", "d"), slateOf("a", "b", "c", "d")
		da, _ := off.Decide(context.Background(), a, round, sa)
		db, _ := on.Decide(context.Background(), b, round, sb)
		for k := range sa {
			if sa[k].Stage != 0 || sa[k].Dwell != 0 || sa[k].Bounced || da.Query != "" {
				t.Fatalf("round %d: funnel fields without a funnel: %+v %q", round, sa[k], da.Query)
			}
			if sa[k].Clicked != sb[k].Clicked || sa[k].Rating != sb[k].Rating {
				t.Fatalf("round %d: the funnel changed clicks or ratings", round)
			}
			if sb[k].Clicked {
				clicked++
				if sb[k].Stage < 1 || sb[k].Dwell < 0 || sb[k].Dwell > 1 {
					t.Fatalf("round %d: bad funnel marks %+v", round, sb[k])
				}
			}
		}
		if da.Utility != db.Utility || da.Exit != db.Exit {
			t.Fatalf("round %d: the funnel changed the decision", round)
		}
	}
	if clicked == 0 {
		t.Fatal("no clicks to check")
	}
}

// P(search | unsatisfied) = min(1, 0.2 + 0.4·curiosity) = 0.4 at curiosity
// 0.5; a slate with an accepted, unbounced item never sends the persona
// searching.
func TestSearchProbabilityAndQuery(t *testing.T) {
	m := newEngagedModel(t, nil, shopFunnel)
	st := mustBuild(t, []Persona{tinyPersona("seeker")}, m.cat, 1)[0]
	if got := m.eng.searchProb(st); !near(got, 0.4) {
		t.Fatalf("searchProb = %v, want 0.4", got)
	}
	const n = 20000
	searched := 0
	for round := range n {
		q := m.eng.search(m.cat, st, round, slateOf("a", "b"))
		if q == "" {
			continue
		}
		searched++
		if q != "comedy" && q != "drama" {
			t.Fatalf("query %q is not a stated interest", q)
		}
	}
	if got := float64(searched) / n; math.Abs(got-0.4) > 0.015 {
		t.Errorf("search share %.4f, want 0.4", got)
	}
	met := slateOf("a")
	met[0].Clicked, met[0].Rating, met[0].Stage, met[0].Dwell = true, 5, 1, 0.9
	for round := range 200 {
		if q := m.eng.search(m.cat, st, round, met); q != "" {
			t.Fatalf("round %d: searched %q after a satisfying slate", round, q)
		}
	}
}

// Interests (comedy 0.6, documentary 0, drama 0.8, slow-burn 0.2), total
// 1.6: u·1.6 below 0.6 picks comedy, below 1.4 drama, else slow-burn.
func TestInterestQueryByHand(t *testing.T) {
	cat := tinyCatalog(t)
	interests := []float64{0.6, 0, 0.8, 0.2}
	for _, tt := range []struct {
		u    float64
		want string
	}{{0, "comedy"}, {0.37, "comedy"}, {0.38, "drama"}, {0.87, "drama"}, {0.88, "slow-burn"}, {0.999, "slow-burn"}} {
		if got := interestQuery(cat, interests, tt.u); got != tt.want {
			t.Errorf("u = %v: %q, want %q", tt.u, got, tt.want)
		}
	}
	if got := interestQuery(cat, []float64{0, 0, 0, 0}, 0.5); got != "" {
		t.Errorf("no interests must give no query, got %q", got)
	}
}

func TestStatedStages(t *testing.T) {
	half, tiny, nan := 0.5, 0.05, math.NaN()
	tests := []struct {
		stage      string
		completion *float64
		want       trajectory.Shown
	}{
		{"purchase", &half, trajectory.Shown{Stage: 3, Dwell: 0.5}},
		{" add_to_cart ", &half, trajectory.Shown{Stage: 2, Dwell: 0.5}},
		{"click", nil, trajectory.Shown{Stage: 1, Dwell: 1}},
		{"teleport", &half, trajectory.Shown{Stage: 1, Dwell: 0.5}},
		{"purchase", &tiny, trajectory.Shown{Stage: 1, Dwell: 0.05, Bounced: true}},
		{"purchase", &nan, trajectory.Shown{Stage: 3, Dwell: 1}},
	}
	for _, tt := range tests {
		var sh trajectory.Shown
		shopFunnel.stated(&sh, tt.stage, tt.completion)
		if sh != tt.want {
			t.Errorf("stage %q: got %+v, want %+v", tt.stage, sh, tt.want)
		}
	}
}

// P(return) = σ(2 + 4·(S − ½) − 1.5·min(1, streak/5)):
//
//	S = 0.5,  streak 0:  σ(2)            = 0.880797
//	S = 0.75, streak 5:  σ(2 + 1 − 1.5)  = σ(1.5)  = 0.817574
//	S = 0,    streak 10: σ(2 − 2 − 1.5)  = σ(−1.5) = 0.182426
//	S = 1,    streak 2:  σ(2 + 2 − 0.6)  = σ(3.4)  = 0.967705
func TestReturnProbabilityByHand(t *testing.T) {
	r := DefaultReturning()
	for _, tt := range []struct {
		s      float64
		streak int
		want   float64
	}{{0.5, 0, 0.880797}, {0.75, 5, 0.817574}, {0, 10, 0.182426}, {1, 2, 0.967705}} {
		if got := r.Probability(tt.s, tt.streak); math.Abs(got-tt.want) > 1e-6 {
			t.Errorf("P(S=%v, streak %d) = %.6f, want %.6f", tt.s, tt.streak, got, tt.want)
		}
	}
}

// S ← (1 − α)·S + α·s with α = ½ from S₀ = ½: a visit with s = 1 gives
// 0.75, then s = 0 gives 0.375; each visit lengthens the streak.
func TestVisitedUpdatesRecentSatisfaction(t *testing.T) {
	r := DefaultReturning()
	st := mustBuild(t, []Persona{tinyPersona("v")}, tinyCatalog(t), 1)[0]
	if !r.Returns(st, 0) || st.Visits.Recent != 0.5 {
		t.Fatalf("the first visit is certain and starts at S₀: %+v", st.Visits)
	}
	r.Visited(st, 0, 1)
	if !near(st.Visits.Recent, 0.75) || st.Visits.Streak != 1 || st.Visits.Last != 0 {
		t.Fatalf("after s = 1: %+v", st.Visits)
	}
	r.Visited(st, 1, 0)
	if !near(st.Visits.Recent, 0.375) || st.Visits.Streak != 2 || st.Visits.Last != 1 {
		t.Fatalf("after s = 0: %+v", st.Visits)
	}
}

// A persona that never wants to return misses ChurnAfter rounds and is then
// marked exited after its last visit; it never comes back.
func TestChurnAfterMissedRounds(t *testing.T) {
	r := DefaultReturning()
	r.Base = -100
	st := mustBuild(t, []Persona{tinyPersona("c")}, tinyCatalog(t), 1)[0]
	if !r.Returns(st, 0) {
		t.Fatal("first visit")
	}
	r.Visited(st, 0, 0.2)
	for round := 1; round <= 3; round++ {
		if r.Returns(st, round) {
			t.Fatalf("round %d: returned with P ≈ 0", round)
		}
	}
	if !st.Exited || st.ExitRound != 0 {
		t.Fatalf("three misses must churn the persona after round 0: exited %v, exit round %d", st.Exited, st.ExitRound)
	}
	if r.Returns(st, 4) {
		t.Fatal("a churned persona came back")
	}
}

// The return draw is keyed by (persona, round) only: two worlds whose
// personas share a key see the same u, so the more satisfied one returns
// whenever the other does (and sometimes alone).
func TestReturnDrawsAreShared(t *testing.T) {
	r := DefaultReturning()
	r.ChurnAfter = 1000
	happy := mustBuild(t, []Persona{tinyPersona("same")}, tinyCatalog(t), 1)[0]
	sad := happy.Clone()
	alone := 0
	for round := 1; round < 400; round++ {
		happy.Visits = Visits{Recent: 1, Last: round - 1, started: true}
		sad.Visits = Visits{Recent: 0, Last: round - 1, started: true}
		h, s := r.Returns(happy, round), r.Returns(sad, round)
		if s && !h {
			t.Fatalf("round %d: the less satisfied persona returned alone", round)
		}
		if h && !s {
			alone++
		}
	}
	// P = σ(4) = 0.982 against σ(0) = 0.5: about 48% of rounds.
	if alone < 120 || alone > 260 {
		t.Errorf("the satisfied persona returned alone in %d of 399 rounds, want about 192", alone)
	}
}

// Whatever a funnel answer says, a click lands at a stage of the funnel with
// a completion in [0, 1], a bounce stays at the click, and nothing but a
// click carries funnel marks.
func FuzzLLMFunnelAnswer(f *testing.F) {
	f.Add(`{"items":[{"item_id":"m1","action":"click","rating":5,"stage":"purchase","completion":0.9,"reason":"a"}],"exit":false,"feedback":"","search":"quiet drama"}`)
	f.Add(`{"items":[{"item_id":"m2","action":"click","rating":2,"stage":"add_to_cart","completion":-4,"reason":""}],"search":"  "}`)
	f.Add(`{"items":[{"item_id":"m3","action":"click","rating":3,"stage":"teleport","completion":1e308}]}`)
	f.Add(`{"items":[{"item_id":"m1","action":"skip","stage":"purchase","completion":1}]}`)
	cat := llmCatalog(f)
	base := llmState(f, cat)
	f.Fuzz(func(t *testing.T, content string) {
		b, err := NewBehaviour(LLMName, BehaviourEnv{Catalog: cat, LLM: answers(content), Dir: t.TempDir(), Engagement: shopFunnel}, nil)
		if err != nil {
			t.Fatal(err)
		}
		sl := shownSlate("m1", "m2", "m3")
		d, err := b.Decide(context.Background(), base.Clone(), 1, sl)
		if err != nil {
			return
		}
		for _, sh := range sl {
			switch {
			case !sh.Clicked && (sh.Stage != 0 || sh.Dwell != 0 || sh.Bounced):
				t.Errorf("funnel marks without a click: %+v", sh)
			case sh.Clicked && (sh.Stage < 1 || sh.Stage > len(shopFunnel.Funnel) || sh.Dwell < 0 || sh.Dwell > 1):
				t.Errorf("bad funnel marks: %+v", sh)
			case sh.Bounced && (sh.Stage != 1 || sh.Dwell >= shopFunnel.BounceBelow):
				t.Errorf("a bounce past the click: %+v", sh)
			}
		}
		if d.Query != strings.TrimSpace(d.Query) {
			t.Errorf("query %q not trimmed", d.Query)
		}
	})
}

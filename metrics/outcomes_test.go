package metrics

import (
	"math"
	"testing"

	"github.com/recloop/recloop/trajectory"
)

func staged(item string, rating float64, stage int, dwell float64, bounced bool) trajectory.Shown {
	sh := clicked(item, rating)
	sh.Stage, sh.Dwell, sh.Bounced = stage, dwell, bounced
	return sh
}

func withQuery(ev trajectory.Event, q string) trajectory.Event {
	ev.Step.Query = q
	return ev
}

// outcomeStream: funnel [click, cart, buy], returning personas, 4 rounds.
//
//	p1 (joins 0): r0 [a → buy, dwell 0.9; b seen]
//	              r1 [c bounced at 0.05; d seen], then searches
//	              r2 absent
//	              r3 [a → cart, 0.5; b click, 0.4]     still there at the end
//	p2 (joins 1): r1 [b click, 0.3; a seen]
//	              r2 [c, d seen], then searches         churned after round 2
func outcomeStream() []trajectory.Event {
	run := runEvent(4, "A")
	run.Run.Funnel = []string{"click", "cart", "buy"}
	run.Run.Returning = true
	return []trajectory.Event{
		run,
		personaEvent("p1", trajectory.Profile{History: []string{"a"}, Interests: taste("x")}),
		personaEvent("p2", trajectory.Profile{History: []string{"d"}, Interests: taste("y"), JoinRound: 1}),
		stepEvent("A", 0, "p1", 1, staged("a", 5, 3, 0.9, false), seen("b")),
		withQuery(stepEvent("A", 1, "p1", 0, staged("c", 2, 1, 0.05, true), seen("d")), "x"),
		stepEvent("A", 1, "p2", 0.25, staged("b", 2, 1, 0.3, false), seen("a")),
		withQuery(stepEvent("A", 2, "p2", 0, seen("c"), seen("d")), "y"),
		stepEvent("A", 3, "p1", 0.5, staged("a", 4, 2, 0.5, false), staged("b", 3, 1, 0.4, false)),
		endEvent("A", "p1", 0, -1, 3),
		endEvent("A", "p2", 0, 2, 2),
		runEndEvent(),
	}
}

func TestOutcomeMetricsByHand(t *testing.T) {
	res := aggregate(t, tinyCatalog(t), handConfig, outcomeStream())
	v := &res.Variants[0]
	tests := []struct {
		name   string
		p1, p2 float64
	}{
		// p1: 6 impressions, a (r0) and a (r3) reached cart; p2: 4 impressions, none.
		{ConversionPrefix + "cart", 2.0 / 6, 0},
		// p1: only a (r0) reached buy.
		{Conversion, 1.0 / 6, 0},
		// p1: (0.9 + 0.05 + 0.5 + 0.4) / 4 clicks; p2: 0.3.
		{MeanDwell, 1.85 / 4, 0.3},
		// p1: 1 bounce of 4 clicks; p2: 0 of 1.
		{BounceRate, 0.25, 0},
		// Default weights click 1, cart 2, buy 8, bounce −1.
		// p1: (8 − 1 + (2 + 1)) / 3 slates; p2: 1 / 2 slates.
		{WeightedOutcome, 10.0 / 3, 0.5},
		// p1: 1 search in 3 slates; p2: 1 in 2.
		{SearchRate, 1.0 / 3, 0.5},
		// p1 never left: rounds − join = 4 − 0; p2 left after round 2: 2 − 1 + 1.
		{RoundsRetained, 4, 2},
		// p1 visited 0, 1, 3: gaps 1, 2; p2 visited 1, 2: gap 1.
		{ReturnGap, 1.5, 1},
	}
	for _, tt := range tests {
		got := headline(t, v, tt.name)
		if want := (tt.p1 + tt.p2) / 2; !approx(float64(got.Value), want) || got.N != 2 {
			t.Errorf("%s = %v (n=%d), want %v (n=2)", tt.name, got.Value, got.N, want)
		}
		if _, ok := res.Definitions[tt.name]; !ok {
			t.Errorf("%s has no definition in the results", tt.name)
		}
	}
	// Retention: round 0 only p1 has joined (1/1); rounds 1–2 both are
	// still there (p2's exit round is 2); round 3 p2 is gone: 1/2.
	want := []float64{1, 1, 1, 0.5}
	for r, x := range v.Rounds[Retention] {
		if !approx(float64(x), want[r]) {
			t.Errorf("retention[%d] = %v, want %v", r, x, want[r])
		}
	}
	for _, s := range v.Segments {
		if len(s.Metrics) != len(personaMetrics)+len(tests) {
			t.Errorf("segment %s has %d metrics, want the %d per-persona ones plus %d outcome metrics", s.Segment, len(s.Metrics), len(personaMetrics), len(tests))
		}
	}
}

// Weights from the scenario: click 1, cart 3, buy 10, bounce −2.
// p1: (10 − 2 + (3 + 1)) / 3 = 4; p2: 1 / 2 → mean 2.25.
func TestWeightedOutcomeUsesConfiguredWeights(t *testing.T) {
	cfg := handConfig
	cfg.OutcomeWeights = map[string]float64{"click": 1, "cart": 3, "buy": 10, BounceWeight: -2}
	res := aggregate(t, tinyCatalog(t), cfg, outcomeStream())
	if got := headline(t, &res.Variants[0], WeightedOutcome); !approx(float64(got.Value), 2.25) {
		t.Errorf("weighted outcome = %v, want 2.25", got.Value)
	}
}

func TestDefaultOutcomeWeights(t *testing.T) {
	w := DefaultOutcomeWeights([]string{"click", "cart", "buy"})
	if w["click"] != 1 || w["cart"] != 2 || w["buy"] != 8 || w[BounceWeight] != -1 || len(w) != 4 {
		t.Errorf("weights %v", w)
	}
	if w := DefaultOutcomeWeights([]string{"play", "complete"}); w["play"] != 1 || w["complete"] != 8 {
		t.Errorf("media weights %v: a completion is worth 8 plays", w)
	}
}

// Without a funnel or returning the results hold exactly the metrics they
// always did.
func TestNoOutcomeMetricsWithoutTheFeatures(t *testing.T) {
	res := aggregate(t, tinyCatalog(t), handConfig, handStream())
	v := &res.Variants[0]
	if len(v.Metrics) != len(headlineOrder) {
		t.Errorf("%d headline metrics, want %d", len(v.Metrics), len(headlineOrder))
	}
	for _, name := range []string{Conversion, BounceRate, WeightedOutcome, RoundsRetained} {
		if _, ok := v.Metric(name); ok {
			t.Errorf("%s reported without the feature", name)
		}
		if _, ok := res.Definitions[name]; ok {
			t.Errorf("%s defined without the feature", name)
		}
	}
	if _, ok := v.Rounds[Retention]; ok {
		t.Error("retention curve without returning")
	}
}

// Two variants sharing personas: rounds retained compares paired, and gates
// read the outcome metrics, a stage's conversion and the final retention.
func TestOutcomeComparisonsAndGates(t *testing.T) {
	events := outcomeStream()
	events[0].Run.Variants = append(events[0].Run.Variants, trajectory.VariantInfo{Name: "B", Recommender: "rec-B"})
	n := len(events)
	// In B both personas leave after their first visit.
	extra := []trajectory.Event{
		stepEvent("B", 0, "p1", 0, seen("a"), seen("b")),
		stepEvent("B", 1, "p2", 0, seen("a"), seen("b")),
		endEvent("B", "p1", 0, 0, 1),
		endEvent("B", "p2", 0, 1, 1),
	}
	events = append(events[:n-1:n-1], append(extra, events[n-1])...)
	cfg := handConfig
	cfg.Baseline = "A"
	res := aggregate(t, tinyCatalog(t), cfg, events)
	var found bool
	for _, c := range res.Comparisons {
		if c.Metric == RoundsRetained && c.Segment == "" && c.Candidate == "B" {
			found = true
			// p1: 1 − 4; p2: 1 − 2 → mean −2.
			if !approx(float64(c.Diff), -2) || c.N != 2 {
				t.Errorf("rounds retained B − A = %v (n=%d), want −2", c.Diff, c.N)
			}
		}
	}
	if !found {
		t.Fatal("no rounds-retained comparison")
	}
	// Log-rank, B against A: B's p1 (1 round, churned) and p2 (1, churned);
	// A's p1 (4, censored) and p2 (2, churned). At t = 1 all four are at
	// risk and both B personas churn: E₁ = 2·2/4 = 1, V = 2·½·½·2/3 = 1/3;
	// at t = 2 only A's two are at risk: n₁ = 0 adds nothing. χ² = 1²/(1/3) = 3.
	if len(res.Survival) != 1 {
		t.Fatalf("survival tests: %+v", res.Survival)
	}
	if s := res.Survival[0]; s.Candidate != "B" || s.CandidateChurned != 2 || s.BaselineChurned != 1 || !approx(float64(s.Expected), 1) || !approx(float64(s.ChiSquare), 3) {
		t.Errorf("survival %+v, want B: 2 churned, 1 expected, χ² 3", s)
	}
	for _, tt := range []struct {
		check string
		want  string
	}{
		{"weighted_outcome[A] >= 1.9", GatePass},
		{"conversion_cart[A] >= 0.2", GateFail},
		{"bounce_rate[A] <= 0.125", GatePass},
		{"retention[A] >= 0.5", GatePass},
		{"retention[B] > 0", GateFail},
		{"rounds_retained[B] - baseline >= 0", GateFail},
	} {
		g, err := ParseGate("", tt.check)
		if err != nil {
			t.Fatal(err)
		}
		if !GateMetricKnown(g.Metric) {
			t.Errorf("%s: metric unknown to gates", tt.check)
		}
		r := *res
		EvaluateGates(&r, []Gate{g}, true)
		if r.Gates[0].Verdict != tt.want {
			t.Errorf("%s: %s (%s), want %s", tt.check, r.Gates[0].Verdict, r.Gates[0].Message, tt.want)
		}
	}
}

func TestBandPlacement(t *testing.T) {
	var ctr Band
	for _, b := range DefaultBands() {
		if b.Metric == CTR {
			ctr = b
		}
	}
	for _, tt := range []struct {
		x    float64
		want string
	}{{0.04, BandBelow}, {0.05, BandWithin}, {0.2, BandWithin}, {0.21, BandAbove}, {math.NaN(), ""}} {
		if got := ctr.Place(tt.x); got != tt.want {
			t.Errorf("CTR %v: %q, want %q", tt.x, got, tt.want)
		}
	}
	latency := *band(noEdge, 200)
	if latency.Place(0) != BandWithin || latency.Place(250) != BandAbove {
		t.Error("an open lower side")
	}
}

// Candidate (1, churned), (2, churned), (3, still there); baseline (2,
// churned), (3, there), (3, there). Event times 1 and 2:
//
//	t = 1: n₁ = 3, n₂ = 3, d = 1 (candidate): E₁ += 1·3/6 = 0.5, V += 1·½·½·5/5 = 0.25
//	t = 2: n₁ = 2, n₂ = 3, d = 2 (one each):  E₁ += 2·2/5 = 0.8, V += 2·(2/5)(3/5)·3/4 = 0.36
//
// O₁ = 2, E₁ = 1.3, V = 0.61: χ² = 0.7² / 0.61 = 0.803279, p = erfc(√(χ²/2)) = 0.370115.
func TestLogRankByHand(t *testing.T) {
	cand := []survivalTime{{1, true}, {2, true}, {3, false}}
	base := []survivalTime{{2, true}, {3, false}, {3, false}}
	o, e, chi2, p := logRank(cand, base)
	if o != 2 || !approx(e, 1.3) || math.Abs(chi2-0.803279) > 1e-6 || math.Abs(p-0.370115) > 1e-6 {
		t.Errorf("O = %d, E = %v, χ² = %v, p = %v; want 2, 1.3, 0.803279, 0.370115", o, e, chi2, p)
	}
	if _, _, chi2, p := logRank([]survivalTime{{3, false}}, []survivalTime{{3, false}}); !math.IsNaN(chi2) || !math.IsNaN(p) {
		t.Errorf("no event must leave the test undefined, got χ² %v p %v", chi2, p)
	}
}

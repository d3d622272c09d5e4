package metrics

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/trajectory"
)

// Hand computations for handStream (see helpers_test.go for the catalog).
//
// Calibration KL, α = 0.01, q̃ = 0.99 q + 0.01 p:
//
//	round 0, both personas: the history has one category (p = 1 on it) and
//	the slate puts half its weight there: q̃ = 0.99·0.5 + 0.01·1 = 0.505,
//	KL = log2(1 / 0.505) = 0.98564…
//	round 1, p1: H = {a, b, d} → p(x) = 2/3, p(y) = 1/3; slate [b, c] → q = ½, ½;
//	  q̃(x) = 0.495 + 0.01·2/3, q̃(y) = 0.495 + 0.01/3,
//	  KL = 2/3·log2((2/3)/q̃(x)) + 1/3·log2((1/3)/q̃(y)) = 0.0801…
//	round 1, p2: H = {d, a, c} → p(y) = 2/3, p(x) = 1/3; slate [b, a] → q(x) = 1;
//	  q̃(y) = 0.01·2/3, q̃(x) = 0.99 + 0.01/3,
//	  KL = 2/3·log2(100) + 1/3·log2((1/3)/q̃(x)) = 3.9041…
var (
	kl0   = math.Log2(1 / 0.505)
	kl1p1 = 2.0/3*math.Log2((2.0/3)/(0.495+0.01*2/3)) + 1.0/3*math.Log2((1.0/3)/(0.495+0.01/3))
	kl1p2 = 2.0/3*math.Log2(100) + 1.0/3*math.Log2((1.0/3)/(0.99+0.01/3))
)

const (
	novA = 1.3219280948873622 // −log2 0.4
	novB = 1.7369655941662063 // −log2 0.3
	novC = 2.321928094887362  // −log2 0.2
	novD = 3.321928094887362  // −log2 0.1
)

func TestHandComputedHeadline(t *testing.T) {
	res := aggregate(t, tinyCatalog(t), handConfig, handStream())
	if len(res.Variants) != 1 {
		t.Fatalf("variants = %d", len(res.Variants))
	}
	v := &res.Variants[0]
	tests := []struct {
		name   string
		p1, p2 float64 // per-persona values; NaN = undefined
		global float64 // for global metrics (p1, p2 unused)
		n      int
	}{
		// p1: 2 clicks / 4 impressions; p2: 3 / 4.
		{name: CTR, p1: 0.5, p2: 0.75},
		// p1 accepted d (5) and c (4): 2/2; p2 accepted only a (4) of a, c, b: 1/3.
		{name: Acceptance, p1: 1, p2: 1.0 / 3},
		// p1: (5+4)/2; p2: (4+3+2)/3.
		{name: MeanRating, p1: 4.5, p2: 3},
		// mean utility over steps with a click: p1 (0.8+0.5)/2, p2 (0.6+0.2)/2.
		{name: Satisfaction, p1: 0.65, p2: 0.4},
		{name: SessionLength, p1: 2, p2: 2},
		{name: ExitRate, p1: 1, p2: 0},
		// p1: d(d,a) = 1, d(b,c) = 1; p2: d(a,c) = 0.5, d(b,a) = 0.5.
		{name: ILD, p1: 1, p2: 0.5},
		// mean −log2 p(i) over the four impressions.
		{name: Novelty, p1: (novD + novA + novB + novC) / 4, p2: (novA + novC + novB + novA) / 4},
		// N = 1. p1 round 0: H = {a,b}, PM = {c}, accepted d ∉ PM → 1/2;
		// round 1: H = {a,b,d}, PM = {c}, accepted c ∈ PM → 0. Mean 0.25.
		// p2 round 0: H = {d}, PM = {a}, accepted a ∈ PM → 0; round 1 nothing accepted.
		{name: Serendipity, p1: 0.25, p2: 0},
		// p1: d → min(d(d,a)=1, d(d,b)=0.5) = 0.5; c → min(0.5, 1, 0.5) = 0.5.
		// p2: a → d(a,d) = 1.
		{name: ContentSerendipity, p1: 0.5, p2: 1},
		// Latent matches on any category or tag; stated and history on categories.
		// p1 (stated x, latent y, history categories {x}): round 0 accepts d (y):
		// a hit; round 1 accepts c (y), but y is in the history by then → 1/2.
		// p2 (stated y, latent x, history categories {y}): a (x) → 1/1.
		{name: TrueSerendipityShare, p1: 0.5, p2: 1},
		{name: CalibrationKL, p1: (kl0 + kl1p1) / 2, p2: (kl0 + kl1p2) / 2},
		// p1 consumes one y item per round: H = 0, 0. p2: round 0 {x, y} → 1 bit,
		// round 1 {x} → 0.
		{name: Entropy, p1: 0, p2: 0.5},
		// two categories: log2 |G| = 1.
		{name: EntropyNormalised, p1: 0, p2: 0.5},
		// slope of (0,0),(1,0) is 0; of (0,1),(1,0) is −1.
		{name: EntropySlope, p1: 0, p2: -1},
		// p1: 1, 1; p2: 0.5, 1.
		{name: TopCategoryShare, p1: 1, p2: 0.75},
		{name: TasteDrift, p1: 0.1, p2: 0.3},
		// every item shown: 4/4.
		{name: Coverage, global: 1, n: 2},
		// exposure a 3, b 2, c 2, d 1 → sorted 1,2,2,3, n = 4, Σ = 8:
		// (−3·1 − 1·2 + 1·2 + 3·3) / (3·8) = 6/24.
		{name: Gini, global: 0.25, n: 2},
		// consumed sets at the end: p1 {d, c}, p2 {a, c, b} → 1 / 4.
		{name: Homogenisation, global: 0.25, n: 2},
		// c (new) fills 2 of 8 slots.
		{name: NewItemExposure, global: 0.25, n: 2},
		{name: RecommenderErrRate, global: 0, n: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := headline(t, v, tt.name)
			want, n := tt.global, tt.n
			if n == 0 {
				want, n = (tt.p1+tt.p2)/2, 2
			}
			if !approx(float64(got.Value), want) || got.N != n {
				t.Errorf("%s = %v (n=%d), want %v (n=%d)", tt.name, got.Value, got.N, want, n)
			}
			if !(got.CILow <= got.Value && got.Value <= got.CIHigh) {
				t.Errorf("%s CI [%v, %v] does not contain %v", tt.name, got.CILow, got.CIHigh, got.Value)
			}
		})
	}
	if got := headlineOrder; !slices.Equal(got, names(v.Metrics)) {
		t.Errorf("headline order %v, want %v", names(v.Metrics), got)
	}
}

func names(vals []Value) []string {
	out := make([]string, len(vals))
	for k, v := range vals {
		out[k] = v.Name
	}
	return out
}

func TestHandComputedRounds(t *testing.T) {
	res := aggregate(t, tinyCatalog(t), handConfig, handStream())
	rounds := res.Variants[0].Rounds
	tests := []struct {
		name string
		want []float64
	}{
		// round 0: p1 1/2, p2 2/2; round 1: 1/2, 1/2.
		{CTR, []float64{0.75, 0.5}},
		{CTRCold, []float64{1, 0.5}},
		{CTRWarm, []float64{0.5, 0.5}},
		// round 0: p1 1/1, p2 1/2; round 1: p1 1/1, p2 0/1.
		{Acceptance, []float64{0.75, 0.5}},
		{ILD, []float64{0.75, 0.75}},
		{Novelty, []float64{((novD+novA)/2 + (novA+novC)/2) / 2, ((novB+novC)/2 + (novB+novA)/2) / 2}},
		{Serendipity, []float64{0.25, 0}},
		{CalibrationKL, []float64{kl0, (kl1p1 + kl1p2) / 2}},
		{Entropy, []float64{0.5, 0}},
		{TopCategoryShare, []float64{0.75, 1}},
		// round 0: p1 {d}, p2 {a, c} → 0/3; round 1: 1/4.
		{Homogenisation, []float64{0, 0.25}},
		// round 0 shows d, a, c.
		{Coverage, []float64{0.75, 1}},
		{NewItemExposure, []float64{0.25, 0.25}},
		{ExitRate, []float64{0, 0.5}},
		{ActivePersonas, []float64{2, 2}},
		// round 0: p1 0.5 (d), p2 1 (a); round 1: p1 0.5 (c), p2 accepted nothing.
		{ContentSerendipity, []float64{0.75, 0.5}},
		// round 0: p1 0/1, p2 1/1; round 1: p1 0/1.
		// round 0: both personas hit (1/1 each); round 1: p1 0/1, p2 undefined.
		{TrueSerendipityShare, []float64{1, 0}},
		{RecommenderErrRate, []float64{0, 0}},
		// round 0: p1 5, p2 (4+3)/2; round 1: p1 4, p2 2.
		{MeanRating, []float64{(5 + 3.5) / 2, (4 + 2) / 2.0}},
		{Satisfaction, []float64{0.7, 0.35}},
		{EntropyNormalised, []float64{0.5, 0}},
	}
	for _, tt := range tests {
		got := rounds[tt.name]
		if len(got) != len(tt.want) {
			t.Errorf("%s: %d rounds, want %d", tt.name, len(got), len(tt.want))
			continue
		}
		for r := range got {
			if !approx(float64(got[r]), tt.want[r]) {
				t.Errorf("%s round %d = %v, want %v", tt.name, r, got[r], tt.want[r])
			}
		}
	}
}

func TestHandComputedColdStartAndSegments(t *testing.T) {
	res := aggregate(t, tinyCatalog(t), handConfig, handStream())
	v := &res.Variants[0]
	cs := v.ColdStart
	// cold = p2 (CTR 0.75, acceptance 1/3), warm = p1 (CTR 0.5, acceptance 1).
	// One persona per cohort, so every resample gives the same ratio.
	if cs.ColdPersonas != 1 || cs.WarmPersonas != 1 {
		t.Errorf("cohorts %d/%d", cs.ColdPersonas, cs.WarmPersonas)
	}
	if !approx(float64(cs.CTRRatio.Value), 1.5) || !approx(float64(cs.CTRRatio.CILow), 1.5) || !approx(float64(cs.CTRRatio.CIHigh), 1.5) {
		t.Errorf("CTR ratio %+v, want 0.75/0.5 = 1.5", cs.CTRRatio)
	}
	if !approx(float64(cs.AcceptanceRatio.Value), 1.0/3) {
		t.Errorf("acceptance ratio %v, want (1/3)/1", cs.AcceptanceRatio.Value)
	}
	// round 0: cold CTR 1 ≥ 0.9 · warm CTR 0.5.
	if cs.RoundsToWarm != 0 {
		t.Errorf("rounds to warm = %d, want 0", cs.RoundsToWarm)
	}
	// c is the only new item: shown twice, clicked twice, first shown in
	// round 0, released in round 0.
	if cs.NewItems != 1 || !approx(float64(cs.NewItemCTR), 1) || !approx(float64(cs.NewItemRoundsToFirstExposure), 0) || cs.NewItemsNeverShown != 0 {
		t.Errorf("new items %+v", cs)
	}

	wantSegments := []struct {
		name     string
		personas int
		ctr      float64
	}{
		{SegmentCold, 1, 0.75},
		{SegmentWarm, 1, 0.5},
		{SegmentLateJoiner, 0, math.NaN()},
		{"fans", 2, 0.625},
		{"vip", 1, 0.5},
	}
	if len(v.Segments) != len(wantSegments) {
		t.Fatalf("segments %+v", v.Segments)
	}
	for k, want := range wantSegments {
		got := v.Segments[k]
		ctr := got.Metrics[slices.IndexFunc(got.Metrics, func(m Value) bool { return m.Name == CTR })]
		if got.Segment != want.name || got.Personas != want.personas || !approx(float64(ctr.Value), want.ctr) {
			t.Errorf("segment %d = %s (%d personas, ctr %v), want %s (%d, %v)", k, got.Segment, got.Personas, ctr.Value, want.name, want.personas, want.ctr)
		}
	}
}

func TestResultsHeader(t *testing.T) {
	res := aggregate(t, tinyCatalog(t), handConfig, handStream())
	if res.Scenario != "tiny" || res.Seed != 42 || res.Rounds != 2 || res.Personas != 2 || res.Items != 4 || res.Partial {
		t.Errorf("header %+v", res)
	}
	if res.Variants[0].Name != "A" || res.Variants[0].Recommender != "rec-A" {
		t.Errorf("variant %s/%s", res.Variants[0].Name, res.Variants[0].Recommender)
	}
	if res.Definitions[Homogenisation] == "" || res.Definitions[CTRCold] == "" {
		t.Error("definitions missing")
	}
}

func TestPartialRunWithoutRunEnd(t *testing.T) {
	events := handStream()
	events = events[:5] // run, personas, round 0 only
	res := aggregate(t, tinyCatalog(t), handConfig, events)
	if !res.Partial || res.Reason == "" {
		t.Fatalf("partial = %v (%q)", res.Partial, res.Reason)
	}
	ctr := res.Variants[0].Rounds[CTR]
	// round 0 as before; round 1 never happened.
	if len(ctr) != 2 || !approx(float64(ctr[0]), 0.75) || ctr[1].Defined() {
		t.Errorf("ctr per round %v", ctr)
	}
	// without persona_end, the session length counts the steps seen.
	if got := headline(t, &res.Variants[0], SessionLength); !approx(float64(got.Value), 1) {
		t.Errorf("session length %v, want 1", got.Value)
	}
}

func TestErrorsAndLatency(t *testing.T) {
	events := []trajectory.Event{runEvent(1, "A")}
	lat := []int64{4000, 1000, 100000, 3000, 2000}
	kinds := []string{"", trajectory.ErrorKindTimeout, trajectory.ErrorKindInvalid, trajectory.ErrorKindError, trajectory.ErrorKindTimeout}
	for k, us := range lat {
		ev := stepEvent("A", 0, string(rune('p'+k)), 0, seen("a"), seen("b"))
		ev.Step.WallLatencyUS = us
		if kinds[k] != "" {
			ev.Step.Slate = nil
			ev.Step.Error = &trajectory.StepError{Kind: kinds[k], Message: "boom " + kinds[k]}
		}
		events = append(events, ev)
	}
	v := aggregate(t, tinyCatalog(t), handConfig, events).Variants[0]
	// 5 calls: 2 timeouts (same message), 1 invalid, 1 error.
	e := v.Errors
	if e.Calls != 5 || e.Errors != 1 || e.Timeouts != 2 || e.Invalid != 1 || !approx(float64(e.Rate), 0.8) {
		t.Errorf("errors %+v", e)
	}
	if want := []string{"boom timeout", "boom invalid", "boom error"}; !slices.Equal(e.Examples, want) {
		t.Errorf("examples %q, want %q", e.Examples, want)
	}
	if got := headline(t, &v, RecommenderErrRate); !approx(float64(got.Value), 0.8) || got.N != 5 {
		t.Errorf("error rate %+v", got)
	}
	// Sorted: 1, 2, 3, 4, 100 ms. Nearest rank: p50 → ⌈2.5⌉ = 3rd = 3 ms;
	// p95 → ⌈4.75⌉ = 5th = 100 ms; p99 → 5th; max 100 ms.
	want := Latency{P50: 3, P95: 100, P99: 100, Max: 100}
	if v.WallLatencyMS != want {
		t.Errorf("latency %+v, want %+v", v.WallLatencyMS, want)
	}
	// the error steps count as active personas but show nothing.
	if got := v.Rounds[ActivePersonas][0]; got != 5 {
		t.Errorf("active = %v, want 5", got)
	}
	if got := headline(t, &v, CTR); got.N != 1 {
		t.Errorf("ctr counted %d personas, want 1", got.N)
	}
}

func TestUnknownItemsAreSkipped(t *testing.T) {
	events := []trajectory.Event{
		runEvent(1, "A"),
		stepEvent("A", 0, "p1", 0, clicked("nope", 5), seen("a")),
	}
	v := aggregate(t, tinyCatalog(t), handConfig, events).Variants[0]
	// only a counts: one impression, no click.
	if got := headline(t, &v, CTR); !approx(float64(got.Value), 0) {
		t.Errorf("ctr %v, want 0", got.Value)
	}
	if got := headline(t, &v, Coverage); !approx(float64(got.Value), 0.25) {
		t.Errorf("coverage %v, want 1/4", got.Value)
	}
}

func TestWriteRejectsBrokenEvents(t *testing.T) {
	tests := []struct {
		name string
		ev   trajectory.Event
		want error
	}{
		{"step without step", trajectory.Event{Kind: trajectory.KindStep}, ErrEvent},
		{"round past the run", stepEvent("A", 2, "p1", 0), ErrEvent},
		{"negative round", stepEvent("A", -1, "p1", 0), ErrEvent},
		{"persona without profile", trajectory.Event{Kind: trajectory.KindPersona, Persona: "p"}, ErrEvent},
		{"duplicate persona", personaEvent("p1", trajectory.Profile{}), ErrEvent},
		{"second run", runEvent(2, "A"), ErrEvent},
		{"unknown kind", trajectory.Event{Kind: "bogus"}, trajectory.ErrSchema},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			agg := NewAggregator(tinyCatalog(t), handConfig)
			for _, ev := range []trajectory.Event{runEvent(2, "A"), personaEvent("p1", trajectory.Profile{})} {
				if err := agg.Write(&ev); err != nil {
					t.Fatal(err)
				}
			}
			if err := agg.Write(&tt.ev); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// The producer reuses its buffers: the aggregator must not keep them.
func TestEventsAreCopied(t *testing.T) {
	cat := tinyCatalog(t)
	want := aggregate(t, cat, handConfig, handStream())
	agg := NewAggregator(cat, handConfig)
	for _, ev := range handStream() {
		if err := agg.Write(&ev); err != nil {
			t.Fatal(err)
		}
		if ev.Profile != nil {
			ev.Profile.History[0] = "c"
			ev.Profile.Segments[0] = "overwritten"
		}
		if ev.Step != nil {
			for k := range ev.Step.Slate {
				ev.Step.Slate[k] = seen("d")
			}
		}
	}
	got := agg.Results()
	if !slices.EqualFunc(got.Variants[0].Metrics, want.Variants[0].Metrics, sameValue) {
		t.Errorf("results changed when the producer reused its buffers")
	}
}

func sameValue(a, b Value) bool {
	return a.Name == b.Name && a.N == b.N && approx(float64(a.Value), float64(b.Value)) &&
		approx(float64(a.CILow), float64(b.CILow)) && approx(float64(a.CIHigh), float64(b.CIHigh))
}

func TestReadResults(t *testing.T) {
	cat := tinyCatalog(t)
	stream := encodeEvents(t, handStream())
	res, err := readResults(cat, handConfig, strings.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	want := aggregate(t, cat, handConfig, handStream())
	if !slices.EqualFunc(res.Variants[0].Metrics, want.Variants[0].Metrics, sameValue) {
		t.Error("decoding differs from Write")
	}

	t.Run("schema", func(t *testing.T) {
		_, err := readResults(cat, handConfig, strings.NewReader(`{"v":2,"kind":"run","run":{}}`))
		if !errors.Is(err, trajectory.ErrSchema) {
			t.Errorf("err = %v, want ErrSchema", err)
		}
	})
	// A run killed mid-write loses its run_end with its last line.
	t.Run("truncated last event is a partial run", func(t *testing.T) {
		res, err := readResults(cat, handConfig, strings.NewReader(stream[:len(stream)-20]))
		if err != nil || !res.Partial || res.Reason != "the event stream has no run_end event" {
			t.Fatalf("err %v, results %+v", err, res)
		}
	})
	// Only the last line can be cut off; a broken line before it is an error.
	t.Run("garbage", func(t *testing.T) {
		if _, err := readResults(cat, handConfig, strings.NewReader("{]\n"+stream)); err == nil {
			t.Error("no error")
		}
	})
}

func TestNewItemsReleasedMidRun(t *testing.T) {
	cat, err := catalog.New([]catalog.Item{
		{ID: "old", Categories: []string{"x"}},
		{ID: "r1", Categories: []string{"x"}, ReleaseRound: 1},
		{ID: "r2", Categories: []string{"y"}, ReleaseRound: 2},
		{ID: "never", Categories: []string{"y"}, ReleaseRound: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	events := []trajectory.Event{
		runEvent(4, "A"),
		stepEvent("A", 0, "p", 0, seen("old")),
		stepEvent("A", 1, "p", 0, seen("old"), seen("old")),
		stepEvent("A", 2, "p", 0, clicked("r1", 4), seen("old")),
		stepEvent("A", 3, "p", 0, seen("r2"), seen("r1")),
	}
	v := aggregate(t, cat, handConfig, events).Variants[0]
	cs := v.ColdStart
	// r1: released 1, first shown 2 → 1 round; r2: released 2, first shown 3 → 1.
	// "never" is never shown. New items: 3 (r1, r2, never).
	// New-item impressions: r1 twice, r2 once; one click (r1) → CTR 1/3.
	if cs.NewItems != 3 || cs.NewItemsNeverShown != 1 || !approx(float64(cs.NewItemRoundsToFirstExposure), 1) || !approx(float64(cs.NewItemCTR), 1.0/3) {
		t.Errorf("cold start %+v", cs)
	}
	// slots per round: 1, 2, 2, 2; new slots: 0, 0, 1, 2.
	want := []float64{0, 0, 0.5, 1}
	for r, w := range want {
		if got := v.Rounds[NewItemExposure][r]; !approx(float64(got), w) {
			t.Errorf("round %d new-item exposure %v, want %v", r, got, w)
		}
	}
	// whole run: 3 new of 7 slots.
	if got := headline(t, &v, NewItemExposure); !approx(float64(got.Value), 3.0/7) {
		t.Errorf("new item exposure %v, want 3/7", got.Value)
	}
	// Coverage per round is cumulative: {old} = 1/4, 1/4, {old, r1} = 2/4, + r2 = 3/4.
	for r, w := range []float64{0.25, 0.25, 0.5, 0.75} {
		if got := v.Rounds[Coverage][r]; !approx(float64(got), w) {
			t.Errorf("round %d coverage %v, want %v", r, got, w)
		}
	}
}

package personas

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/trajectory"
)

func newModel(tb testing.TB, cat *catalog.Catalog, params config.Params) *utilityModel {
	tb.Helper()
	return newModelIn(tb, BehaviourEnv{Catalog: cat, Seed: 1}, params)
}

func newModelIn(tb testing.TB, env BehaviourEnv, params config.Params) *utilityModel {
	tb.Helper()
	spec, _ := LookupBehaviour(UtilityName)
	raw := map[string]any{}
	for k, v := range params {
		raw[k] = v
	}
	resolved, errs := spec.Resolve(nil, "behaviour", raw)
	if len(errs) > 0 {
		tb.Fatal(errs)
	}
	b, err := NewBehaviour(UtilityName, env, resolved)
	if err != nil {
		tb.Fatal(err)
	}
	return b.(*utilityModel)
}

func slateOf(ids ...string) []trajectory.Shown {
	s := make([]trajectory.Shown, len(ids))
	for i, id := range ids {
		s[i].Item = id
	}
	return s
}

// The tiny catalog's features are (comedy, documentary, drama, slow-burn);
// tinyPersona has I = (0.6, 0, 0.8, 0), ‖I‖ = 1, L = (0, 1, 0, 0), traits 0.5,
// and here a history of item c, x_c = (0, 0, 1/√2, 1/√2). Every item is
// equally popular, so pop(i) = ln(1 + 4·¼) / ln(1 + 4·¼) = 1. With σ = 0:
//
//	U = 1·aff_s + 0.6·aff_l + 0.5·0.3·pop + 0.5·0.3·nov   (mainstreamness and curiosity 0.5)
//	a (comedy):      aff_s 0.6, aff_l 0, nov 1 − 0 = 1          → 0.6 + 0.15 + 0.15        = 0.9
//	b (documentary): aff_s 0,   aff_l 1, nov 1                  → 0.6 + 0.15 + 0.15        = 0.9
//	d (drama):       aff_s 0.8, aff_l 0, nov 1 − 1/√2 = 0.29289 → 0.8 + 0.15 + 0.15·0.29289 = 0.99393
//
// Ratings (ρ = 0): round(1.5 + 5·aff_true), aff_true = x·(I + L) / ‖I + L‖, ‖I + L‖ = √2:
//
//	a: 0.6/√2 = 0.42426 → round(3.62) = 4;  b: 1/√2 → round(5.04) = 5;  d: 0.8/√2 → round(4.33) = 4
func TestUtilityByHand(t *testing.T) {
	cat := tinyCatalog(t)
	p := tinyPersona("hand")
	p.History = []string{"c"}
	st := mustBuild(t, []Persona{p}, cat, 1)[0]
	m := newModel(t, cat, config.Params{"noise": 0.0, "rating_noise": 0.0})
	tests := []struct {
		item    string
		utility float64
		rating  float64
	}{
		{"a", 0.9, 4},
		{"b", 0.9, 5},
		{"d", 0.8 + 0.15 + 0.15*(1-1/math.Sqrt2), 4},
	}
	for _, tc := range tests {
		idx, _ := cat.Index(tc.item)
		terms := m.Terms(st, idx)
		if u := m.utility(st, idx, 0, &terms); !near(u, tc.utility) {
			t.Errorf("U(%s) = %.5f, want %.5f", tc.item, u, tc.utility)
		}
		if r := m.rating(st, idx, 0, &terms); r != tc.rating {
			t.Errorf("rating(%s) = %g, want %g", tc.item, r, tc.rating)
		}
	}

	// τ = 0.8 + 0.3·0.5 = 0.95: of a, b, d only d (0.99393) is clicked.
	// examine_base 10 makes P(examine) = min(1, 10.5·k^−0.8) = 1 for k ≤ 3.
	m = newModel(t, cat, config.Params{"noise": 0.0, "rating_noise": 0.0, "threshold": 0.8, "examine_base": 10.0})
	slate := slateOf("a", "b", "d")
	d, err := m.Decide(context.Background(), st, 0, slate)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{false, false, true} {
		if !slate[i].Examined || slate[i].Clicked != want {
			t.Errorf("rank %d: %+v, want examined and clicked=%v", i+1, slate[i], want)
		}
	}
	// One item rated 4: realised utility (4 − 1)/4 = 0.75.
	if slate[2].Rating != 4 || d.Utility != 0.75 || d.Exit {
		t.Errorf("decision %+v, rating %g; want utility 0.75, rating 4", d, slate[2].Rating)
	}
	if last := st.History[len(st.History)-1]; last.Item != 3 || last.Round != 0 || last.Rating != 4 {
		t.Errorf("history tail = %+v", last)
	}
}

// Shares (0.5, 0.25, 0.25) over n = 3: n·p = (1.5, 0.75, 0.75), so
// pop = (ln 2.5, ln 1.75, ln 1.75) / ln 2.5 = (1, 0.61074, 0.61074).
func TestPopularityScaleByHand(t *testing.T) {
	cat, err := catalog.New([]catalog.Item{{ID: "x", Popularity: 2}, {ID: "y", Popularity: 1}, {ID: "z", Popularity: 1}})
	if err != nil {
		t.Fatal(err)
	}
	pop := popularityScale(cat)
	want := []float64{1, math.Log(1.75) / math.Log(2.5), math.Log(1.75) / math.Log(2.5)}
	for i := range want {
		if !near(pop[i], want[i]) || !near(want[1], 0.61074) && math.Abs(want[1]-0.61074) > 1e-5 {
			t.Errorf("pop = %v, want %v", pop, want)
		}
	}
}

func TestExaminationFallsWithRank(t *testing.T) {
	cat := vocabCatalog(t, 200)
	m := newModel(t, cat, config.Params{"threshold": 100.0, "patience": 1e9})
	ps := mustLibrary(t)
	states := mustBuild(t, ps, cat, 1)
	// P(examine rank 2) for activity 0.5 = (0.5 + 1·0.5)·2^−0.8 = 0.57435.
	if p := m.examineProb(states[0], 2); states[0].traits.Activity == 0.5 && !near(p, math.Pow(2, -0.8)) {
		t.Errorf("P(examine rank 2) = %g", p)
	}
	const k = 10
	ids := make([]string, k)
	for i := range ids {
		ids[i] = cat.Item(i).ID
	}
	for _, st := range states {
		for rank := 2; rank <= k; rank++ {
			if m.examineProb(st, rank) > m.examineProb(st, rank-1) {
				t.Errorf("%s: P(examine) rises from rank %d to %d", st.Persona.ID, rank-1, rank)
			}
		}
		examined := make([]int, k)
		for round := range 4000 {
			slate := slateOf(ids...)
			if _, err := m.Decide(context.Background(), st, round, slate); err != nil {
				t.Fatal(err)
			}
			for i := range slate {
				if slate[i].Examined {
					examined[i]++
				}
			}
		}
		for rank := 1; rank <= k; rank++ {
			want := 4000 * m.examineProb(st, rank)
			if math.Abs(float64(examined[rank-1])-want) > 4*math.Sqrt(want+1) {
				t.Errorf("%s rank %d: examined %d times, expected about %.0f", st.Persona.ID, rank, examined[rank-1], want)
			}
		}
	}
	lazy, busy := *states[0], *states[0]
	lazy.traits.Activity, busy.traits.Activity = 0.1, 0.9
	if m.examineProb(&lazy, 5) >= m.examineProb(&busy, 5) {
		t.Error("activity does not raise examination")
	}
}

func TestPickierPersonasClickLess(t *testing.T) {
	cat := vocabCatalog(t, 1000)
	m := newModel(t, cat, config.Params{"max_clicks": 10, "examine_base": 10.0})
	lib := mustLibrary(t)
	pop, err := Expand([]Population{{Archetype: "thrill-seeker", Count: 300, Jitter: ptr(0.0)}}, lib, 1)
	if err != nil {
		t.Fatal(err)
	}
	clicks := map[float64]int{}
	for _, pickiness := range []float64{0.2, 0.8} {
		for i := range pop {
			pop[i].Traits.Pickiness = pickiness
		}
		for i, st := range mustBuild(t, pop, cat, 1) {
			ids := make([]string, 10)
			for k := range ids {
				ids[k] = cat.Item((i*37 + k*101) % cat.Len()).ID
			}
			slate := slateOf(ids...)
			if _, err := m.Decide(context.Background(), st, 0, slate); err != nil {
				t.Fatal(err)
			}
			for _, sh := range slate {
				if sh.Clicked {
					clicks[pickiness]++
				}
			}
		}
	}
	if clicks[0.8] >= clicks[0.2] || clicks[0.8] == 0 {
		t.Errorf("clicks: pickiness 0.2 → %d, 0.8 → %d; want fewer (but some) for the pickier", clicks[0.2], clicks[0.8])
	}
}

// Drift with λ = 0.05 from I = (0.6, 0, 0.8, 0), ‖I‖ = 1, consuming a with
// x_a = (1, 0, 0, 0):
//
//	accepted (g = 1, λg = 0.05):       I' = 0.95·I + 0.05·1·x_a  = (0.62, 0, 0.76, 0)
//	disliked (g = −0.5, λg = −0.025):  I' = 1.025·I − 0.025·1·x_a = (0.59, 0, 0.82, 0)
func TestDriftByHand(t *testing.T) {
	cat := tinyCatalog(t)
	base := config.Params{"noise": 0.0, "rating_noise": 0.0, "threshold": -10.0, "examine_base": 10.0}
	tests := []struct {
		name   string
		params config.Params
		rating float64
		want   []float64
	}{
		{"accepted pulls", config.Params{}, 4, []float64{0.62, 0, 0.76, 0}},
		{"disliked pushes", config.Params{"rating_offset": -10.0}, 1, []float64{0.59, 0, 0.82, 0}},
		{"off", config.Params{"drift": 0.0}, 4, []float64{0.6, 0, 0.8, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			params := config.Params{}
			for k, v := range base {
				params[k] = v
			}
			for k, v := range tc.params {
				params[k] = v
			}
			m := newModel(t, cat, params)
			st := mustBuild(t, []Persona{tinyPersona("drifter")}, cat, 1)[0]
			slate := slateOf("a")
			if _, err := m.Decide(context.Background(), st, 0, slate); err != nil {
				t.Fatal(err)
			}
			if !slate[0].Clicked || slate[0].Rating != tc.rating {
				t.Fatalf("slot = %+v, want clicked with rating %g", slate[0], tc.rating)
			}
			for f := range tc.want {
				if !near(st.Interests[f], tc.want[f]) {
					t.Fatalf("interests = %v, want %v", st.Interests, tc.want)
				}
			}
			if !near(st.Initial[0], 0.6) {
				t.Error("drift changed the initial taste")
			}
		})
	}
}

func TestExitWhenPatienceRunsOut(t *testing.T) {
	cat := tinyCatalog(t)
	// patience 2 at activity 0.5: P₀ = 2·(0.5 + 0.5) = 2. Good slates use a
	// rating offset of 10, so every click is rated 5 (accepted).
	m := newModel(t, cat, config.Params{"patience": 2.0, "threshold": -10.0, "examine_base": 10.0, "rating_offset": 10.0})
	st := mustBuild(t, []Persona{tinyPersona("impatient")}, cat, 1)[0]
	steps := []struct {
		slate    []trajectory.Shown
		patience float64
		exit     bool
	}{
		{nil, 1, false},                // unsatisfying: 2 − 1
		{slateOf("a"), 2, false},       // accepted: min(2, 1 + 1)
		{slateOf("unknown"), 1, false}, // nothing the persona can use
		{slateOf("a"), 0, true},        // a is consumed already: unsatisfying, patience 0, exit
	}
	for round, s := range steps {
		d, err := m.Decide(context.Background(), st, round, s.slate)
		if err != nil {
			t.Fatal(err)
		}
		if st.Patience != s.patience || d.Exit != s.exit || st.Exited != s.exit {
			t.Fatalf("round %d: patience %g exit %v, want %g %v", round, st.Patience, d.Exit, s.patience, s.exit)
		}
	}
	if st.ExitRound != 3 || st.SlatesViewed != 4 || st.Active(4) {
		t.Errorf("exit round %d, slates %d", st.ExitRound, st.SlatesViewed)
	}
	slate := slateOf("b")
	if d, _ := m.Decide(context.Background(), st, 4, slate); d.Exit || slate[0].Examined || st.SlatesViewed != 4 {
		t.Error("an exited persona kept deciding")
	}
}

func TestUnknownAndConsumedItemsAreNeverClicked(t *testing.T) {
	cat := tinyCatalog(t)
	m := newModel(t, cat, config.Params{"threshold": -10.0, "examine_base": 10.0})
	p := tinyPersona("x")
	p.History = []string{"a"}
	st := mustBuild(t, []Persona{p}, cat, 1)[0]
	slate := slateOf("zzz", "a", "b")
	if _, err := m.Decide(context.Background(), st, 0, slate); err != nil {
		t.Fatal(err)
	}
	if slate[0].Examined || slate[0].Clicked || slate[1].Clicked || !slate[2].Clicked {
		t.Errorf("slate = %+v; want unknown skipped, a (consumed) not clicked, b clicked", slate)
	}
}

// Common random numbers: two clones of a persona shown slates that differ
// at ranks 2 and 4 make identical decisions at ranks 1, 3 and 5, as long as
// the click cap does not bind. Each round starts both clones from the same
// state (as two variants' worlds would be if they had agreed so far).
func TestCommonRandomNumbersAcrossVariants(t *testing.T) {
	cat := vocabCatalog(t, 2000)
	m := newModel(t, cat, config.Params{"max_clicks": 10, "threshold": 0.2, "patience": 1e9})
	states := mustBuild(t, mustLibrary(t), cat, 9)
	clicked := 0
	for _, st := range states {
		for round := range 20 {
			item := func(k int) string { return cat.Item((round*131 + k*17 + st.Index*7) % cat.Len()).ID }
			sa := slateOf(item(0), item(1), item(2), item(3), item(4))
			sb := slateOf(item(0), item(501), item(2), item(503), item(4))
			a, b := st.Clone(), st.Clone()
			_, errA := m.Decide(context.Background(), a, round, sa)
			_, errB := m.Decide(context.Background(), b, round, sb)
			if errA != nil || errB != nil {
				t.Fatal(errA, errB)
			}
			for _, k := range []int{0, 2, 4} {
				if sa[k] != sb[k] {
					t.Fatalf("%s round %d rank %d: %+v vs %+v", st.Persona.ID, round, k+1, sa[k], sb[k])
				}
				if sa[k].Clicked {
					clicked++
				}
			}
			st = a
		}
	}
	if clicked < 20 {
		t.Fatalf("only %d clicks at the shared ranks: the comparison proves little", clicked)
	}
}

func TestDecideDoesNotAllocate(t *testing.T) {
	cat := vocabCatalog(t, 2000)
	m := newModel(t, cat, config.Params{"patience": 1e9})
	st := mustBuild(t, mustLibrary(t), cat, 1)[0]
	st.History = make([]Consumed, len(st.History), 100000)
	slate := make([]trajectory.Shown, 10)
	round := 0
	allocs := testing.AllocsPerRun(200, func() {
		for k := range slate {
			slate[k] = trajectory.Shown{Item: cat.Item((round*10 + k) % cat.Len()).ID}
		}
		if _, err := m.Decide(context.Background(), st, round, slate); err != nil {
			t.Fatal(err)
		}
		round++
	})
	if allocs != 0 {
		t.Errorf("Decide allocates %.1f times per slate", allocs)
	}
	if len(st.History) == 0 {
		t.Error("nothing was consumed")
	}
}

func TestUtilitySpecAndRegistry(t *testing.T) {
	spec, ok := LookupBehaviour(UtilityName)
	if !ok {
		t.Fatal("utility is not registered")
	}
	if _, errs := spec.Resolve(nil, "", nil); len(errs) > 0 {
		t.Fatalf("defaults do not validate: %v", errs)
	}
	for _, p := range spec.Params {
		if p.Doc == "" {
			t.Errorf("%s has no doc", p.Name)
		}
	}
	if d := spec.Defaults(); d["drift"] != 0.05 {
		t.Errorf("drift default %v, want 0.05 (on by default)", d["drift"])
	}
	found := false
	for _, n := range BehaviourNames() {
		found = found || n == UtilityName
	}
	if !found {
		t.Error("BehaviourNames misses utility")
	}
	if _, err := NewBehaviour("psychic", BehaviourEnv{Catalog: tinyCatalog(t), Seed: 1}, nil); !errors.Is(err, ErrUnknownBehaviour) {
		t.Errorf("unknown behaviour: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("registering utility twice did not panic")
		}
	}()
	RegisterBehaviour(spec, newUtility)
}

// benchWorld is a synthetic catalog and every library archetype expanded
// into perArchetype members.
func benchWorld(b *testing.B, items, perArchetype int) (*catalog.Catalog, []Persona) {
	cat, err := catalog.Synthetic(catalog.SyntheticConfig{Items: items, Seed: 1}.WithDefaults())
	if err != nil {
		b.Fatal(err)
	}
	lib := mustLibrary(b)
	pops := make([]Population, len(lib))
	for i, a := range lib {
		pops[i] = Population{Archetype: a.ID, Count: perArchetype}
	}
	ps, err := Expand(pops, lib, 1)
	if err != nil {
		b.Fatal(err)
	}
	return cat, ps
}

// BenchmarkDecide is the hot path: 1,000 personas shown slates of 10 on a
// 10,000-item catalog.
func BenchmarkDecide(b *testing.B) {
	cat, ps := benchWorld(b, 10000, 100)
	states := mustBuild(b, ps, cat, 1)
	m := newModel(b, cat, config.Params{"patience": 1e9})
	const k = 10
	slate := make([]trajectory.Shown, k)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		st := states[i%len(states)]
		round := i / len(states)
		for r := range slate {
			slate[r] = trajectory.Shown{Item: cat.Item((i*k + r*977) % cat.Len()).ID}
		}
		if _, err := m.Decide(context.Background(), st, round, slate); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*k), "ns/impression")
}

// BenchmarkBuild builds 10,000 personas with drawn seed histories on a
// 10,000-item catalog.
func BenchmarkBuild(b *testing.B) {
	cat, ps := benchWorld(b, 10000, 1000)
	for b.Loop() {
		if _, err := Build(ps, cat, 1); err != nil {
			b.Fatal(err)
		}
	}
}

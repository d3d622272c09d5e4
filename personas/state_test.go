package personas

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/recloop/recloop/catalog"
)

func TestBuildDrawsSeedHistoryDeterministically(t *testing.T) {
	cat := vocabCatalog(t, 3000)
	lib := mustLibrary(t)
	a := mustBuild(t, lib, cat, 11)
	b := mustBuild(t, lib, cat, 11)
	c := mustBuild(t, lib, cat, 12)
	differs := false
	for i, st := range a {
		p := st.Persona
		if len(st.History) != p.HistorySize {
			t.Errorf("%s: %d seed items, want %d", p.ID, len(st.History), p.HistorySize)
		}
		if !reflect.DeepEqual(st.History, b[i].History) {
			t.Errorf("%s: same seed, different history", p.ID)
		}
		if !reflect.DeepEqual(st.History, c[i].History) {
			differs = true
		}
		seen := map[int32]bool{}
		matching := 0
		for _, h := range st.History {
			if seen[h.Item] || h.Round != -1 || !st.HasConsumed(int(h.Item)) {
				t.Errorf("%s: bad seed item %+v", p.ID, h)
			}
			seen[h.Item] = true
			if cat.Features(int(h.Item)).Dot(st.Interests) > 0 {
				matching++
			}
		}
		// Draws are weighted by affinity × popularity, so every item shares
		// a feature with the stated interests (the vocabulary catalog has
		// hundreds of such items for every archetype).
		if matching != len(st.History) {
			t.Errorf("%s: %d of %d seed items share nothing with the stated interests", p.ID, len(st.History)-matching, len(st.History))
		}
	}
	if !differs {
		t.Error("a different seed drew the same histories")
	}
}

func TestBuildSeedHistoryFollowsPopularity(t *testing.T) {
	// Ten comedies whose popularity halves down the list. With n = 1 the draw
	// picks item i with probability p(i)·aff / Σ = 2^−i / (2 − 2^−9): item 0
	// about half the time, item 9 about 1 in 1000.
	var items []catalog.Item
	for i := range 10 {
		items = append(items, catalog.Item{ID: string(rune('a' + i)), Categories: []string{"comedy"}, Popularity: float64(int(1) << (9 - i))})
	}
	items = append(items, catalog.Item{ID: "z", Categories: []string{"drama"}, Popularity: 1e6})
	cat, err := catalog.New(items)
	if err != nil {
		t.Fatal(err)
	}
	var ps []Persona
	for i := range 2000 {
		p := tinyPersona(fmt.Sprintf("p%04d", i))
		p.Interests = catalog.Taste{Categories: map[string]float64{"comedy": 1}}
		p.LatentInterests = catalog.Taste{}
		p.HistorySize = 1
		ps = append(ps, p)
	}
	counts := make([]int, cat.Len())
	for _, st := range mustBuild(t, ps, cat, 3) {
		counts[st.History[0].Item]++
	}
	if counts[10] != 0 {
		t.Errorf("drama item drawn %d times for comedy-only personas", counts[10])
	}
	if counts[0] < 900 || counts[0] > 1100 || counts[1] < 400 || counts[1] > 600 {
		t.Errorf("counts = %v, want about 1000 and 500 for the two most popular comedies", counts)
	}
}

// Interests comedy 1 and drama 1 (‖I‖ = √2) on the tiny catalog, equal
// popularity: aff(a) = 1/√2, aff(d) = 1/√2, aff(c) = (1/√2)/√2 = 0.5,
// aff(b) = 0. One draw picks a or d with probability 0.70711/1.91421 = 0.3694
// each and c with 0.5/1.91421 = 0.2612.
func TestBuildSeedDrawMixesFeatures(t *testing.T) {
	cat := tinyCatalog(t)
	const n = 3000
	var ps []Persona
	for i := range n {
		p := tinyPersona(fmt.Sprintf("p%04d", i))
		p.Interests = catalog.Taste{Categories: map[string]float64{"comedy": 1, "drama": 1}}
		p.HistorySize = 1
		ps = append(ps, p)
	}
	counts := make([]float64, cat.Len())
	for _, st := range mustBuild(t, ps, cat, 4) {
		counts[st.History[0].Item]++
	}
	want := []float64{0.3694, 0, 0.2612, 0.3694}
	for i, w := range want {
		// 4 standard errors: √(0.37·0.63/3000) ≈ 0.0088
		if got := counts[i] / n; math.Abs(got-w) > 0.036 {
			t.Errorf("item %s drawn with frequency %.4f, want %.4f", cat.Item(i).ID, got, w)
		}
	}
}

func TestBuildFallsBackToPopularityAndRejectsUnknownItems(t *testing.T) {
	cat := tinyCatalog(t)
	p := tinyPersona("only-comedy")
	p.Interests = catalog.Taste{Categories: map[string]float64{"comedy": 1}}
	p.HistorySize = 3 // only item a has comedy
	st := mustBuild(t, []Persona{p}, cat, 1)[0]
	if len(st.History) != 3 || st.History[0].Item != 0 {
		t.Errorf("history = %+v, want a first, then two more by popularity", st.History)
	}
	p.HistorySize, p.History = 0, []string{"a", "nope"}
	if _, err := Build([]Persona{p}, cat, 1); err == nil {
		t.Error("Build accepted an unknown history item")
	}
}

func TestBuildExplicitHistoryAndKeys(t *testing.T) {
	cat := tinyCatalog(t)
	p := tinyPersona("x")
	p.History = []string{"c", "a"}
	st := mustBuild(t, []Persona{tinyPersona("w"), p}, cat, 5)[1]
	want := []Consumed{{Item: 2, Round: -1}, {Item: 0, Round: -1}}
	if !reflect.DeepEqual(st.History, want) || st.Index != 1 || st.ExitRound != -1 {
		t.Errorf("state = %+v", st)
	}
	again := mustBuild(t, []Persona{p}, cat, 5)[0]
	if again.Key != st.Key {
		t.Error("the key depends on the persona's position, not only on (seed, id)")
	}
	// centroid = x_c + x_a = (comedy 1, drama 1/√2, slow-burn 1/√2); ‖·‖² = 1 + ½ + ½ = 2
	if !near(st.centroidNorm*st.centroidNorm, 2) {
		t.Errorf("centroid norm² = %g, want 2", st.centroidNorm*st.centroidNorm)
	}
}

func TestCloneIsIndependent(t *testing.T) {
	cat := tinyCatalog(t)
	p := tinyPersona("x")
	p.History = []string{"a"}
	orig := mustBuild(t, []Persona{p}, cat, 1)[0]
	snapshot := *orig
	snapshot.Interests = slices.Clone(orig.Interests)
	snapshot.History = slices.Clone(orig.History)
	snapshot.consumed = slices.Clone(orig.consumed)
	snapshot.centroid = slices.Clone(orig.centroid)

	c := orig.Clone()
	c.Interests[0] = 42
	c.record(3, 0, 5)
	c.addToCentroid(cat, 3)
	c.Exited, c.SlatesViewed = true, 9
	if !reflect.DeepEqual(*orig, snapshot) {
		t.Fatalf("changing the clone changed the original:\n%+v\n%+v", *orig, snapshot)
	}
	if orig.HasConsumed(3) || !c.HasConsumed(3) {
		t.Error("consumed sets are shared")
	}
}

func TestActive(t *testing.T) {
	cat := tinyCatalog(t)
	p := tinyPersona("late")
	p.JoinRound = 2
	st := mustBuild(t, []Persona{p}, cat, 1)[0]
	for round, want := range []bool{false, false, true, true} {
		if got := st.Active(round); got != want {
			t.Errorf("Active(%d) = %v, want %v", round, got, want)
		}
	}
	st.Exited = true
	if st.Active(3) {
		t.Error("an exited persona is active")
	}
}

func TestProfileAndEnd(t *testing.T) {
	cat := tinyCatalog(t)
	p := tinyPersona("x")
	p.Name, p.Archetype, p.Segments = "Xi", "arch", []string{"s"}
	p.Interests.Categories = map[string]float64{"Comedy": 0.123456, "drama": 0.8}
	p.History = []string{"b"}
	p.RatingBias = -0.25
	st := mustBuild(t, []Persona{p}, cat, 1)[0]
	st.record(3, 0, 4) // consumed in round 0: not part of the profile
	prof := st.Profile(cat)
	if !reflect.DeepEqual(prof.History, []string{"b"}) || prof.Name != "Xi" || prof.Archetype != "arch" || prof.RatingBias != -0.25 {
		t.Errorf("profile = %+v", prof)
	}
	wantInterests := catalog.Taste{Categories: map[string]float64{"comedy": 0.1235, "drama": 0.8}}
	if !reflect.DeepEqual(prof.Interests, wantInterests) {
		t.Errorf("interests = %+v, want %+v", prof.Interests, wantInterests)
	}
	if prof.Traits["pickiness"] != 0.5 || prof.Traits["mainstreamness"] != 0.5 || len(prof.Traits) != 5 {
		t.Errorf("traits = %v", prof.Traits)
	}

	// Rotate the taste from (0.6, 0.8) on (comedy, drama) to (0.8, 0.6):
	// cos = 0.6·0.8 + 0.8·0.6 = 0.96, drift = 0.04.
	st.Initial = []float64{0.6, 0, 0.8, 0}
	st.Interests = []float64{0.8, 0, 0.6, 0}
	st.ExitRound, st.SlatesViewed = 3, 4
	end := st.End(cat)
	if !near(end.TasteDrift, 0.04) || end.ExitRound != 3 || end.SlatesViewed != 4 {
		t.Errorf("end = %+v, want drift 0.04, exit 3, 4 slates", end)
	}
	if end.Interests.Categories["comedy"] != 0.8 {
		t.Errorf("end interests = %+v", end.Interests)
	}
}

func TestReplicate(t *testing.T) {
	cat := tinyCatalog(t)
	ps, errs := Parse("r.yaml", []byte("personas:\n  - id: ada\n    interests: {categories: {drama: 1}}\n  - id: bo\n    interests: {categories: {drama: 1}}\n"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	states, err := Build(ps, cat, 9)
	if err != nil {
		t.Fatal(err)
	}
	if got := Replicate(states, 1, 9); len(got) != 2 {
		t.Fatalf("replicates 1 changed the population: %d", len(got))
	}
	got := Replicate(states, 3, 9)
	wantIDs := []string{"ada", "ada~r1", "ada~r2", "bo", "bo~r1", "bo~r2"}
	for i, st := range got {
		if st.Persona.ID != wantIDs[i] || st.Index != i {
			t.Fatalf("state %d: id %s index %d", i, st.Persona.ID, st.Index)
		}
	}
	if got[1].Persona.Replicate != 1 || got[1].Persona.ReplicateOf != "ada" || got[0].Persona.Replicate != 0 {
		t.Errorf("replicate marks: %+v", got[1].Persona)
	}
	if got[1].Key == got[0].Key {
		t.Error("a replicate shares its original's random draws")
	}
	if got[1].Profile(cat).ReplicateOf != "ada" {
		t.Error("the profile does not name the original")
	}
	got[1].Interests[0] += 1
	if got[0].Interests[0] == got[1].Interests[0] {
		t.Error("replicates share state")
	}
}

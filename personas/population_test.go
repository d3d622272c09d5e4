package personas

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/recloop/recloop/config"
)

func ptr[T any](v T) *T { return &v }

func mustLibrary(tb testing.TB) []Persona {
	tb.Helper()
	lib, err := Library()
	if err != nil {
		tb.Fatal(err)
	}
	return lib
}

// archetype is the built-in archetype id from lib.
func archetype(tb testing.TB, lib []Persona, id string) Persona {
	tb.Helper()
	i := slices.IndexFunc(lib, func(p Persona) bool { return p.ID == id })
	if i < 0 {
		tb.Fatalf("no archetype %q", id)
	}
	return lib[i]
}

func TestExpandIsDeterministicAndKeyedByMember(t *testing.T) {
	lib := mustLibrary(t)
	pops := []Population{
		{Archetype: "cinephile", Count: 3},
		{Archetype: "horror-buff", Count: 2, HistorySize: ptr(0), JoinRound: 4, Segments: []string{"cold", "enthusiast"}, IDPrefix: "new-horror"},
	}
	a, err := Expand(pops, lib, 7)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Expand(pops, lib, 7)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different populations")
	}
	ids := make([]string, len(a))
	for i, p := range a {
		ids[i] = p.ID
	}
	wantIDs := []string{"cinephile-0001", "cinephile-0002", "cinephile-0003", "new-horror-0001", "new-horror-0002"}
	if !reflect.DeepEqual(ids, wantIDs) {
		t.Fatalf("ids = %v, want %v", ids, wantIDs)
	}
	cold := a[3]
	if cold.Archetype != "horror-buff" || cold.HistorySize != 0 || cold.JoinRound != 4 ||
		!reflect.DeepEqual(cold.Segments, []string{"enthusiast", "cold"}) {
		t.Errorf("cold member = %+v", cold)
	}
	if a[0].Traits == a[1].Traits {
		t.Error("two members got identical jitter")
	}
	// A member's jitter depends on (seed, member id) only: dropping the other
	// population leaves it unchanged, a different seed changes it.
	alone, _ := Expand(pops[:1], lib, 7)
	if !reflect.DeepEqual(alone[1], a[1]) {
		t.Error("member changed when another population was removed")
	}
	other, _ := Expand(pops[:1], lib, 8)
	if other[1].Traits == a[1].Traits {
		t.Error("different seed gave the same jitter")
	}
}

func TestExpandJitterStaysInBounds(t *testing.T) {
	lib := mustLibrary(t)
	arch := archetype(t, lib, "niche-explorer") // conformity 0.05 and curiosity 0.95 sit near the clamps
	const jitter = 0.3
	ms, err := Expand([]Population{{Archetype: arch.ID, Count: 500, Jitter: ptr(jitter)}}, lib, 1)
	if err != nil {
		t.Fatal(err)
	}
	clampedLow := 0
	for _, m := range ms {
		got, base := m.Traits.ptrs(), arch.Traits.ptrs()
		for k := range got {
			v, b := *got[k], *base[k]
			if v < 0 || v > 1 || v < b-jitter-1e-12 || v > b+jitter+1e-12 {
				t.Fatalf("%s: %s = %g, outside [%g ± %g] ∩ [0,1]", m.ID, TraitNames[k], v, b, jitter)
			}
		}
		if m.Traits.Conformity == 0 {
			clampedLow++
		}
		for name, w := range m.Interests.Categories {
			b := arch.Interests.Categories[name]
			if w < b*(1-jitter)-1e-12 || w > b*(1+jitter)+1e-12 {
				t.Fatalf("%s: weight %s = %g outside %g × (1 ± %g)", m.ID, name, w, b, jitter)
			}
		}
	}
	// conformity 0.05 − U(0, 0.3) drops below 0 for 5/6 × 1/2 of draws ≈ 42%.
	if clampedLow < 150 || clampedLow > 270 {
		t.Errorf("%d of 500 members clamped to conformity 0, want about 208", clampedLow)
	}
}

func TestExpandZeroJitterCopiesTheArchetype(t *testing.T) {
	lib := mustLibrary(t)
	ms, err := Expand([]Population{{Archetype: "romantic", Count: 1, Jitter: ptr(0.0)}}, lib, 1)
	if err != nil {
		t.Fatal(err)
	}
	arch := archetype(t, mustLibrary(t), "romantic")
	if !reflect.DeepEqual(ms[0].Interests, arch.Interests) || ms[0].Traits != arch.Traits {
		t.Error("zero jitter changed the member")
	}
}

func TestExpandErrors(t *testing.T) {
	lib := mustLibrary(t)
	_, err := Expand([]Population{
		{Archetype: "cinephil", Count: 0},
		{Archetype: "romantic", Count: 2, Jitter: ptr(1.5), HistorySize: ptr(-1), JoinRound: -1, IDPrefix: "Bad"},
	}, lib, 1)
	errs := config.As(err)
	want := []string{
		`populations[0].archetype: unknown archetype "cinephil" (did you mean "cinephile"?)`,
		"populations[0].count: must be at least 1, got 0",
		"populations[1].jitter: must be between 0 and 1, got 1.5",
		"populations[1].history_size: must be at least 0, got -1",
		"populations[1].join_round: must be at least 0, got -1",
		`populations[1].id_prefix: id_prefix "Bad" may only contain`,
	}
	if len(errs) != len(want) || !errors.Is(err, config.ErrInvalid) {
		t.Fatalf("got %v, want %d errors", err, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("error %d = %q, want prefix %q", i, errs[i], w)
		}
	}
	_, err = Expand([]Population{{Archetype: "romantic", Count: 2}, {Archetype: "romantic", Count: 1}}, lib, 1)
	if err == nil || !strings.Contains(err.Error(), `member id "romantic-0001" is also made by populations[0]`) {
		t.Errorf("clashing ids: got %v", err)
	}
}

// Mainstreamness is jittered from a stream of its own: members of an
// archetype get the same other traits and tastes whatever its
// mainstreamness, so populations written before the trait existed are
// unchanged, and their mainstreamness still varies.
func TestMainstreamnessJitterLeavesOtherDrawsAlone(t *testing.T) {
	lib := mustLibrary(t)
	arch := archetype(t, mustLibrary(t), "romantic")
	other := arch.clone()
	other.ID = "romantic-2"
	other.Traits.Mainstreamness = 0.1
	pops := []Population{{Archetype: arch.ID, Count: 50, IDPrefix: "m"}}
	a, err := Expand(pops, lib, 3)
	if err != nil {
		t.Fatal(err)
	}
	pops[0].Archetype = other.ID
	b, err := Expand(pops, append(lib, other), 3)
	if err != nil {
		t.Fatal(err)
	}
	varied := 0
	for i := range a {
		x, y := a[i].Traits, b[i].Traits
		if x.Activity != y.Activity || x.Conformity != y.Conformity || x.Curiosity != y.Curiosity || x.Pickiness != y.Pickiness ||
			!reflect.DeepEqual(a[i].Interests, b[i].Interests) {
			t.Fatalf("%s: mainstreamness changed other draws: %+v vs %+v", a[i].ID, x, y)
		}
		if d := x.Mainstreamness - arch.Traits.Mainstreamness; d < -DefaultJitter-1e-12 || d > DefaultJitter+1e-12 {
			t.Errorf("%s: mainstreamness %g outside %g ± %g", a[i].ID, x.Mainstreamness, arch.Traits.Mainstreamness, DefaultJitter)
		}
		if x.Mainstreamness != arch.Traits.Mainstreamness {
			varied++
		}
	}
	if varied < 45 {
		t.Errorf("only %d of 50 members have a jittered mainstreamness", varied)
	}
}

// TestExpandBoundsTheCountBeforeAllocating: a count of 2^63-1 panicked
// (makeslice) and 10^7, in one cohort or many, kept validate busy for
// minutes; the population that crosses config.MaxPersonas is reported,
// once, and nothing is built.
func TestExpandBoundsTheCountBeforeAllocating(t *testing.T) {
	lib := mustLibrary(t)
	for _, pops := range [][]Population{
		{{Archetype: "cinephile", Count: 1<<63 - 1}},
		{{Archetype: "cinephile", Count: 10_000_000}},
		{{Archetype: "cinephile", Count: config.MaxPersonas, IDPrefix: "a"}, {Archetype: "cinephile", Count: 1, IDPrefix: "b"}, {Archetype: "cinephile", Count: 1 << 62, IDPrefix: "c"}},
	} {
		out, err := Expand(pops, lib, 1)
		es := config.As(err)
		if out != nil || len(es) != 1 || !strings.Contains(es[0].Msg, "limit of 100000 personas") {
			t.Errorf("%d populations: got %d personas, errors %v", len(pops), len(out), err)
			continue
		}
		if want := "populations[1].count"; len(pops) > 1 && es[0].Field != want {
			t.Errorf("reported at %s, want the population that crosses the limit (%s)", es[0].Field, want)
		}
	}
}

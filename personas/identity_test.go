package personas

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/recloop/recloop/config"
)

// Every built-in archetype has pools to draw people from, and every pool
// entry fills all its slots.
func TestEveryArchetypeHasPeople(t *testing.T) {
	lib := mustLibrary(t)
	ids := make([]string, len(lib))
	for i, p := range lib {
		ids[i] = p.ID
	}
	if got := slices.Sorted(maps.Keys(archetypePeople)); !reflect.DeepEqual(got, slices.Sorted(slices.Values(ids))) {
		t.Fatalf("archetypes with people %v, library %v", got, ids)
	}
	for id, pool := range archetypePeople {
		if pool.Ages[0] < 18 || pool.Ages[1] < pool.Ages[0] {
			t.Errorf("%s: age range %v", id, pool.Ages)
		}
		if len(pool.Occupations) < 8 || len(pool.Habits) < 2 || len(pool.Tastes) < 2 || len(pool.Latent) < 2 {
			t.Errorf("%s: pools too small: %d occupations, %d habits, %d tastes, %d latent", id,
				len(pool.Occupations), len(pool.Habits), len(pool.Tastes), len(pool.Latent))
		}
		for _, list := range [][]string{openers, pool.Habits, pool.Tastes, pool.Latent} {
			for _, s := range list {
				for _, slot := range anySlot.FindAllString(s, -1) {
					if !slices.Contains([]string{"{name}", "{first}", "{age}", "{occupation}"}, slot) {
						t.Errorf("%s: %q has the unknown slot %s", id, s, slot)
					}
				}
				if strings.Count(s, "{") != strings.Count(s, "}") {
					t.Errorf("%s: %q has unbalanced braces", id, s)
				}
			}
		}
		for _, list := range [][]string{pool.Habits, pool.Tastes, pool.Latent} {
			for _, s := range list {
				if !strings.Contains(s, "{first}") || strings.Contains(s, "{name}") {
					t.Errorf("%s: %q should name the member by {first}", id, s)
				}
			}
		}
	}
	for _, s := range openers {
		if !strings.Contains(s, "{name}") {
			t.Errorf("opener %q does not name the member: descriptions could repeat", s)
		}
	}
}

var anySlot = regexp.MustCompile(`\{[^{}]*\}?`)

var ageWord = regexp.MustCompile(`\b[0-9]+\b`)

// A thousand members of each archetype are a thousand different people with
// the archetype's taste: distinct names and descriptions, every slot filled,
// ages in the archetype's range.
func TestPopulationMembersAreDistinctPeople(t *testing.T) {
	lib := mustLibrary(t)
	for _, arch := range lib {
		ms, err := Expand([]Population{{Archetype: arch.ID, Count: 1000}}, lib, 42)
		if err != nil {
			t.Fatal(err)
		}
		pool := archetypePeople[arch.ID]
		names := map[string]string{}
		descriptions := map[string]string{}
		ages := map[int]bool{}
		for _, m := range ms {
			if prev, dup := names[m.Name]; dup {
				t.Fatalf("%s and %s are both named %q", prev, m.ID, m.Name)
			}
			names[m.Name] = m.ID
			if prev, dup := descriptions[m.Description]; dup {
				t.Fatalf("%s and %s share the description %q", prev, m.ID, m.Description)
			}
			descriptions[m.Description] = m.ID
			if strings.ContainsAny(m.Description, "{}") || !strings.Contains(m.Description, m.Name) {
				t.Fatalf("%s: description %q", m.ID, m.Description)
			}
			age := -1
			if n := ageWord.FindString(m.Description); n != "" {
				age, _ = strconv.Atoi(n)
			}
			if age < pool.Ages[0] || age > pool.Ages[1] {
				t.Fatalf("%s: age %d outside %v in %q", m.ID, age, pool.Ages, m.Description)
			}
			ages[age] = true
			if m.Name == arch.Name || m.Description == arch.Description {
				t.Fatalf("%s kept the archetype's person", m.ID)
			}
		}
		if len(ages) < (pool.Ages[1]-pool.Ages[0]+1)/2 {
			t.Errorf("%s: only %d distinct ages in 1,000 members", arch.ID, len(ages))
		}
	}
}

// Past the pool of names (first × last), members stay distinct.
func TestIdentityBeyondThePoolOfNames(t *testing.T) {
	lib := mustLibrary(t)
	arch := archetype(t, lib, "romantic")
	pool := len(firstNames) * len(lastNames)
	seen := map[string]int{}
	for _, n := range []int{1, 2, pool, pool + 1, pool + 2, 2 * pool, 2*pool + 1, 27*pool + 1, 27*pool + 2} {
		m := member(&arch, Population{}, fmt.Sprintf("romantic-%04d", n), 3)
		identity(&m, arch.ID, "romantic", n, 3)
		if prev, dup := seen[m.Name]; dup {
			t.Errorf("members %d and %d are both %q", prev, n, m.Name)
		}
		seen[m.Name] = n
	}
}

func TestPermuteIsABijection(t *testing.T) {
	for _, n := range []uint64{1, 2, 3, 10, 100, 1000, 10000} {
		seen := make([]bool, n)
		for x := range n {
			y := permute(99, x, n)
			if y >= n || seen[y] {
				t.Fatalf("n=%d: permute(%d) = %d repeats or is out of range", n, x, y)
			}
			seen[y] = true
		}
	}
}

// Who a member is comes from draws of its own: everything that shapes its
// behaviour is exactly what jitter alone makes (so the utility model plays a
// population as before), and only the name and description differ.
func TestIdentityLeavesBehaviourAlone(t *testing.T) {
	lib := mustLibrary(t)
	for _, arch := range lib {
		ms, err := Expand([]Population{{Archetype: arch.ID, Count: 20}}, lib, 11)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			plain := member(&arch, Population{}, m.ID, 11)
			if plain.Name != arch.Name || plain.Description != arch.Description {
				t.Fatal("member() alone changed the person")
			}
			plain.Name, plain.Description = m.Name, m.Description
			if !reflect.DeepEqual(plain, m) {
				t.Fatalf("%s: identity changed more than name and description:\n%+v\n%+v", m.ID, plain, m)
			}
		}
	}
	// Seeded: the same seed gives the same people, another seed others.
	a, _ := Expand([]Population{{Archetype: "cinephile", Count: 5}}, lib, 1)
	b, _ := Expand([]Population{{Archetype: "cinephile", Count: 5}}, lib, 1)
	c, _ := Expand([]Population{{Archetype: "cinephile", Count: 5}}, lib, 2)
	if !reflect.DeepEqual(a, b) {
		t.Error("same seed, different people")
	}
	if a[0].Name == c[0].Name && a[0].Description == c[0].Description {
		t.Error("another seed gave the same person")
	}
}

// Personas from the scenario's own files are the user's people: their
// members keep the archetype's name and description.
func TestFileArchetypesKeepTheirPerson(t *testing.T) {
	own := tinyPersona("cinephile")
	own.Name, own.Description = "Ana", "Ana is 34."
	ms, err := Expand([]Population{{Archetype: "cinephile", Count: 3}}, []Persona{own}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Name != "Ana" || m.Description != "Ana is 34." {
			t.Errorf("%s became %q: %q", m.ID, m.Name, m.Description)
		}
	}
}

// An LLM persona's prompt shows its own person.
func TestLLMPromptShowsTheMembersOwnPerson(t *testing.T) {
	cat := llmCatalog(t)
	lib := mustLibrary(t)
	ms, err := Expand([]Population{{Archetype: "cinephile", Count: 2, HistorySize: ptr(0)}}, lib, 5)
	if err != nil {
		t.Fatal(err)
	}
	Adapt(ms, cat)
	states := mustBuild(t, ms, cat, 5)
	fake := answers(`{"items":[],"exit":false,"feedback":""}`)
	b := newLLMForTest(t, cat, fake, config.Params{"reflect_every": 0, "interview": false})
	for _, st := range states {
		if _, err := b.Decide(context.Background(), st, 0, shownSlate("m1", "m2")); err != nil {
			t.Fatal(err)
		}
	}
	if len(fake.reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(fake.reqs))
	}
	var systems []string
	for i, req := range fake.reqs {
		system := req.Messages[0].Content
		m := ms[i]
		if !strings.Contains(system, "You are "+m.Name+",") || !strings.Contains(system, m.Description) {
			t.Errorf("%s's prompt does not show %q / %q:\n%s", m.ID, m.Name, m.Description, system)
		}
		systems = append(systems, system)
	}
	if systems[0] == systems[1] {
		t.Error("two members got the same system prompt")
	}
}

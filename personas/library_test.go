package personas

import (
	"slices"
	"strings"
	"testing"

	"github.com/recloop/recloop/catalog"
)

func TestLibraryArchetypesAreDistinctAndComplete(t *testing.T) {
	lib, err := Library()
	if err != nil {
		t.Fatal(err)
	}
	if len(lib) < 8 {
		t.Fatalf("library has %d archetypes, want at least 8", len(lib))
	}
	seenTraits := map[Traits]string{}
	for _, p := range lib {
		t.Run(p.ID, func(t *testing.T) {
			if p.HistorySize <= 0 || len(p.History) > 0 {
				t.Errorf("history_size = %d with %d explicit items; archetypes draw their history", p.HistorySize, len(p.History))
			}
			if p.Name == "" || len(strings.Fields(p.Description)) < 30 {
				t.Errorf("needs a name and a real description, got %q: %q", p.Name, p.Description)
			}
			if len(p.Segments) == 0 {
				t.Error("no segments")
			}
			if prev, dup := seenTraits[p.Traits]; dup {
				t.Errorf("same traits as %s", prev)
			}
			seenTraits[p.Traits] = p.ID
			if p.LatentInterests.IsZero() {
				t.Fatal("no latent interests")
			}
			for name := range p.LatentInterests.Categories {
				if _, stated := p.Interests.Categories[name]; stated {
					t.Errorf("latent category %q is also stated", name)
				}
			}
			for name := range p.LatentInterests.Tags {
				if _, stated := p.Interests.Tags[name]; stated {
					t.Errorf("latent tag %q is also stated", name)
				}
			}
		})
	}
}

func TestLibraryValidatesAgainstSyntheticVocabulary(t *testing.T) {
	lib, err := Library()
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Synthetic(catalog.SyntheticConfig{Items: 2000, Seed: 3}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	if errs := Validate(lib, cat, 30); len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, st := range mustBuild(t, lib, cat, 1) {
		if len(st.History) != st.Persona.HistorySize {
			t.Errorf("%s: %d seed items, want %d", st.Persona.ID, len(st.History), st.Persona.HistorySize)
		}
	}
}

func TestLibraryReturnsCopies(t *testing.T) {
	a := archetype(t, mustLibrary(t), "cinephile")
	if a.File() != "personas/library/cinephile.yaml" {
		t.Errorf("File() = %q", a.File())
	}
	a.Interests.Categories["drama"] = 0
	a.Segments[0] = "changed"
	again := archetype(t, mustLibrary(t), "cinephile")
	if again.Interests.Categories["drama"] != 0.9 || again.Segments[0] != "enthusiast" {
		t.Error("modifying a returned archetype changed the library")
	}
}

func TestAdaptPrunesOnlyLibraryPersonas(t *testing.T) {
	cat, err := catalog.New([]catalog.Item{
		{ID: "m1", Categories: []string{"Drama"}},
		{ID: "m2", Categories: []string{"Comedy"}, Tags: []string{"feel-good"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	lib, err := Library()
	if err != nil {
		t.Fatal(err)
	}
	cinephile := slices.IndexFunc(lib, func(p Persona) bool { return p.ID == "cinephile" })
	user, errs := Parse("mine.yaml", []byte("personas:\n  - id: mine\n    interests: {categories: {drama: 1, westerns: 1}}\n"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	ps := []Persona{lib[cinephile], user[0]}
	ps[0].HistorySize = 1
	dropped := Adapt(ps, cat)
	if len(dropped) == 0 || !slices.IsSorted(dropped) || !slices.Contains(dropped, "category:mystery") {
		t.Fatalf("dropped %v", dropped)
	}
	// The library persona keeps only what the catalog has (drama)...
	if got := ps[0].Interests; len(got.Categories) != 1 || got.Categories["drama"] == 0 || len(got.Tags) != 0 {
		t.Errorf("cinephile interests after Adapt: %+v", got)
	}
	// ...while the user's typo survives, for Validate to report.
	if ps[1].Interests.Categories["westerns"] != 1 {
		t.Error("Adapt changed a user-written persona")
	}
	if errs := Validate(ps, cat, 0); len(errs) != 1 || !strings.Contains(errs[0].Error(), "westerns") {
		t.Errorf("Validate: %v", errs)
	}
}

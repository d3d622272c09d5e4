package personas

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recloop/recloop/config"
)

func TestParseReportsEveryMistakeWithFileLineField(t *testing.T) {
	const file = "testdata/mistakes.yaml"
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, errs := Parse(file, data)
	want := []struct {
		line  int
		field string
		msg   string
	}{
		{5, "personas[1].id", `id "Bad ID!" may only contain lower-case letters`},
		{8, "personas[1].traits.activity", "must be between 0 and 1, got 1.7"},
		{8, "personas[1].traits.curiosity", "must be between 0 and 1, got -0.1"},
		{9, "personas[1].favourite_colour", "unknown field"},
		{10, "personas[2].id", `duplicate persona id "good-one" (first defined at line 2)`},
		{11, "personas[2].interests", "needs at least one category or tag with a weight above 0"},
		{12, "personas[2].interests.categories.drama", "weight must be a finite number ≥ 0, got -0.2"},
		{13, "personas[2].history[1]", `item "item-1" is already in the history at history[0]`},
		{14, "personas[2].history_size", "set either history (explicit items) or history_size"},
		{15, "personas[2].join_round", "must be at least 0, got -2"},
		{16, "personas[3]", "id is required"},
		{17, "personas[3].interests", "needs at least one category or tag with a weight above 0"},
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), errs)
	}
	for i, w := range want {
		e := errs[i]
		if e.File != file || e.Line != w.line || e.Field != w.field || !strings.Contains(e.Msg, w.msg) {
			t.Errorf("error %d = %s\nwant %s:%d: %s: …%s…", i, e, file, w.line, w.field, w.msg)
		}
	}
}

func TestParseValidFile(t *testing.T) {
	ps, errs := LoadFile("testdata/valid.yaml")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if len(ps) != 2 {
		t.Fatalf("got %d personas, want 2", len(ps))
	}
	sam := ps[0]
	wantTraits := Traits{Activity: 0.7, Conformity: DefaultTrait, Curiosity: DefaultTrait, Pickiness: 0.4, Mainstreamness: DefaultTrait}
	if sam.Traits != wantTraits {
		t.Errorf("traits = %+v, want %+v (absent traits default to 0.5, mainstreamness to conformity)", sam.Traits, wantTraits)
	}
	if sam.Name != "Sam" || sam.Interests.Categories["comedy"] != 0.8 || sam.LatentInterests.Tags["true-story"] != 0.5 ||
		len(sam.History) != 2 || sam.Segments[0] != "casual" {
		t.Errorf("persona decoded wrongly: %+v", sam)
	}
	late := ps[1]
	if late.HistorySize != 8 || late.JoinRound != 3 || late.File() != "testdata/valid.yaml" {
		t.Errorf("second persona decoded wrongly: %+v", late)
	}
	e := late.Errorf("traits.activity", "x")
	// traits.activity is absent, so the location falls back to the persona.
	if e.Line != 14 || e.Field != "personas[1].traits.activity" {
		t.Errorf("Errorf located at line %d field %q, want 14 personas[1].traits.activity", e.Line, e.Field)
	}
}

func TestParseStructuralErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		line       int
		field      string
		msg        string
	}{
		{"empty", "", 0, "", "file is empty"},
		// yaml.v3 names the line of a syntax error only in its message.
		{"syntax", "personas: [\n", 0, "", "line 1: did not find expected node"},
		{"no personas key", "people: []\n", 1, "people", "unknown field"},
		{"empty list", "personas: []\n", 1, "personas", "defines no personas"},
		{"weight is text", "personas:\n  - id: x\n    interests: {categories: {drama: lots}}\n", 3, "personas[0].interests.categories.drama", "cannot unmarshal"},
		{"unknown trait", "personas:\n  - id: x\n    interests: {tags: {space: 1}}\n    traits: {boldness: 0.3}\n", 4, "personas[0].traits.boldness", "unknown field"},
		{"negative history_size", "personas:\n  - id: x\n    interests: {tags: {space: 1}}\n    history_size: -1\n", 4, "personas[0].history_size", "must be at least 0"},
		{"NaN trait", "personas:\n  - id: x\n    interests: {tags: {space: 1}}\n    traits: {pickiness: .nan}\n", 4, "personas[0].traits.pickiness", "must be between 0 and 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := Parse("p.yaml", []byte(tc.yaml))
			if len(errs) == 0 {
				t.Fatal("no error")
			}
			// A value of the wrong type may also fail a later check (a
			// weight that is not a number is no weight): look for the
			// wanted error among them all.
			for _, e := range errs {
				if e.File == "p.yaml" && e.Line == tc.line && e.Field == tc.field && strings.Contains(e.Msg, tc.msg) {
					return
				}
			}
			t.Errorf("got %v; want line %d field %q msg …%s…", errs, tc.line, tc.field, tc.msg)
		})
	}
}

func TestLoadFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.yaml")
	_, errs := LoadFile(path)
	if len(errs) != 1 || errs[0].File != path {
		t.Fatalf("errs = %v, want one error naming %s", errs, path)
	}
}

func TestParseErrorsMatchConfigInvalid(t *testing.T) {
	_, errs := Parse("p.yaml", []byte("personas: []\n"))
	if !errors.Is(errs.Err(), config.ErrInvalid) {
		t.Fatalf("%v does not match config.ErrInvalid", errs)
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/mistakes.yaml", "testdata/valid.yaml", "testdata/unknown.yaml"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("personas:\n  - id: x\n    interests: {tags: {a: 1}}\n    history: [&a x, *a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, errs := Parse("fuzz.yaml", data)
		for _, e := range errs {
			if e.File != "fuzz.yaml" || e.Msg == "" {
				t.Fatalf("badly formed error %#v", e)
			}
		}
		if len(errs) > 0 {
			return
		}
		// A file that parses cleanly upholds every documented invariant.
		for _, p := range ps {
			if p.ID == "" || !validID(p.ID) {
				t.Fatalf("accepted bad id %q", p.ID)
			}
			for _, v := range p.Traits.ptrs() {
				if !(*v >= 0 && *v <= 1) {
					t.Fatalf("accepted trait %g", *v)
				}
			}
			if p.HistorySize < 0 || p.JoinRound < 0 || (p.HistorySize > 0 && len(p.History) > 0) {
				t.Fatalf("accepted %+v", p)
			}
		}
	})
}

// The fields that explain a persona: mainstreamness (taking conformity's
// value when left out), rating_bias and evidence, each problem located.
func TestParseMainstreamnessRatingBiasEvidence(t *testing.T) {
	const file = "testdata/evidence.yaml"
	ps, errs := LoadFile(file)
	want := []struct {
		line  int
		field string
		msg   string
	}{
		{4, "personas[0].traits.mainstreamness", "must be between 0 and 1, got 1.5"},
		{5, "personas[0].rating_bias", "must be a number of stars between -4 and 4, got 6"},
		{7, "personas[0].evidence.liked[1]", "item id is empty"},
		{7, "personas[0].evidence.liked[2]", `item "item-00001" is already in liked[0]`},
		{8, "personas[0].evidence.disliked[1]", `item "item-00001" is also in evidence.liked`},
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), errs)
	}
	for i, w := range want {
		e := errs[i]
		if e.File != file || e.Line != w.line || e.Field != w.field || !strings.Contains(e.Msg, w.msg) {
			t.Errorf("error %d = %s\nwant %s:%d: %s: …%s…", i, e, file, w.line, w.field, w.msg)
		}
	}
	plain := ps[1]
	if plain.Traits.Mainstreamness != 0.3 || plain.RatingBias != -0.5 || len(plain.Evidence.Liked) != 2 || plain.Evidence.Disliked[0] != "item-00004" {
		t.Errorf("plain persona decoded wrongly: %+v", plain)
	}
	// Evidence must name catalog items, like the history.
	verrs := Validate(ps[1:], vocabCatalog(t, 300), 0)
	if len(verrs) != 1 || verrs[0].Line != 13 || verrs[0].Field != "personas[1].evidence.liked[1]" || !strings.Contains(verrs[0].Msg, `unknown item id "item-00999"`) {
		t.Errorf("Validate = %v, want the unknown evidence item at line 13", verrs)
	}
}

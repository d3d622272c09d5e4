package personas

import (
	"strings"
	"testing"
)

func TestValidateLocatesCatalogProblems(t *testing.T) {
	cat := vocabCatalog(t, 300) // item-00012 exists, item-00345 does not
	unknown, errs := LoadFile("testdata/unknown.yaml")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	valid, errs := LoadFile("testdata/valid.yaml")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	ps := append(valid, unknown...)
	got := Validate(ps, cat, 4)
	got.Sort()
	want := []struct {
		file  string
		line  int
		field string
		msg   string
	}{
		{"testdata/unknown.yaml", 4, "personas[0].interests.categories.comdy", `unknown category "comdy": the catalog has no such category (did you mean "comedy"?)`},
		{"testdata/unknown.yaml", 5, "personas[0].interests.tags.spaceship", `unknown tag "spaceship": the catalog has no such tag`},
		{"testdata/unknown.yaml", 7, "personas[0].latent_interests.tags.anmie", `unknown tag "anmie": the catalog has no such tag (did you mean "anime"?)`},
		{"testdata/unknown.yaml", 8, "personas[0].history[1]", `unknown item id "no-such-item"`},
		{"testdata/unknown.yaml", 9, "personas[0].join_round", "joins at round 5 but the scenario runs rounds 0 to 3"},
		{"testdata/unknown.yaml", 10, "personas[1].id", `duplicate persona id "weekend-binger" (first defined at testdata/valid.yaml:2)`},
		{"testdata/valid.yaml", 12, "personas[0].history[1]", `unknown item id "item-00345"`},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(got), len(want), got)
	}
	for i, w := range want {
		e := got[i]
		if e.File != w.file || e.Line != w.line || e.Field != w.field || !strings.Contains(e.Msg, w.msg) {
			t.Errorf("error %d = %s\nwant %s:%d: %s: …%s…", i, e, w.file, w.line, w.field, w.msg)
		}
	}
}

func TestValidateHistorySizeAndCodePersonas(t *testing.T) {
	cat := tinyCatalog(t)
	p := tinyPersona("coded")
	p.HistorySize = 5
	errs := Validate([]Persona{p}, cat, 0)
	if len(errs) != 1 || errs[0].Field != "persona coded.history_size" || !strings.Contains(errs[0].Msg, "only 4 items") {
		t.Fatalf("errs = %v, want one history_size error naming the coded persona", errs)
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"comedy", "crime", "drama", "sci-fi"}
	tests := []struct{ name, want string }{
		{"comdy", ` (did you mean "comedy"?)`},
		{"Sci Fi", ` (did you mean "sci-fi"?)`}, // compared in normalised form
		{"scifi", ` (did you mean "sci-fi"?)`},
		{"western", ""},
	}
	for _, tc := range tests {
		got := suggest(tc.name, known)
		if got != tc.want {
			t.Errorf("suggest(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"kitten", "sitting", 3}, {"comdy", "comedy", 1}, {"anmie", "anime", 2},
	}
	for _, tc := range tests {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

package catalog

import (
	"math"
	"slices"
	"testing"
)

func titleCatalog(t testing.TB) *Catalog {
	t.Helper()
	cat, err := New([]Item{
		{ID: "1", Title: "Heat (1995)", Categories: []string{"crime"}}, {ID: "2", Title: "Usual Suspects, The (1995)"},
		{ID: "3", Title: "Crime"}, {ID: "4", Title: "The Silent Harbor"}, {ID: "5", Title: "Silent Harbor"},
		{ID: "6", Title: "Amélie (2001)"}, {ID: "7", Title: ""}, {ID: "8", Title: "Schindler's List (1993)"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func TestTitleKeysAndLookup(t *testing.T) {
	ix := NewTitleIndex(titleCatalog(t))
	for _, c := range []struct {
		title string
		want  string
	}{
		{"Heat", "1"}, {"heat (1995)", "1"}, {"The Usual Suspects", "2"}, {"usual suspects, the", "2"},
		{"AMÉLIE", "6"}, {"Schindlers List", "8"}, {"Schindler's List", "8"}, {"Nothing Like It", ""},
	} {
		i, n := ix.Lookup(c.title)
		got := ""
		if n > 0 {
			got = titleCatalog(t).Item(i).ID
		}
		if got != c.want {
			t.Errorf("Lookup(%q) = %q, want %q", c.title, got, c.want)
		}
	}
}

func TestScanSkipsGenreWordsAndSentenceOpeners(t *testing.T) {
	cat := titleCatalog(t)
	ix := NewTitleIndex(cat)
	ids := func(text string) []string {
		var out []string
		for _, i := range ix.Scan(text) {
			out = append(out, cat.Item(i).ID)
		}
		return out
	}
	for _, c := range []struct {
		text string
		want []string
	}{
		{"I want some Crime tonight", nil}, // a genre, not the film called Crime
		{"I loved Heat and The Usual Suspects (1995).", []string{"1", "2"}},
		{"Heat. Crime. Amélie!", nil}, // openers may be any word; Amélie opens too
		{"Like Schindler's List or Silent Harbor", []string{"8", "5"}},
		{"", nil},
	} {
		if got := ids(c.text); !slices.Equal(got, c.want) {
			t.Errorf("Scan(%q) = %v, want %v", c.text, got, c.want)
		}
	}
}

func FuzzTitleScan(f *testing.F) {
	cat := titleCatalog(f)
	ix := NewTitleIndex(cat)
	for _, s := range []string{"I loved Heat", "The Silent Harbor (1995)", "\xff\xfe", "a, the", "Usual Suspects, The"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		seen := map[int]bool{}
		for _, i := range ix.Scan(text) {
			if i < 0 || i >= cat.Len() || seen[i] {
				t.Fatalf("Scan(%q) returned %d twice or out of range", text, i)
			}
			seen[i] = true
		}
		if i, n := ix.Lookup(text); n > 0 && (i < 0 || i >= cat.Len()) {
			t.Fatalf("Lookup(%q) = %d", text, i)
		}
	})
}

func TestAttributeNumber(t *testing.T) {
	for _, c := range []struct {
		v    any
		want float64
		ok   bool
	}{
		{1995, 1995, true}, {int64(7), 7, true}, {2.5, 2.5, true}, {float32(0.5), 0.5, true},
		{" 120 ", 120, true}, {"long", 0, false}, {nil, 0, false}, {math.NaN(), 0, false}, {true, 0, false},
	} {
		got, ok := AttributeNumber(c.v)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("AttributeNumber(%#v) = %g, %v; want %g, %v", c.v, got, ok, c.want, c.ok)
		}
	}
}

package judges

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/recloop/recloop/catalog"
)

// groundingCatalog is small enough to check every verdict by hand.
func groundingCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.New([]catalog.Item{
		{ID: "m1", Title: "The Silent River", Categories: []string{"drama"}, Tags: []string{"family"},
			Attributes: map[string]any{"year": 1995, "avg_rating": 4.47, "runtime_min": 120}},
		{ID: "m2", Title: "Clockwork Harbor", Categories: []string{"sci-fi"}, Tags: []string{"time-travel", "space"},
			Attributes: map[string]any{"year": 2010}},
		{ID: "m3", Title: "War of the Magic Kingdom", Categories: []string{"fantasy"}, Tags: []string{"magic", "war"}},
		{ID: "m4", Title: "Drama Queen Diaries", Categories: []string{"comedy"}, Tags: []string{"history"}},
		{ID: "m5", Title: "Heat", Categories: []string{"action"}},
		{ID: "m6", Title: "Clockwork Harbor Returns", Categories: []string{"sci-fi"}, Tags: []string{"space"}},
		{ID: "m7", Title: "Time Travel", Categories: []string{"documentary"}, Tags: []string{"history"}},
		{ID: "m8", Title: "Toy Story (1999)", Categories: []string{"animation"}, Attributes: map[string]any{"year": 1999}},
		{ID: "m9", Title: "Inception", Categories: []string{"sci-fi"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func groundingCase(cat *catalog.Catalog, item, explanation string, history ...string) Case {
	i, _ := cat.Index(item)
	c := Case{Persona: "ana", Item: cat.Item(i), ItemIndex: i, Slate: []string{item, "m5"}, Explanation: explanation}
	for _, h := range history {
		k, _ := cat.Index(h)
		c.History = append(c.History, HistoryItem{Item: h, Title: cat.Item(k).Title})
	}
	return c
}

func TestGroundingFlagsUnsupportedClaims(t *testing.T) {
	cat := groundingCatalog(t)
	g := NewGrounding(cat, 2)
	type v = Violation
	tests := []struct {
		name    string
		item    string
		history []string
		text    string
		want    []v // kind and phrase; details are checked separately
	}{
		// The built-in templates.
		{"itemknn names a history title", "m2", []string{"m1"}, "because you watched The Silent River", nil},
		{"itemknn names an unseen title", "m2", []string{"m4"}, "because you watched The Silent River",
			[]v{{Kind: "title", Phrase: "The Silent River"}}},
		{"content names the item's features", "m2", nil, "matches your interest in sci-fi and time-travel", nil},
		{"content features in the spaced form", "m2", nil, "matches your interest in Sci Fi and time travel", nil},
		{"popular names the item's category", "m1", nil, "popular in drama (#3 of 40 by catalog popularity)", nil},
		{"popular names another category", "m1", nil, "popular in comedy (#3 of 40 by catalog popularity)",
			[]v{{Kind: "category", Phrase: "comedy"}}},
		{"trending counts are not checked", "m1", nil, "trending: 37 clicks since round 2", nil},
		// Titles.
		{"upper case title in history", "m2", []string{"m1"}, "BECAUSE YOU WATCHED THE SILENT RIVER!", nil},
		{"the item's own title", "m1", nil, "The Silent River is a quiet drama", nil},
		{"a slate title", "m1", nil, "like \"Heat\", which is on the slate", nil},
		{"the longest overlapping title wins", "m2", nil, "after Clockwork Harbor Returns you will enjoy this",
			[]v{{Kind: "title", Phrase: "Clockwork Harbor Returns"}}},
		{"a shorter title inside a seen one", "m1", []string{"m6"}, "Clockwork Harbor Returns fans: this is drama", nil},
		{"a one-word title unquoted is a common word", "m1", nil, "the heat of the drama", nil},
		{"a quoted one-word title counts", "m1", nil, "fans of “Inception” will like it",
			[]v{{Kind: "title", Phrase: "Inception"}}},
		{"an unquoted one-word title does not", "m1", nil, "an inception story", nil},
		// Categories and tags.
		{"a category inside a history title does not count", "m2", []string{"m4"},
			"because you liked Drama Queen Diaries, more sci-fi", nil},
		{"a common-word tag inside a title does not count", "m1", []string{"m3"},
			"because you liked War of the Magic Kingdom", nil},
		{"a common-word tag outside titles counts", "m1", []string{"m3"},
			"because you liked War of the Magic Kingdom: more magic", []v{{Kind: "tag", Phrase: "magic"}}},
		{"a tag the item has", "m3", nil, "full of magic and war", nil},
		{"a wrong tag in spaced form", "m1", nil, "a story of time travel and family",
			[]v{{Kind: "tag", Phrase: "time travel"}}},
		{"a wrong category among right ones", "m1", nil, "a family drama with some fantasy",
			[]v{{Kind: "category", Phrase: "fantasy"}}},
		{"a tag named as a title is a tag", "m2", nil, "a tale of time travel", nil},
		{"a tag named as a quoted title is a title", "m2", nil, "a tale like \"Time Travel\"",
			[]v{{Kind: "title", Phrase: "Time Travel"}}},
		// Numbers.
		{"the right year", "m1", nil, "a 1995 drama", nil},
		{"a wrong year", "m1", nil, "a 1996 drama from (2001)",
			[]v{{Kind: "number", Phrase: "1996"}, {Kind: "number", Phrase: "2001"}}},
		{"a year the item does not record", "m3", nil, "a 1980 classic", nil},
		{"a year inside a history title", "m1", []string{"m8"}, "because you watched Toy Story (1999)", nil},
		{"a rating that rounds right", "m1", nil, "rated 4.5 by viewers, 4 stars overall", nil},
		{"a wrong rating", "m1", nil, "a 3.9/5 drama", []v{{Kind: "number", Phrase: "3.9"}}},
		{"a wrong rating after rating of", "m1", nil, "with a rating of 4.2", []v{{Kind: "number", Phrase: "4.2"}}},
		{"the right attribute", "m1", nil, "runtime of 120 minutes", nil},
		{"a wrong attribute", "m1", nil, "runtime 95 min, drama", []v{{Kind: "attribute", Phrase: "95"}}},
		{"several violations in text order", "m1", []string{"m2"},
			"after Clockwork Harbor Returns: a 2003 comedy", []v{
				{Kind: "title", Phrase: "Clockwork Harbor Returns"}, {Kind: "number", Phrase: "2003"}, {Kind: "category", Phrase: "comedy"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := groundingCase(cat, tt.item, tt.text, tt.history...)
			got := g.Check(c)
			var kinds []v
			for _, x := range got {
				kinds = append(kinds, v{Kind: x.Kind, Phrase: x.Phrase})
				if x.Detail == "" {
					t.Errorf("violation %+v has no detail", x)
				}
			}
			if !reflect.DeepEqual(kinds, tt.want) {
				t.Errorf("Check(%q)\n got %+v\nwant %+v", tt.text, kinds, tt.want)
			}
		})
	}
}

func TestGroundingHistoryMatchedByTitle(t *testing.T) {
	cat := groundingCatalog(t)
	g := NewGrounding(cat, 2)
	c := groundingCase(cat, "m2", "because you watched the Silent River")
	// A history record whose id is not in the catalog still grounds its title.
	c.History = []HistoryItem{{Item: "elsewhere-7", Title: "the silent  river"}}
	if vs := g.Check(c); len(vs) != 0 {
		t.Errorf("violations %+v", vs)
	}
}

func TestGroundingDetails(t *testing.T) {
	cat := groundingCatalog(t)
	g := NewGrounding(cat, 2)
	vs := g.Check(groundingCase(cat, "m1", "a 2003 comedy about space, rated 3, runtime 95"))
	want := []string{
		"the item's year is 1995",
		"the item's categories are drama",
		"the item's tags are family",
		"the item's avg_rating is 4.47",
		"the item's runtime_min is 120",
	}
	if len(vs) != len(want) {
		t.Fatalf("violations %+v", vs)
	}
	for i, w := range want {
		if vs[i].Detail != w {
			t.Errorf("detail %d = %q, want %q", i, vs[i].Detail, w)
		}
	}
}

func TestGroundingScore(t *testing.T) {
	// 0 → 5 (all supported), 1 → 3 (one unsupported), 2 → 2 (several), 3+ → 1.
	for n, want := range map[int]float64{0: 5, 1: 3, 2: 2, 3: 1, 9: 1} {
		if got := GroundingScore(n); got != want {
			t.Errorf("GroundingScore(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestGroundingJudgeIsRegistered(t *testing.T) {
	cat := groundingCatalog(t)
	if _, err := New(GroundingName, Env{}, nil); !errors.Is(err, ErrNoCatalog) {
		t.Fatalf("without a catalog: %v", err)
	}
	j, err := New(GroundingName, Env{Catalog: cat}, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := j.Judge(context.Background(), groundingCase(cat, "m2", "because you watched The Silent River", "m4"))
	if err != nil {
		t.Fatal(err)
	}
	if v.Judge != GroundingName || v.Scores[Faithfulness] != 3 || len(v.Violations) != 1 ||
		!strings.HasPrefix(v.Reason, `1 unsupported claim: title "The Silent River"`) {
		t.Errorf("verdict %+v", v)
	}
	v, _ = j.Judge(context.Background(), groundingCase(cat, "m2", "because you watched The Silent River", "m1"))
	if v.Scores[Faithfulness] != 5 || v.Violations != nil {
		t.Errorf("verdict %+v", v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := j.Judge(ctx, Case{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	spec, _ := Lookup(GroundingName)
	if _, errs := spec.Resolve(nil, "params", map[string]any{"min_title_tokens": 0}); len(errs) != 1 {
		t.Errorf("min_title_tokens 0 accepted: %v", errs)
	}
}

func TestGroundingMinTitleTokens(t *testing.T) {
	cat := groundingCatalog(t)
	g := NewGrounding(cat, 1)
	vs := g.Check(groundingCase(cat, "m2", "the heat of the drama", "m1"))
	// With one-word titles allowed, "heat" is Heat (on the slate) and drama
	// is then a category m2 does not have.
	if len(vs) != 1 || vs[0].Kind != "category" {
		t.Errorf("violations %+v", vs)
	}
}

func FuzzGroundingScanner(f *testing.F) {
	cat := groundingCatalog(f)
	g := NewGrounding(cat, 2)
	for _, s := range []string{
		"because you watched The Silent River", "rated 4.5/5, 1995", "“Heat”", "runtime of 120.", "4.",
		"'", "War of the Magic Kingdom magic war", "ÄÖÜ ǅ 1999.5 stars", "sci-fi\x00time-travel",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, item := range []string{"m1", "m3"} {
			for _, v := range g.Check(groundingCase(cat, item, text, "m2")) {
				if v.Phrase == "" || !strings.Contains(text, v.Phrase) {
					t.Fatalf("phrase %q is not in %q", v.Phrase, text)
				}
			}
		}
	})
}

func BenchmarkGrounding(b *testing.B) {
	cat, err := catalog.Synthetic(catalog.SyntheticConfig{Items: 10_000, Categories: 20, Tags: 200, Zipf: 1, Seed: 7})
	if err != nil {
		b.Fatal(err)
	}
	g := NewGrounding(cat, 2)
	tags := cat.Tags()
	const n = 100_000
	cases := make([]Case, 1000)
	for i := range cases {
		item := (i * 7919) % cat.Len()
		seen := (i * 104729) % cat.Len()
		unseen := (i*31 + 5) % cat.Len()
		var text string
		switch i % 4 {
		case 0:
			text = "because you watched " + cat.Item(seen).Title
		case 1:
			text = fmt.Sprintf("matches your interest in %s and %s", tags[i%len(tags)], tags[(i+1)%len(tags)])
		case 2:
			text = fmt.Sprintf("popular in %s (#%d of %d by catalog popularity)", cat.Categories()[i%len(cat.Categories())], i%40+1, 40)
		default:
			text = fmt.Sprintf("Since you loved %s, this 2004 pick rated 4.5 stars mirrors %s", cat.Item(seen).Title, cat.Item(unseen).Title)
		}
		c := Case{Item: cat.Item(item), ItemIndex: item, Explanation: text, Slate: []string{cat.Item(item).ID}}
		c.History = []HistoryItem{{Item: cat.Item(seen).ID, Title: cat.Item(seen).Title}}
		cases[i] = c
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for k := range n {
			g.Check(cases[k%len(cases)])
		}
	}
	b.ReportMetric(float64(n), "explanations/op")
}

func BenchmarkGroundingIndex(b *testing.B) {
	cat, err := catalog.Synthetic(catalog.SyntheticConfig{Items: 10_000, Categories: 20, Tags: 200, Zipf: 1, Seed: 7})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		NewGrounding(cat, 2)
	}
}

func TestGroundingConcurrentUse(t *testing.T) {
	cat := groundingCatalog(t)
	j, err := New(GroundingName, Env{Catalog: cat}, nil)
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"because you watched Clockwork Harbor", "a 1996 comedy, rated 3.9/5", "matches your interest in sci-fi"}
	want := []int{0, 3, 1} // for item m1 with m2 in the history
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for k := range 200 {
				i := (w + k) % len(texts)
				v, _ := j.Judge(context.Background(), groundingCase(cat, "m1", texts[i], "m2"))
				if len(v.Violations) != want[i] {
					t.Errorf("%q: %+v", texts[i], v.Violations)
					return
				}
			}
		})
	}
	wg.Wait()
}

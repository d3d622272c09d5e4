package catalog

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/recloop/recloop/config"
)

func mustNew(t testing.TB, items []Item) *Catalog {
	t.Helper()
	c, err := New(items)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestNewReportsEveryProblem(t *testing.T) {
	items := []Item{
		{ID: ""},
		{ID: "x", Popularity: -1, ReleaseRound: -1},
		{ID: "x"},
		{ID: "y", Popularity: math.NaN()},
		{ID: "z", Embedding: []float32{1, 2}},
		{ID: "w", Embedding: []float32{1}},
		{ID: "v", Embedding: []float32{float32(math.Inf(1))}},
	}
	_, err := New(items)
	want := strings.Join([]string{
		"items[0].id: is required",
		"items[1].popularity: must be a finite number ≥ 0, got -1",
		"items[1].release_round: must be ≥ 0, got -1",
		`items[2].id: "x" is used more than once (first at items[1])`,
		"items[3].popularity: must be a finite number ≥ 0, got NaN",
		"items[5].embedding: has 1 dimensions, but the one at items[4] has 2",
		"items[6].embedding: value 0 is not a finite number",
	}, "\n")
	if err == nil || err.Error() != want {
		t.Fatalf("New error =\n%v\nwant\n%s", err, want)
	}
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, config.ErrInvalid) {
		t.Errorf("error does not match ErrInvalid and config.ErrInvalid")
	}
	if got := len(config.As(err)); got != 7 {
		t.Errorf("config.As gave %d errors, want 7", got)
	}
}

func TestNewCapsTheProblemList(t *testing.T) {
	items := make([]Item, maxProblems+10)
	_, err := New(items)
	errs := config.As(err)
	if len(errs) != maxProblems+1 {
		t.Fatalf("got %d errors, want %d", len(errs), maxProblems+1)
	}
	if last := errs[len(errs)-1].Msg; last != "… and 10 more problems" {
		t.Errorf("last error = %q", last)
	}
}

func TestNewRejectsAnEmptyCatalog(t *testing.T) {
	if _, err := New(nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("New(nil) = %v, want ErrInvalid", err)
	}
}

func TestNewLeavesTheCallersItemsAlone(t *testing.T) {
	items := []Item{{ID: "a", Categories: []string{"Sci Fi"}}}
	c := mustNew(t, items)
	if items[0].Categories[0] != "Sci Fi" {
		t.Errorf("caller's item changed to %q", items[0].Categories[0])
	}
	if got := c.Item(0).Categories; !reflect.DeepEqual(got, []string{"sci-fi"}) {
		t.Errorf("catalog item categories = %q", got)
	}
}

func TestNormaliseName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Sci-Fi", "sci-fi"},
		{"  Film  Noir ", "film-noir"},
		{"Children's", "children's"},
		{"\tA\nB", "a-b"},
		{"", ""},
		{"   ", ""},
	}
	for _, tt := range tests {
		if got := NormaliseName(tt.in); got != tt.want {
			t.Errorf("NormaliseName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNamesAreNormalisedAndDeduplicated(t *testing.T) {
	c := mustNew(t, []Item{
		{ID: "a", Categories: []string{"Sci-Fi", "sci-fi", " SCI-FI ", ""}, Tags: []string{"Time Travel", "time-travel"}},
		{ID: "b", Categories: []string{"Drama"}},
	})
	if got := c.Item(0).Categories; !reflect.DeepEqual(got, []string{"sci-fi"}) {
		t.Errorf("categories = %q", got)
	}
	if got := c.Item(0).Tags; !reflect.DeepEqual(got, []string{"time-travel"}) {
		t.Errorf("tags = %q", got)
	}
	if got := c.Categories(); !reflect.DeepEqual(got, []string{"drama", "sci-fi"}) {
		t.Errorf("Categories() = %q", got)
	}
	if i, ok := c.CategoryIndex("Sci Fi"); !ok || i != 1 {
		t.Errorf("CategoryIndex(Sci Fi) = %d, %v", i, ok)
	}
	if i, ok := c.TagIndex("TIME travel"); !ok || i != 0 {
		t.Errorf("TagIndex(TIME travel) = %d, %v", i, ok)
	}
}

// featureCatalog: categories action(0) comedy(1) drama(2), tags heist(3)
// space(4) in the feature space.
func featureCatalog(t testing.TB) *Catalog {
	return mustNew(t, []Item{
		{ID: "A", Categories: []string{"Drama", "Action"}, Tags: []string{"space"}},
		{ID: "B", Categories: []string{"action"}, Tags: []string{"space", "heist", "Heist"}},
		{ID: "C"},
		{ID: "D", Categories: []string{"comedy"}},
	})
}

func TestFeatures(t *testing.T) {
	c := featureCatalog(t)
	third := 1 / math.Sqrt(3)
	tests := []struct {
		item int
		want SparseVec
	}{
		// A: drama, action, space → indexes 2, 0, 4, sorted; 3 features, each 1/√3.
		{0, SparseVec{Idx: []int32{0, 2, 4}, Val: []float64{third, third, third}}},
		// B: action, space, heist (Heist is a duplicate) → 0, 4, 3 sorted.
		{1, SparseVec{Idx: []int32{0, 3, 4}, Val: []float64{third, third, third}}},
		{2, SparseVec{Idx: []int32{}, Val: []float64{}}},
		{3, SparseVec{Idx: []int32{1}, Val: []float64{1}}},
	}
	for _, tt := range tests {
		if got := c.Features(tt.item); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Features(%d) = %+v, want %+v", tt.item, got, tt.want)
		}
	}
	if c.NumFeatures() != 5 {
		t.Errorf("NumFeatures = %d, want 5", c.NumFeatures())
	}
	names := []string{"category:action", "category:comedy", "category:drama", "tag:heist", "tag:space"}
	for f, want := range names {
		if got := c.FeatureName(f); got != want {
			t.Errorf("FeatureName(%d) = %q, want %q", f, got, want)
		}
	}
	// The item's own order survives: primary category first.
	if got := c.ItemCategories(0); !reflect.DeepEqual(got, []int32{2, 0}) {
		t.Errorf("ItemCategories(0) = %v, want [2 0]", got)
	}
	if got := c.ItemTags(1); !reflect.DeepEqual(got, []int32{1, 0}) {
		t.Errorf("ItemTags(1) = %v, want [1 0]", got)
	}
	dense := []float64{1, 10, 100, 1000, 10000}
	// A·dense = (1 + 100 + 10000)/√3.
	if got, want := c.Features(0).Dot(dense), 10101*third; math.Abs(got-want) > 1e-9 {
		t.Errorf("Dot = %v, want %v", got, want)
	}
}

// wideFeatureCatalog is featureCatalog plus an item with 600 tags, so the
// feature space is too wide for bitsets and Similarity merges sparse vectors.
// The tags sort after heist and space, so the first 4 items are unchanged.
func wideFeatureCatalog(t testing.TB) *Catalog {
	items := slices.Clone(featureCatalog(t).Items())
	wide := Item{ID: "W"}
	for k := range 600 {
		wide.Tags = append(wide.Tags, fmt.Sprintf("t%03d", k))
	}
	return mustNew(t, append(items, wide))
}

func TestSimilarityOnFeatures(t *testing.T) {
	narrow, wide := featureCatalog(t), wideFeatureCatalog(t)
	if narrow.featWords == 0 || wide.featWords != 0 {
		t.Fatalf("feature words: narrow %d, wide %d", narrow.featWords, wide.featWords)
	}
	for _, c := range []*Catalog{narrow, wide} {
		checkFeatureSimilarity(t, c)
	}
}

// simCase is a pair of items with their expected similarity and distance.
type simCase struct {
	a, b     int
	sim, dis float64
}

func checkSimilarities(t *testing.T, c *Catalog, cases []simCase) {
	t.Helper()
	for _, tt := range cases {
		if got := c.Similarity(tt.a, tt.b); math.Abs(got-tt.sim) > 1e-12 {
			t.Errorf("Similarity(%d,%d) = %v, want %v", tt.a, tt.b, got, tt.sim)
		}
		if got := c.Distance(tt.a, tt.b); math.Abs(got-tt.dis) > 1e-12 || got < 0 {
			t.Errorf("Distance(%d,%d) = %v, want %v", tt.a, tt.b, got, tt.dis)
		}
	}
}

func checkFeatureSimilarity(t *testing.T, c *Catalog) {
	checkSimilarities(t, c, []simCase{
		// A and B share action and space: 2 · (1/√3)² = 2/3.
		{0, 1, 2.0 / 3, 1.0 / 3},
		{1, 0, 2.0 / 3, 1.0 / 3},
		// A and D share nothing.
		{0, 3, 0, 1},
		// An item with itself: 3 · (1/√3)² rounds to 1.0000000000000002, clamped to 1.
		{0, 0, 1, 0},
		{1, 1, 1, 0},
		// An item without features is similar to nothing, itself included.
		{2, 0, 0, 1},
		{2, 2, 0, 1},
	})
	if c.Distance(0, 0) != 0 {
		t.Errorf("Distance(A, A) = %v, want exactly 0", c.Distance(0, 0))
	}
	if c.HasEmbeddings() {
		t.Error("HasEmbeddings without embeddings")
	}
}

func TestSimilarityOnEmbeddings(t *testing.T) {
	c := mustNew(t, []Item{
		{ID: "e1", Embedding: []float32{3, 4}, Categories: []string{"drama"}},
		{ID: "e2", Embedding: []float32{4, 3}},
		{ID: "e3", Embedding: []float32{-3, -4}},
		{ID: "f", Categories: []string{"drama"}},
		{ID: "z", Embedding: []float32{0, 0}},
	})
	checkSimilarities(t, c, []simCase{
		// (3,4)·(4,3) / (5·5) = 24/25.
		{0, 1, 0.96, 0.04},
		// opposite vectors: cos −1, distance 2.
		{0, 2, -1, 2},
		{0, 0, 1, 0},
		// f has no embedding: both fall back to the drama feature, cos 1.
		{0, 3, 1, 0},
		// a zero embedding is similar to nothing.
		{0, 4, 0, 1},
	})
	if !c.HasEmbeddings() {
		t.Error("HasEmbeddings = false")
	}
}

func TestPopularityShare(t *testing.T) {
	tests := []struct {
		name  string
		prior []float64
		want  []float64
	}{
		// sum 8; shares 6/8 and 2/8.
		{"proportional", []float64{6, 2}, []float64{0.75, 0.25}},
		// zeros get half the smallest positive prior: 6, 2, 1, 1 → sum 10.
		{"zero prior", []float64{6, 2, 0, 0}, []float64{0.6, 0.2, 0.1, 0.1}},
		// 0 → 4/2 = 2: shares 2/6 and 4/6.
		{"one positive", []float64{0, 4}, []float64{1.0 / 3, 2.0 / 3}},
		{"no prior is uniform", []float64{0, 0, 0, 0}, []float64{0.25, 0.25, 0.25, 0.25}},
		// a plain sum would overflow to +Inf.
		{"huge priors", []float64{math.MaxFloat64, math.MaxFloat64}, []float64{0.5, 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := make([]Item, len(tt.prior))
			for i, p := range tt.prior {
				items[i] = Item{ID: string(rune('a' + i)), Popularity: p}
			}
			c := mustNew(t, items)
			var sum float64
			for i, want := range tt.want {
				got := c.PopularityShare(i)
				sum += got
				if math.Abs(got-want) > 1e-12 {
					t.Errorf("p(%d) = %v, want %v", i, got, want)
				}
			}
			if math.Abs(sum-1) > 1e-12 {
				t.Errorf("shares sum to %v", sum)
			}
		})
	}
}

func TestNewItemCount(t *testing.T) {
	c := mustNew(t, []Item{{ID: "a"}, {ID: "b", New: true}, {ID: "c", ReleaseRound: 4}, {ID: "d", New: true, ReleaseRound: 2}})
	if got := c.NewItemCount(); got != 3 {
		t.Errorf("NewItemCount = %d, want 3", got)
	}
}

func TestTasteVectorRoundTrip(t *testing.T) {
	c := featureCatalog(t) // action comedy drama | heist space
	taste := Taste{
		Categories: map[string]float64{"Drama": 0.5, "opera": 1},
		Tags:       map[string]float64{"space": 2, "Heist": 1, "jazz": 3},
	}
	vec, unknown := c.TasteVector(taste)
	if want := []float64{0, 0, 0.5, 1, 2}; !reflect.DeepEqual(vec, want) {
		t.Errorf("TasteVector = %v, want %v", vec, want)
	}
	if want := []string{"category:opera", "tag:jazz"}; !reflect.DeepEqual(unknown, want) {
		t.Errorf("unknown = %q, want %q", unknown, want)
	}
	back := c.TasteFromVector(vec)
	want := Taste{
		Categories: map[string]float64{"drama": 0.5},
		Tags:       map[string]float64{"heist": 1, "space": 2},
	}
	if !reflect.DeepEqual(back, want) {
		t.Errorf("TasteFromVector = %+v, want %+v", back, want)
	}
	if got := c.TasteFromVector([]float64{0, 0, 0, 0, 0, 7, 8}); !got.IsZero() {
		t.Errorf("TasteFromVector of zeros (and extra entries) = %+v, want zero", got)
	}
	if !(Taste{}).IsZero() || want.IsZero() {
		t.Error("IsZero is wrong")
	}
}

func TestIndexAndItems(t *testing.T) {
	c := featureCatalog(t)
	if i, ok := c.Index("C"); !ok || i != 2 {
		t.Errorf("Index(C) = %d, %v", i, ok)
	}
	if _, ok := c.Index("nope"); ok {
		t.Error("Index(nope) found")
	}
	if c.Len() != 4 || len(c.Items()) != 4 || c.Item(3).ID != "D" {
		t.Errorf("Len/Items/Item disagree")
	}
}

func BenchmarkSimilarity(b *testing.B) {
	c, err := Synthetic(SyntheticConfig{Items: 1000, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	n := c.Len()
	b.ResetTimer()
	var sink float64
	for i := 0; b.Loop(); i++ {
		sink += c.Similarity(i%n, (i*7+3)%n)
	}
	_ = sink
}

func BenchmarkSimilarityWideFeatures(b *testing.B) {
	c, err := Synthetic(SyntheticConfig{Items: 1000, Tags: 600, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	if c.featWords != 0 {
		b.Fatal("the feature space is narrow enough for bitsets")
	}
	n := c.Len()
	var sink float64
	for i := 0; b.Loop(); i++ {
		sink += c.Similarity(i%n, (i*7+3)%n)
	}
	_ = sink
}

func BenchmarkSimilarityEmbeddings(b *testing.B) {
	items := make([]Item, 1000)
	for i := range items {
		e := make([]float32, 64)
		for k := range e {
			e[k] = float32((i*31+k*17)%97) - 48
		}
		items[i] = Item{ID: string(rune(0x4e00 + i)), Embedding: e}
	}
	c := mustNew(b, items)
	var sink float64
	for i := 0; b.Loop(); i++ {
		sink += c.Similarity(i%1000, (i*7+3)%1000)
	}
	_ = sink
}

// Block features by hand. Three items over categories {a, b} and tags
// {x, y}: item 0 has a, b, x and y; item 1 has a and x; item 2 has b only.
// idf(x) = ln(4/3) + 1 (two items), idf(y) = ln(4/2) + 1 (one item). With
// tag weight ½, item 0's categories get 1/√2 each and its tags
// ½·idf/√(idf_x² + idf_y²); the whole is divided by √(1 + ¼). Item 2 has
// no tags: its one category gets 1.
func TestBlockFeaturesByHand(t *testing.T) {
	c, err := New([]Item{
		{ID: "0", Categories: []string{"a", "b"}, Tags: []string{"x", "y"}},
		{ID: "1", Categories: []string{"a"}, Tags: []string{"x"}},
		{ID: "2", Categories: []string{"b"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	v := c.BlockFeatures(0.5)
	idfX, idfY := math.Log(4.0/3)+1, math.Log(2)+1
	norm := 1 / math.Sqrt(1.25)
	tn := math.Hypot(idfX, idfY)
	want0 := []float64{norm / math.Sqrt2, norm / math.Sqrt2, norm * 0.5 * idfX / tn, norm * 0.5 * idfY / tn}
	if len(v[0].Val) != 4 {
		t.Fatalf("item 0: %v", v[0])
	}
	var sq float64
	for k, w := range want0 {
		if math.Abs(v[0].Val[k]-w) > 1e-12 || v[0].Idx[k] != int32(k) {
			t.Errorf("item 0 feature %d = %g at %d, want %g", k, v[0].Val[k], v[0].Idx[k], w)
		}
		sq += v[0].Val[k] * v[0].Val[k]
	}
	if math.Abs(sq-1) > 1e-12 {
		t.Errorf("item 0 has norm² %g, want 1", sq)
	}
	if len(v[2].Val) != 1 || v[2].Val[0] != 1 || v[2].Idx[0] != 1 {
		t.Errorf("item 2 = %v, want category b at weight 1", v[2])
	}
	if w := c.BlockFeatures(0); len(w[1].Val) != 1 || w[1].Val[0] != 1 {
		t.Errorf("tag weight 0 keeps tags: %v", w[1])
	}
}

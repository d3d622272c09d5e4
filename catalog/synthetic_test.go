package catalog

import (
	"errors"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/recloop/recloop/config"
)

func mustSynthetic(t testing.TB, cfg SyntheticConfig) *Catalog {
	t.Helper()
	c, err := Synthetic(cfg)
	if err != nil {
		t.Fatalf("Synthetic(%+v): %v", cfg, err)
	}
	return c
}

func TestSyntheticIsDeterministic(t *testing.T) {
	cfg := SyntheticConfig{Items: 500, NewItems: 20, ReleaseFrom: 1, ReleaseTo: 10, Seed: 42}
	a, b := mustSynthetic(t, cfg), mustSynthetic(t, cfg)
	if !reflect.DeepEqual(a.Items(), b.Items()) {
		t.Fatal("two calls with one seed differ")
	}
	cfg.Seed = 43
	c := mustSynthetic(t, cfg)
	if reflect.DeepEqual(a.Items(), c.Items()) {
		t.Fatal("seeds 42 and 43 give the same catalog")
	}
}

func TestSyntheticDefaults(t *testing.T) {
	got := SyntheticConfig{Seed: 7}.WithDefaults()
	want := SyntheticConfig{Items: 2000, Categories: 17, Tags: len(syntheticTagVocabulary()), Zipf: 1, Seed: 7}
	if got != want {
		t.Errorf("WithDefaults = %+v, want %+v", got, want)
	}
	c := mustSynthetic(t, SyntheticConfig{})
	if c.Len() != 2000 || c.NewItemCount() != 0 {
		t.Errorf("default catalog: %d items, %d new", c.Len(), c.NewItemCount())
	}
	if !slices.Equal(c.Categories(), sortedCopy(SyntheticCategories)) {
		t.Errorf("categories = %q", c.Categories())
	}
	if !slices.Equal(c.Tags(), sortedCopy(syntheticTagVocabulary())) {
		t.Errorf("tags = %q, want every SyntheticTags tag", c.Tags())
	}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func TestSyntheticItems(t *testing.T) {
	c := mustSynthetic(t, SyntheticConfig{Items: 1000, NewItems: 50, ReleaseFrom: 5, ReleaseTo: 9, Seed: 3})
	id := regexp.MustCompile(`^item-\d{4}$`)
	titles := map[string]bool{}
	var newCount int
	for i, it := range c.Items() {
		if !id.MatchString(it.ID) {
			t.Fatalf("id %q", it.ID)
		}
		if n := len(it.Categories); n < 1 || n > 3 {
			t.Errorf("%s has %d categories", it.ID, n)
		}
		if n := len(it.Tags); n < 2 || n > 5 {
			t.Errorf("%s has %d tags", it.ID, n)
		}
		if titles[it.Title] {
			t.Errorf("title %q repeats", it.Title)
		}
		titles[it.Title] = true
		if !strings.Contains(it.Description, it.Categories[0]) {
			t.Errorf("description %q does not mention %q", it.Description, it.Categories[0])
		}
		year, _ := it.Attributes["year"].(int)
		runtime, _ := it.Attributes["runtime_min"].(int)
		if year < 1950 || year > 2025 || runtime < 60 || runtime > 200 {
			t.Errorf("%s: year %d, runtime %d", it.ID, year, runtime)
		}
		if it.IsNew() {
			newCount++
			if !it.New || it.ReleaseRound < 5 || it.ReleaseRound > 9 || it.Popularity != 0 {
				t.Errorf("new item %s: %+v", it.ID, it)
			}
		} else if it.Popularity < 1 {
			t.Errorf("%s has prior %v", it.ID, it.Popularity)
		}
		if i == 0 && it.ID != "item-0001" {
			t.Errorf("first id %q, want item-0001", it.ID)
		}
	}
	if newCount != 50 || c.NewItemCount() != 50 {
		t.Errorf("%d new items, want 50", newCount)
	}
	if got := c.Item(999).ID; got != "item-1000" {
		t.Errorf("last id %q", got)
	}
}

func TestSyntheticZipfShape(t *testing.T) {
	for _, zipf := range []float64{0.5, 1, 1.5} {
		c := mustSynthetic(t, SyntheticConfig{Items: 2000, Zipf: zipf, NewItems: 100, Seed: 9})
		var pops []float64
		for _, it := range c.Items() {
			if !it.IsNew() {
				pops = append(pops, it.Popularity)
			}
		}
		slices.Sort(pops)
		slices.Reverse(pops)
		// popularity(rank r) = 100·2000 / r^zipf, so rank 1 / rank 10 = 10^zipf.
		got, want := pops[0]/pops[9], math.Pow(10, zipf)
		if math.Abs(got-want)/want > 0.001 {
			t.Errorf("zipf %v: top/10th = %v, want %v", zipf, got, want)
		}
		if pops[0] != 200000 {
			t.Errorf("zipf %v: top prior %v, want 200000", zipf, pops[0])
		}
		// New items have no prior: the zero-prior rule gives them half the
		// smallest established share.
		var minShare, newShare float64 = math.Inf(1), 0
		for i, it := range c.Items() {
			if it.IsNew() {
				newShare = c.PopularityShare(i)
			} else {
				minShare = min(minShare, c.PopularityShare(i))
			}
		}
		if math.Abs(newShare-minShare/2) > 1e-15 {
			t.Errorf("zipf %v: new item share %v, want %v", zipf, newShare, minShare/2)
		}
	}
}

func TestSyntheticPopularityIsNotInIDOrder(t *testing.T) {
	c := mustSynthetic(t, SyntheticConfig{Items: 100, Seed: 1})
	sorted := slices.IsSortedFunc(c.Items(), func(a, b Item) int { return int(b.Popularity - a.Popularity) })
	if sorted {
		t.Error("popularity follows the id order; it should follow a seeded permutation")
	}
}

func TestSyntheticCategoryBalance(t *testing.T) {
	c := mustSynthetic(t, SyntheticConfig{Items: 10000, Seed: 5})
	primary := map[string]int{}
	all := map[string]int{}
	for _, it := range c.Items() {
		primary[it.Categories[0]]++
		for _, g := range it.Categories {
			all[g]++
		}
	}
	// Primary categories are uniform: 10000/17 ≈ 588 each.
	mean := 10000.0 / 17
	for _, g := range SyntheticCategories {
		if n := float64(primary[g]); math.Abs(n-mean)/mean > 0.15 {
			t.Errorf("primary %s: %v items, want about %.0f", g, n, mean)
		}
	}
	lo, hi := math.Inf(1), 0.0
	for _, g := range SyntheticCategories {
		lo, hi = min(lo, float64(all[g])), max(hi, float64(all[g]))
	}
	if hi/lo > 2.5 {
		t.Errorf("category counts range %v..%v: not roughly balanced", lo, hi)
	}
}

func TestSyntheticTagsFollowCategories(t *testing.T) {
	c := mustSynthetic(t, SyntheticConfig{Items: 3000, Seed: 11})
	var inPool, total int
	for _, it := range c.Items() {
		for _, tag := range it.Tags {
			total++
			for _, g := range it.Categories {
				if slices.Contains(SyntheticTags[g], tag) {
					inPool++
					break
				}
			}
		}
	}
	// 85% of draws come from the categories' pools, plus chance hits.
	if share := float64(inPool) / float64(total); share < 0.8 {
		t.Errorf("only %.2f of tags belong to the item's categories", share)
	}
}

func TestSyntheticVocabularySize(t *testing.T) {
	tests := []struct {
		cats, tags         int
		wantCats, wantTags []string // checked for presence
		wantNumCats        int
		wantNumTags        int
	}{
		{cats: 3, tags: 5, wantCats: []string{"action", "adventure", "animation"}, wantNumCats: 3, wantNumTags: 5},
		{cats: 20, tags: 120, wantCats: []string{"western", "category-18", "category-20"}, wantTags: []string{"tag-120"}, wantNumCats: 20, wantNumTags: 120},
		{cats: 1, tags: 1, wantCats: []string{"action"}, wantNumCats: 1, wantNumTags: 1},
	}
	for _, tt := range tests {
		c := mustSynthetic(t, SyntheticConfig{Items: 3000, Categories: tt.cats, Tags: tt.tags, Seed: 2})
		if len(c.Categories()) != tt.wantNumCats {
			t.Errorf("categories=%d: got %d: %q", tt.cats, len(c.Categories()), c.Categories())
		}
		if len(c.Tags()) != tt.wantNumTags {
			t.Errorf("tags=%d: got %d", tt.tags, len(c.Tags()))
		}
		for _, g := range tt.wantCats {
			if _, ok := c.CategoryIndex(g); !ok {
				t.Errorf("categories=%d: %q missing", tt.cats, g)
			}
		}
		for _, g := range tt.wantTags {
			if _, ok := c.TagIndex(g); !ok {
				t.Errorf("tags=%d: %q missing", tt.tags, g)
			}
		}
	}
}

func TestSyntheticConfigValidation(t *testing.T) {
	cfg := SyntheticConfig{Items: -1, Categories: -2, Tags: -3, Zipf: -0.5, NewItems: -1, ReleaseFrom: -4, ReleaseTo: -5}
	_, err := Synthetic(cfg)
	want := []string{
		"items: must be between 1 and 5000000, got -1",
		"categories: must be between 1 and 1000, got -2",
		"tags: must be between 1 and 100000, got -3",
		"zipf: must be a finite number ≥ 0, got -0.5",
		"new_items: must be between 0 and items (-1), got -1",
		"release_from: must be ≥ 0, got -4",
		"release_to: must be between release_from (-4) and 1000000, got -5",
	}
	assertErrorLines(t, err, want)
	fields := []string{}
	for _, e := range config.As(err) {
		fields = append(fields, e.Field)
	}
	if !slices.Equal(fields, []string{"items", "categories", "tags", "zipf", "new_items", "release_from", "release_to"}) {
		t.Errorf("fields = %q", fields)
	}

	tests := []struct {
		cfg  SyntheticConfig
		want string
	}{
		{SyntheticConfig{Items: 10, NewItems: 11}, "new_items: must be between 0 and items (10), got 11"},
		{SyntheticConfig{ReleaseFrom: 5, ReleaseTo: 4}, "release_to: must be between release_from (5) and 1000000, got 4"},
		{SyntheticConfig{Zipf: math.NaN()}, "zipf: must be a finite number ≥ 0, got NaN"},
		{SyntheticConfig{Items: 1, NewItems: 1, ReleaseFrom: 0, ReleaseTo: 0}, ""},
	}
	for _, tt := range tests {
		err := tt.cfg.WithDefaults().Validate()
		if tt.want == "" {
			if err != nil {
				t.Errorf("%+v: %v", tt.cfg, err)
			}
			continue
		}
		if err == nil || err.Error() != tt.want || !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: error %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

func BenchmarkSynthetic(b *testing.B) {
	for b.Loop() {
		if _, err := Synthetic(SyntheticConfig{Items: 10000, NewItems: 500, ReleaseFrom: 1, ReleaseTo: 30, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

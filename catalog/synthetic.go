package catalog

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/recloop/recloop/internal/rng"
)

// SyntheticConfig describes a generated catalog. Zero fields take the
// defaults of WithDefaults.
type SyntheticConfig struct {
	Items       int     `yaml:"items" json:"items"`
	Categories  int     `yaml:"categories" json:"categories"`
	Tags        int     `yaml:"tags" json:"tags"`
	Zipf        float64 `yaml:"zipf" json:"zipf"`
	NewItems    int     `yaml:"new_items" json:"new_items"`
	ReleaseFrom int     `yaml:"release_from" json:"release_from"`
	ReleaseTo   int     `yaml:"release_to" json:"release_to"`
	Seed        uint64  `yaml:"seed,omitempty" json:"seed,omitempty"`
}

// Upper bounds that keep a typo (items: 1e9) from exhausting memory.
const (
	maxSyntheticItems      = 5_000_000
	maxSyntheticCategories = 1000
	maxSyntheticTags       = 100_000
	maxSyntheticRound      = 1_000_000
)

// WithDefaults fills zero fields: 2000 items, every SyntheticCategories
// category, every SyntheticTags tag, Zipf exponent 1.
func (c SyntheticConfig) WithDefaults() SyntheticConfig {
	if c.Items == 0 {
		c.Items = 2000
	}
	if c.Categories == 0 {
		c.Categories = len(SyntheticCategories)
	}
	if c.Tags == 0 {
		c.Tags = len(syntheticTagVocabulary())
	}
	if c.Zipf == 0 {
		c.Zipf = 1
	}
	return c
}

// Validate reports every out-of-range field, each named by its YAML key.
func (c SyntheticConfig) Validate() error {
	p := &problems{}
	if c.Items < 1 || c.Items > maxSyntheticItems {
		p.add(0, "items", "must be between 1 and %d, got %d", maxSyntheticItems, c.Items)
	}
	if c.Categories < 1 || c.Categories > maxSyntheticCategories {
		p.add(0, "categories", "must be between 1 and %d, got %d", maxSyntheticCategories, c.Categories)
	}
	if c.Tags < 1 || c.Tags > maxSyntheticTags {
		p.add(0, "tags", "must be between 1 and %d, got %d", maxSyntheticTags, c.Tags)
	}
	if !(c.Zipf >= 0) || math.IsInf(c.Zipf, 0) {
		p.add(0, "zipf", "must be a finite number ≥ 0, got %v", c.Zipf)
	}
	if c.NewItems < 0 || c.NewItems > c.Items {
		p.add(0, "new_items", "must be between 0 and items (%d), got %d", c.Items, c.NewItems)
	}
	if c.ReleaseFrom < 0 {
		p.add(0, "release_from", "must be ≥ 0, got %d", c.ReleaseFrom)
	}
	if c.ReleaseTo < c.ReleaseFrom || c.ReleaseTo > maxSyntheticRound {
		p.add(0, "release_to", "must be between release_from (%d) and %d, got %d", c.ReleaseFrom, maxSyntheticRound, c.ReleaseTo)
	}
	return p.err()
}

// Synthetic generates a catalog from cfg (defaults applied first). The same
// config, seed included, always gives the same catalog.
func Synthetic(cfg SyntheticConfig) (*Catalog, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := newSynthGen(cfg)
	items := make([]Item, cfg.Items)
	width := len(strconv.Itoa(cfg.Items))
	for i := range items {
		items[i] = g.item(fmt.Sprintf("item-%0*d", width, i+1))
	}
	g.assignPopularity(items)
	return New(items)
}

// syntheticTagVocabulary lists the SyntheticTags tags once each, in the
// order of SyntheticCategories, so "the first N tags" is well defined.
func syntheticTagVocabulary() []string {
	var out []string
	seen := map[string]bool{}
	for _, cat := range SyntheticCategories {
		for _, t := range SyntheticTags[cat] {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}

// syntheticAffinity says which categories an item of a category tends to
// share (an action film is often also an adventure or a thriller).
var syntheticAffinity = map[string][]string{
	"action":      {"adventure", "thriller", "sci-fi", "crime", "war"},
	"adventure":   {"action", "fantasy", "family", "sci-fi", "western"},
	"animation":   {"family", "comedy", "fantasy", "musical"},
	"comedy":      {"romance", "family", "drama", "animation", "crime"},
	"crime":       {"thriller", "drama", "mystery", "action"},
	"documentary": {"war", "drama", "musical"},
	"drama":       {"romance", "crime", "war", "comedy", "mystery"},
	"family":      {"animation", "comedy", "adventure", "fantasy", "musical"},
	"fantasy":     {"adventure", "animation", "family", "horror"},
	"horror":      {"thriller", "mystery", "fantasy", "sci-fi"},
	"musical":     {"romance", "comedy", "family", "animation"},
	"mystery":     {"thriller", "crime", "horror", "drama"},
	"romance":     {"drama", "comedy", "musical"},
	"sci-fi":      {"action", "thriller", "adventure", "horror"},
	"thriller":    {"crime", "mystery", "action", "horror"},
	"war":         {"drama", "action", "documentary", "western"},
	"western":     {"action", "adventure", "drama"},
}

var (
	titleAdjectives = []string{
		"Last", "Silent", "Midnight", "Broken", "Golden", "Hidden", "Crimson", "Distant",
		"Final", "Frozen", "Burning", "Lost", "Secret", "Savage", "Quiet", "Wild",
		"Iron", "Electric", "Hollow", "Endless", "Dark", "Bright", "Little", "Long",
		"Forgotten", "Shattered", "Restless", "Northern", "Velvet", "Wandering", "Stolen", "Rising",
	}
	titleNouns = []string{
		"Orbit", "Heist", "Harbor", "Kingdom", "River", "Signal", "Frontier", "Garden",
		"Shadow", "Empire", "Horizon", "Promise", "Storm", "Voyage", "Machine", "Letter",
		"Summer", "Winter", "Crown", "Circle", "Station", "Island", "Mirror", "Road",
		"Legacy", "Code", "Night", "Dream", "Escape", "Hunt", "Bridge", "Forest",
		"City", "Engine", "Song", "Verdict",
	}
	titlePlaces = []string{
		"Paris", "Tokyo", "the Desert", "Brooklyn", "the Valley", "Lisbon", "the North",
		"Marrakesh", "the Deep", "Havana", "Berlin", "the Outback",
	}
	descriptionMoods = []string{
		"gripping", "gentle", "offbeat", "sweeping", "tense", "heartfelt", "stylish",
		"sprawling", "quiet", "darkly funny", "bittersweet", "breathless",
	}
)

type synthGen struct {
	cfg        SyntheticConfig
	r          *rand.Rand
	categories []string
	tags       []string
	pools      [][]int // per category: indexes into tags
	neighbours [][]int // per category: indexes into categories
	titles     map[string]int
}

func newSynthGen(cfg SyntheticConfig) *synthGen {
	g := &synthGen{
		cfg:    cfg,
		r:      rng.New(rng.Key(cfg.Seed, rng.PurposeCatalog)),
		titles: make(map[string]int, cfg.Items),
	}
	g.categories = extendNames(SyntheticCategories, cfg.Categories, "category")
	g.tags = extendNames(syntheticTagVocabulary(), cfg.Tags, "tag")
	catIndex := indexOf(g.categories)
	tagIndex := indexOf(g.tags)

	g.pools = make([][]int, len(g.categories))
	g.neighbours = make([][]int, len(g.categories))
	for c, name := range g.categories {
		for _, t := range SyntheticTags[name] {
			if k, ok := tagIndex[t]; ok {
				g.pools[c] = append(g.pools[c], k)
			}
		}
		for _, n := range syntheticAffinity[name] {
			if k, ok := catIndex[n]; ok {
				g.neighbours[c] = append(g.neighbours[c], k)
			}
		}
		if len(g.neighbours[c]) == 0 && len(g.categories) > 1 {
			nc := len(g.categories)
			g.neighbours[c] = append(g.neighbours[c], (c+1)%nc)
			if prev := (c + nc - 1) % nc; prev != (c+1)%nc {
				g.neighbours[c] = append(g.neighbours[c], prev)
			}
		}
	}
	// Generated tags ("tag-18", …) are dealt to categories in turn, so they
	// correlate with categories like the named ones.
	for k := len(syntheticTagVocabulary()); k < len(g.tags); k++ {
		c := k % len(g.categories)
		g.pools[c] = append(g.pools[c], k)
	}
	for c := range g.pools {
		if len(g.pools[c]) < 2 {
			for _, k := range g.r.Perm(len(g.tags))[:min(4, len(g.tags))] {
				if !slices.Contains(g.pools[c], k) {
					g.pools[c] = append(g.pools[c], k)
				}
			}
		}
	}
	return g
}

// extendNames takes the first n of base, adding "prefix-NN" names when n is
// larger than base.
func extendNames(base []string, n int, prefix string) []string {
	out := slices.Clone(base[:min(n, len(base))])
	for k := len(base); k < n; k++ {
		out = append(out, fmt.Sprintf("%s-%02d", prefix, k+1))
	}
	return out
}

func indexOf(names []string) map[string]int {
	m := make(map[string]int, len(names))
	for i, n := range names {
		m[n] = i
	}
	return m
}

func (g *synthGen) item(id string) Item {
	cats := g.itemCategories()
	tags := g.itemTags(cats)
	title := g.title()
	it := Item{
		ID:         id,
		Title:      title,
		Categories: make([]string, len(cats)),
		Tags:       make([]string, len(tags)),
	}
	for k, c := range cats {
		it.Categories[k] = g.categories[c]
	}
	for k, t := range tags {
		it.Tags[k] = g.tags[t]
	}
	it.Description = g.description(title, it.Categories, it.Tags)
	runtime := 110.0
	switch it.Categories[0] {
	case "animation", "family":
		runtime = 90
	case "documentary":
		runtime = 95
	}
	it.Attributes = map[string]any{
		"year":        1950 + g.r.IntN(76),
		"runtime_min": int(math.Round(min(200, max(60, runtime+15*g.r.NormFloat64())))),
	}
	return it
}

// itemCategories draws a primary category uniformly, so categories are
// balanced, and 0–2 secondaries, mostly among the primary's neighbours.
func (g *synthGen) itemCategories() []int {
	nc := len(g.categories)
	primary := g.r.IntN(nc)
	n := 1
	switch u := g.r.Float64(); {
	case u >= 0.85:
		n = 3
	case u >= 0.45:
		n = 2
	}
	cats := []int{primary}
	for attempt := 0; len(cats) < min(n, nc) && attempt < 20; attempt++ {
		var c int
		if nb := g.neighbours[primary]; len(nb) > 0 && g.r.Float64() < 0.75 {
			c = nb[g.r.IntN(len(nb))]
		} else {
			c = g.r.IntN(nc)
		}
		if !slices.Contains(cats, c) {
			cats = append(cats, c)
		}
	}
	return cats
}

// itemTags draws 2–5 distinct tags, most from the pools of the item's
// categories (the primary's most often), some from anywhere.
func (g *synthGen) itemTags(cats []int) []int {
	n := min(2+g.r.IntN(4), len(g.tags))
	tags := make([]int, 0, n)
	for attempt := 0; len(tags) < n && attempt < 50; attempt++ {
		var t int
		if g.r.Float64() < 0.85 {
			c := cats[0]
			if len(cats) > 1 && g.r.Float64() >= 0.6 {
				c = cats[1+g.r.IntN(len(cats)-1)]
			}
			pool := g.pools[c]
			t = pool[g.r.IntN(len(pool))]
		} else {
			t = g.r.IntN(len(g.tags))
		}
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	return tags
}

func (g *synthGen) title() string {
	adj := func() string { return titleAdjectives[g.r.IntN(len(titleAdjectives))] }
	noun := func() string { return titleNouns[g.r.IntN(len(titleNouns))] }
	nounPair := func() (string, string) {
		// Adding 1..len-1 modulo len never lands on the first noun again.
		a := g.r.IntN(len(titleNouns))
		b := (a + 1 + g.r.IntN(len(titleNouns)-1)) % len(titleNouns)
		return titleNouns[a], titleNouns[b]
	}
	var t string
	switch g.r.IntN(6) {
	case 0, 1:
		t = "The " + adj() + " " + noun()
	case 2:
		t = adj() + " " + noun()
	case 3:
		a, b := nounPair()
		t = a + " of the " + adj() + " " + b
	case 4:
		a, b := nounPair()
		t = "The " + a + " and the " + b
	default:
		t = "A " + noun() + " in " + titlePlaces[g.r.IntN(len(titlePlaces))]
	}
	// Base titles have no digits, so "X 2" never collides with a base title.
	g.titles[t]++
	if n := g.titles[t]; n > 1 {
		t += " " + strconv.Itoa(n)
	}
	return t
}

func (g *synthGen) description(title string, cats, tags []string) string {
	genre := joinAnd(cats)
	about := make([]string, len(tags))
	for k, t := range tags {
		about[k] = strings.ReplaceAll(t, "-", " ")
	}
	mood := descriptionMoods[g.r.IntN(len(descriptionMoods))]
	switch template := g.r.IntN(3); {
	case template == 1:
		return fmt.Sprintf("%s is %s %s %s story of %s.", title, article(mood), mood, genre, joinAnd(about))
	case template == 2 && len(about) >= 2:
		return fmt.Sprintf("%s meets %s in this %s %s picture.", capitalise(about[0]), joinAnd(about[1:]), mood, genre)
	default:
		return fmt.Sprintf("%s %s %s film about %s.", capitalise(article(mood)), mood, genre, joinAnd(about))
	}
}

func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

func joinAnd(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// assignPopularity gives the established items a Zipf prior, 1/rank^zipf
// scaled so the most popular has 100·Items, over a seeded random order; new
// items get no prior at all (they have no interactions before release), so
// PopularityShare gives them the zero-prior share.
func (g *synthGen) assignPopularity(items []Item) {
	order := g.r.Perm(len(items))
	for _, i := range order[:g.cfg.NewItems] {
		items[i].New = true
		items[i].ReleaseRound = g.cfg.ReleaseFrom + g.r.IntN(g.cfg.ReleaseTo-g.cfg.ReleaseFrom+1)
	}
	scale := 100 * float64(len(items))
	for rank, i := range order[g.cfg.NewItems:] {
		items[i].Popularity = max(1, math.Round(scale/math.Pow(float64(rank+1), g.cfg.Zipf)))
	}
}

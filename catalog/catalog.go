// Package catalog holds the items a recommender can show, their feature
// vectors, their popularity prior, and the loaders that read them.
package catalog

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"github.com/recloop/recloop/config"
)

// ErrInvalid is matched by every catalog validation failure.
var ErrInvalid = errors.New("catalog: invalid")

// Item is one thing a recommender can show.
type Item struct {
	ID           string         `json:"id" yaml:"id"`
	Title        string         `json:"title,omitempty" yaml:"title,omitempty"`
	Categories   []string       `json:"categories,omitempty" yaml:"categories,omitempty"`
	Tags         []string       `json:"tags,omitempty" yaml:"tags,omitempty"`
	Attributes   map[string]any `json:"attributes,omitempty" yaml:"attributes,omitempty"`
	Description  string         `json:"description,omitempty" yaml:"description,omitempty"`
	Popularity   float64        `json:"popularity,omitempty" yaml:"popularity,omitempty"`
	Embedding    []float32      `json:"embedding,omitempty" yaml:"embedding,omitempty"`
	ReleaseRound int            `json:"release_round,omitempty" yaml:"release_round,omitempty"`
	New          bool           `json:"new,omitempty" yaml:"new,omitempty"`
}

// IsNew reports whether the item counts as a new item for cold-start metrics.
func (it *Item) IsNew() bool { return it.New || it.ReleaseRound > 0 }

// Interaction is one row of an interaction log.
type Interaction struct {
	User      string  `json:"user"`
	Item      string  `json:"item"`
	Rating    float64 `json:"rating,omitempty"`
	Timestamp int64   `json:"timestamp,omitempty"`
}

// Taste is a set of weights over categories and tags. Persona interests and
// latent interests are tastes.
type Taste struct {
	Categories map[string]float64 `json:"categories,omitempty" yaml:"categories,omitempty"`
	Tags       map[string]float64 `json:"tags,omitempty" yaml:"tags,omitempty"`
}

// IsZero reports whether the taste has no weights at all.
func (t Taste) IsZero() bool { return len(t.Categories) == 0 && len(t.Tags) == 0 }

// SparseVec is an L2-normalised sparse vector over a catalog's feature space.
type SparseVec struct {
	Idx []int32
	Val []float64
}

// Dot multiplies a sparse vector with a dense one.
func (s SparseVec) Dot(dense []float64) float64 {
	var sum float64
	for k, i := range s.Idx {
		sum += s.Val[k] * dense[i]
	}
	return sum
}

// Catalog is an immutable, indexed set of items. Items are addressed by a
// dense index (0..Len-1) internally and by ID at the edges.
type Catalog struct {
	items      []Item
	index      map[string]int
	categories []string
	tags       []string
	catIndex   map[string]int
	tagIndex   map[string]int
	itemCats   [][]int32
	itemTags   [][]int32
	features   []SparseVec
	featNorm   []float64 // 1/√n, the value of each of item i's n features
	featWords  int       // words per item in featBits; 0 when the space is too wide
	featBits   []uint64  // item i's features as a bitset at [i·featWords, (i+1)·featWords)
	embeddings [][]float64
	popShare   []float64
	newItems   int
}

// New validates items and builds the indexes. Every problem is reported at
// once, by item index ("items[3].popularity: …"). Category and tag names are
// normalised (lower case, spaces to hyphens) so that "Sci-Fi" and "sci-fi" are
// one category.
func New(items []Item) (*Catalog, error) {
	c := &Catalog{
		items:    make([]Item, len(items)),
		index:    make(map[string]int, len(items)),
		catIndex: map[string]int{},
		tagIndex: map[string]int{},
	}
	copy(c.items, items)
	probs := &problems{}
	check := newItemChecker(len(items))
	for i := range c.items {
		it := &c.items[i]
		path := config.Index("items", i)
		check.check(it, path, func(field, format string, args ...any) {
			probs.add(0, config.Join(path, field), format, args...)
		})
		if _, seen := c.index[it.ID]; seen || it.ID == "" {
			continue
		}
		c.index[it.ID] = i
		it.Categories = normaliseNames(it.Categories)
		it.Tags = normaliseNames(it.Tags)
		for _, g := range it.Categories {
			c.catIndex[g] = 0
		}
		for _, t := range it.Tags {
			c.tagIndex[t] = 0
		}
		if it.IsNew() {
			c.newItems++
		}
	}
	if err := probs.err(); err != nil {
		return nil, err
	}
	if len(c.items) == 0 {
		return nil, fmt.Errorf("%w: the catalog has no items", ErrInvalid)
	}
	c.categories = sortedKeys(c.catIndex)
	c.tags = sortedKeys(c.tagIndex)
	for i, g := range c.categories {
		c.catIndex[g] = i
	}
	for i, t := range c.tags {
		c.tagIndex[t] = i
	}
	c.buildFeatures()
	c.buildPopularity()
	return c, nil
}

// NormaliseName is the canonical form of a category or tag name.
func NormaliseName(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.Join(strings.Fields(s), "-")
}

func normaliseNames(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, 0, len(in))
	seen := make(map[string]bool, len(in))
	for _, s := range in {
		n := NormaliseName(s)
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, n)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func (c *Catalog) buildFeatures() {
	nc := len(c.categories)
	c.itemCats = make([][]int32, len(c.items))
	c.itemTags = make([][]int32, len(c.items))
	c.features = make([]SparseVec, len(c.items))
	c.featNorm = make([]float64, len(c.items))
	hasEmb := false
	for i := range c.items {
		it := &c.items[i]
		cats := make([]int32, len(it.Categories))
		for k, g := range it.Categories {
			cats[k] = int32(c.catIndex[g])
		}
		tags := make([]int32, len(it.Tags))
		for k, t := range it.Tags {
			tags[k] = int32(c.tagIndex[t])
		}
		c.itemCats[i], c.itemTags[i] = cats, tags
		n := len(cats) + len(tags)
		v := SparseVec{Idx: make([]int32, 0, n), Val: make([]float64, 0, n)}
		if n > 0 {
			// Similarity merges two vectors by index, so indexes must ascend;
			// the item's own order (primary category first) stays in itemCats.
			w := 1 / math.Sqrt(float64(n))
			v.Idx = append(v.Idx, cats...)
			for _, t := range tags {
				v.Idx = append(v.Idx, int32(nc)+t)
			}
			slices.Sort(v.Idx)
			for range n {
				v.Val = append(v.Val, w)
			}
		}
		c.features[i] = v
		if n > 0 {
			c.featNorm[i] = v.Val[0]
		}
		if len(it.Embedding) > 0 {
			hasEmb = true
		}
	}
	c.buildFeatureBits()
	if hasEmb {
		c.embeddings = make([][]float64, len(c.items))
		for i := range c.items {
			c.embeddings[i] = normalise(c.items[i].Embedding)
		}
	}
}

// maxFeatureWords bounds the bitset form of the features (512 features).
// Wider spaces, such as MovieLens with user tags, use the sparse merge.
const maxFeatureWords = 8

// buildFeatureBits stores the features as bitsets when the space is narrow:
// every feature of an item has the same weight, so the cosine of two items is
// |common features| · w_a · w_b, and a popcount finds the common features
// without the branches of a sorted merge.
func (c *Catalog) buildFeatureBits() {
	words := (c.NumFeatures() + 63) / 64
	if words > maxFeatureWords {
		return
	}
	c.featWords = words
	c.featBits = make([]uint64, len(c.items)*words)
	for i, v := range c.features {
		row := c.featBits[i*words : (i+1)*words]
		for _, f := range v.Idx {
			row[f/64] |= 1 << (f % 64)
		}
	}
}

func normalise(e []float32) []float64 {
	if len(e) == 0 {
		return nil
	}
	out := make([]float64, len(e))
	var norm float64
	for i, x := range e {
		out[i] = float64(x)
		norm += float64(x) * float64(x)
	}
	if norm == 0 {
		return out
	}
	norm = math.Sqrt(norm)
	for i := range out {
		out[i] /= norm
	}
	return out
}

// buildPopularity turns the prior into shares p(i) that sum to 1. An item with
// a zero prior gets half the smallest positive share, so novelty stays finite;
// a catalog with no prior at all is uniform.
func (c *Catalog) buildPopularity() {
	c.popShare = make([]float64, len(c.items))
	var maxP, minPos float64
	for i := range c.items {
		p := c.items[i].Popularity
		maxP = max(maxP, p)
		if p > 0 && (minPos == 0 || p < minPos) {
			minPos = p
		}
	}
	if maxP == 0 {
		for i := range c.popShare {
			c.popShare[i] = 1 / float64(len(c.items))
		}
		return
	}
	// Dividing by the largest prior first keeps the sum finite even for
	// priors near the float64 limit.
	var sum float64
	for i := range c.items {
		p := c.items[i].Popularity
		if p == 0 {
			p = minPos / 2
		}
		c.popShare[i] = p / maxP
		sum += c.popShare[i]
	}
	for i := range c.popShare {
		c.popShare[i] /= sum
	}
}

// Len is the number of items.
func (c *Catalog) Len() int { return len(c.items) }

// Item returns the item at a dense index.
func (c *Catalog) Item(i int) *Item { return &c.items[i] }

// Items returns all items in index order. Callers must not modify them.
func (c *Catalog) Items() []Item { return c.items }

// Index maps an item id to its dense index.
func (c *Catalog) Index(id string) (int, bool) {
	i, ok := c.index[id]
	return i, ok
}

// Categories is the sorted category vocabulary.
func (c *Catalog) Categories() []string { return c.categories }

// Tags is the sorted tag vocabulary.
func (c *Catalog) Tags() []string { return c.tags }

// CategoryIndex maps a (normalised) category name to its index.
func (c *Catalog) CategoryIndex(name string) (int, bool) {
	i, ok := c.catIndex[NormaliseName(name)]
	return i, ok
}

// TagIndex maps a (normalised) tag name to its index.
func (c *Catalog) TagIndex(name string) (int, bool) {
	i, ok := c.tagIndex[NormaliseName(name)]
	return i, ok
}

// ItemCategories returns the category indexes of item i.
func (c *Catalog) ItemCategories(i int) []int32 { return c.itemCats[i] }

// ItemTags returns the tag indexes of item i.
func (c *Catalog) ItemTags(i int) []int32 { return c.itemTags[i] }

// NumFeatures is the size of the feature space: categories first, then tags.
func (c *Catalog) NumFeatures() int { return len(c.categories) + len(c.tags) }

// FeatureName names feature f ("category:drama" or "tag:space").
func (c *Catalog) FeatureName(f int) string {
	if f < len(c.categories) {
		return "category:" + c.categories[f]
	}
	return "tag:" + c.tags[f-len(c.categories)]
}

// Features returns item i's L2-normalised multi-hot vector over categories and tags.
func (c *Catalog) Features(i int) SparseVec { return c.features[i] }

// HasEmbeddings reports whether distances use embeddings.
func (c *Catalog) HasEmbeddings() bool { return c.embeddings != nil }

// Similarity is cos(x_a, x_b): on embeddings when both items have one,
// otherwise on the multi-hot category and tag vectors.
func (c *Catalog) Similarity(a, b int) float64 {
	if c.embeddings != nil && len(c.embeddings[a]) > 0 && len(c.embeddings[a]) == len(c.embeddings[b]) {
		var s float64
		for k, x := range c.embeddings[a] {
			s += x * c.embeddings[b][k]
		}
		return clampCosine(s)
	}
	if w := c.featWords; w > 0 {
		ra, rb := c.featBits[a*w:(a+1)*w], c.featBits[b*w:(b+1)*w]
		common := 0
		for k, x := range ra {
			common += bits.OnesCount64(x & rb[k])
		}
		return clampCosine(float64(common) * c.featNorm[a] * c.featNorm[b])
	}
	fa, fb := c.features[a], c.features[b]
	var s float64
	for i, j := 0, 0; i < len(fa.Idx) && j < len(fb.Idx); {
		switch {
		case fa.Idx[i] == fb.Idx[j]:
			s += fa.Val[i] * fb.Val[j]
			i++
			j++
		case fa.Idx[i] < fb.Idx[j]:
			i++
		default:
			j++
		}
	}
	return clampCosine(s)
}

// clampCosine removes rounding overshoot (3 · (1/√3)² is 1.0000000000000002),
// so an item's distance to itself is exactly 0, never slightly negative.
func clampCosine(s float64) float64 {
	return min(1, max(-1, s))
}

// Distance is d(a, b) = 1 − cos(x_a, x_b), as METRICS.md defines it.
func (c *Catalog) Distance(a, b int) float64 { return 1 - c.Similarity(a, b) }

// PopularityShare is p(i), the item's share of the popularity prior.
func (c *Catalog) PopularityShare(i int) float64 { return c.popShare[i] }

// NewItemCount is the number of items released mid-run or marked new.
func (c *Catalog) NewItemCount() int { return c.newItems }

// TasteVector turns a taste into a dense vector over the feature space.
// Names the catalog does not know are returned in unknown (as "category:x" or
// "tag:y") so the caller can report them.
func (c *Catalog) TasteVector(t Taste) (vec []float64, unknown []string) {
	vec = make([]float64, c.NumFeatures())
	for _, name := range sortedKeys(t.Categories) {
		if i, ok := c.CategoryIndex(name); ok {
			vec[i] += t.Categories[name]
		} else {
			unknown = append(unknown, "category:"+name)
		}
	}
	for _, name := range sortedKeys(t.Tags) {
		if i, ok := c.TagIndex(name); ok {
			vec[len(c.categories)+i] += t.Tags[name]
		} else {
			unknown = append(unknown, "tag:"+name)
		}
	}
	return vec, unknown
}

// TasteFromVector is the inverse of TasteVector, keeping only non-zero
// weights. Entries past NumFeatures are ignored.
func (c *Catalog) TasteFromVector(vec []float64) Taste {
	var t Taste
	for f, w := range vec[:min(len(vec), c.NumFeatures())] {
		if w == 0 {
			continue
		}
		if f < len(c.categories) {
			if t.Categories == nil {
				t.Categories = map[string]float64{}
			}
			t.Categories[c.categories[f]] = w
		} else {
			if t.Tags == nil {
				t.Tags = map[string]float64{}
			}
			t.Tags[c.tags[f-len(c.categories)]] = w
		}
	}
	return t
}

// AttributeNumber reads an attribute value as a number: a number of any
// Go numeric kind a loader produces, or a string that parses as one. NaN is
// not a number here.
func AttributeNumber(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case float64:
		f = x
	case float32:
		f = float64(x)
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	return f, !math.IsNaN(f)
}

package metrics

import (
	"math"
	"slices"

	"github.com/recloop/recloop/catalog"
)

// itemTable packs what the hot path reads about each item into one record
// per item, plus one flat feature array. An impression then costs a cache
// line or two instead of one per catalog slice it touches.
type itemTable struct {
	info  []itemInfo
	feats []feature // feature vectors, item after item
}

// itemInfo locates item i's features: feats[featLo:featHi], of which the
// categories come first, feats[featLo:catHi] (catalog.Features puts
// categories before tags).
type itemInfo struct {
	novelty               float64 // −log2 p(i)
	popRank               int32   // 0 = most popular; ties keep catalog order
	featLo, catHi, featHi int32
	isNew                 bool
}

// feature is one non-zero entry of an item's multi-hot vector: categories
// first, then tags (catalog.Features).
type feature struct {
	idx int32
	val float64
}

func newItemTable(cat *catalog.Catalog) itemTable {
	n := cat.Len()
	t := itemTable{info: make([]itemInfo, n)}
	for i := range n {
		in := &t.info[i]
		in.novelty = -math.Log2(cat.PopularityShare(i))
		in.isNew = cat.Item(i).IsNew()
		in.featLo = int32(len(t.feats))
		numCats := int32(len(cat.Categories()))
		f := cat.Features(i)
		for k, idx := range f.Idx {
			t.feats = append(t.feats, feature{idx: idx, val: f.Val[k]})
			if idx < numCats {
				in.catHi = int32(len(t.feats))
			}
		}
		in.featHi = int32(len(t.feats))
		if in.catHi == 0 {
			in.catHi = in.featLo
		}
	}
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(x, y int32) int {
		px, py := cat.PopularityShare(int(x)), cat.PopularityShare(int(y))
		switch {
		case px > py:
			return -1
		case px < py:
			return 1
		}
		return 0
	})
	for r, i := range order {
		t.info[i].popRank = int32(r)
	}
	return t
}

// categories returns item i's categories (feature index = category index).
func (t *itemTable) categories(i int32) []feature {
	in := &t.info[i]
	return t.feats[in.featLo:in.catHi]
}

func (t *itemTable) features(i int32) []feature {
	in := &t.info[i]
	return t.feats[in.featLo:in.featHi]
}

// sharesFeature reports whether fs has an index in the ascending set.
func sharesFeature(set []int32, fs []feature) bool {
	for _, f := range fs {
		if containsSorted(set, f.idx) {
			return true
		}
	}
	return false
}

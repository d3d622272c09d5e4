package catalog

import "math"

// BlockFeatures returns every item's features with categories and tags in
// separate blocks, in the same index space as Features: the categories
// multi-hot and scaled to norm 1; the tags weighted by their inverse
// document frequency, idf(t) = ln((1 + n)/(1 + n_t)) + 1 over the n items,
// scaled to norm tagWeight; the whole vector then scaled to norm 1. An item
// with many tags therefore keeps its categories' weight, and a tag on every
// other item counts less than a rare one. Features mixes both into one
// multi-hot vector, which is what content-based recommenders rank by.
func (c *Catalog) BlockFeatures(tagWeight float64) []SparseVec {
	n := len(c.items)
	itemsWithTag := make([]int, len(c.tags))
	for _, tags := range c.itemTags {
		for _, t := range tags {
			itemsWithTag[t]++
		}
	}
	idf := make([]float64, len(c.tags))
	for t, nt := range itemsWithTag {
		idf[t] = math.Log(float64(1+n)/float64(1+nt)) + 1
	}
	nc := int32(len(c.categories))
	out := make([]SparseVec, n)
	for i, v := range c.features {
		cats, tags := c.itemCats[i], c.itemTags[i]
		var tagNorm float64
		for _, t := range tags {
			tagNorm += idf[t] * idf[t]
		}
		tagNorm = math.Sqrt(tagNorm)
		catScale, tagScale := 0.0, 0.0
		if len(cats) > 0 {
			catScale = 1 / math.Sqrt(float64(len(cats)))
		}
		if tagNorm > 0 && tagWeight > 0 {
			tagScale = tagWeight / tagNorm
		}
		total := 0.0
		if len(cats) > 0 {
			total++
		}
		if tagScale > 0 {
			total += tagWeight * tagWeight
		}
		w := SparseVec{Idx: make([]int32, 0, len(v.Idx)), Val: make([]float64, 0, len(v.Idx))}
		if total == 0 {
			out[i] = w
			continue
		}
		norm := 1 / math.Sqrt(total)
		// v.Idx ascends, categories first, so the block vector does too.
		for _, f := range v.Idx {
			var x float64
			if f < nc {
				x = catScale
			} else {
				x = tagScale * idf[f-nc]
			}
			if x > 0 {
				w.Idx = append(w.Idx, f)
				w.Val = append(w.Val, x*norm)
			}
		}
		out[i] = w
	}
	return out
}

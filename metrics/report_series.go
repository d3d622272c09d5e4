package metrics

// categoryShareState accumulates, per round, how the items consumed in one
// variant's world spread over the catalog's categories: every clicked item
// spreads weight 1 evenly over its categories, as in calibration KL.
type categoryShareState struct {
	weights [][]float64 // round → category → weight
	totals  []float64   // round → clicks with at least one category
}

func (c *categoryShareState) add(t, numCats int, cats []feature) {
	if t < 0 || len(cats) == 0 {
		return
	}
	for len(c.weights) <= t {
		c.weights = append(c.weights, nil)
		c.totals = append(c.totals, 0)
	}
	if c.weights[t] == nil {
		c.weights[t] = make([]float64, numCats)
	}
	share := 1 / float64(len(cats))
	for _, f := range cats {
		c.weights[t][f.idx] += share
	}
	c.totals[t]++
}

// categoryShares is VariantResult.CategoryShare: category → its share of the
// round's consumption (NaN in a round without clicks). Categories never
// consumed are left out; nil when nothing was consumed.
func (a *Aggregator) categoryShares(v *variantState, rounds int) map[string][]Float {
	c := &v.catShare
	names := a.cat.Categories()
	out := map[string][]Float{}
	for g, name := range names {
		consumed := false
		for t := range c.weights {
			if c.weights[t] != nil && c.weights[t][g] > 0 {
				consumed = true
				break
			}
		}
		if !consumed {
			continue
		}
		series := make([]Float, rounds)
		for t := range series {
			series[t] = nan()
			if t < len(c.totals) && c.totals[t] > 0 {
				series[t] = Float(c.weights[t][g] / c.totals[t])
			}
		}
		out[name] = series
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

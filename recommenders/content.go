package recommenders

import (
	"cmp"
	"context"
	"math"
	"slices"

	"github.com/recloop/recloop/config"
)

var contentSpec = config.Spec{
	Name: "content",
	Summary: "Content-based filtering on the catalog's features (categories and tags, L2-normalised). " +
		"The user's profile is the weighted mean of the feature vectors of their last `window` history " +
		"items, h = Σ w_j·x_j with w_j = recency_decay^age_j · ρ(r_j), age 0 for the newest item and " +
		"ρ(r) = (r − neutral_rating)/(5 − neutral_rating) for a rating r on the 1–5 scale, ρ = 1 when unrated. " +
		"Feedback teaches it what the user passed over (Rocchio): with s the sum of the feature vectors " +
		"of the items the user was shown and did not click, the profile is q = h/‖h‖ − skip_weight·s/‖s‖. " +
		"A search query (Request.Context[\"query\"]) that names a category or tag adds query_weight to that feature of q " +
		"for this request; a click the user bounced off counts as passed over. " +
		"An item scores cos(q, x_i). Users without history or query get the `popular` ranking (defaults).",
	Params: []config.Param{
		{Name: "window", Kind: config.Int, Default: 50, Min: ptr(1.0), Max: ptr(10000.0),
			Doc: "How many of the user's latest items form the profile."},
		{Name: "recency_decay", Kind: config.Float, Default: 0.9, Min: ptr(0.0), Max: ptr(1.0),
			Doc: "Each step back in the history multiplies an item's weight by this; 1 weighs the window evenly."},
		{Name: "neutral_rating", Kind: config.Float, Default: 2.5, Min: ptr(0.0), Max: ptr(4.5),
			Doc: "The rating that carries no weight; lower ratings push the profile away from the item."},
		{Name: "skip_weight", Kind: config.Float, Default: 0.15, Min: ptr(0.0), Max: ptr(1.0),
			Doc: "How strongly shown-but-not-clicked items pull the profile away from their features (Rocchio's β)."},
		{Name: "query_weight", Kind: config.Float, Default: 0.5, Min: ptr(0.0), Max: ptr(10.0),
			Doc: "How strongly a search query naming a category or tag pulls this request's profile toward it; 0 ignores queries."},
	},
}

func init() {
	registerBuiltin(contentSpec, func(env Env, p config.Params) (Recommender, error) {
		pr := p.Reader(contentSpec.Name)
		r := &content{
			window:      pr.Int("window"),
			decay:       pr.Float("recency_decay"),
			neutral:     pr.Float("neutral_rating"),
			skipWeight:  pr.Float("skip_weight"),
			queryWeight: pr.Float("query_weight"),
			pop:         newFallbackPopularity(env.Catalog),
			skips:       map[string][]float64{},
		}
		if err := pr.Err(); err != nil {
			return nil, err
		}
		r.init(env.Catalog)
		cat := env.Catalog
		r.featNames = append(append([]string(nil), cat.Categories()...), cat.Tags()...)
		r.featIndex = make(map[string]int, len(r.featNames))
		for f, name := range r.featNames {
			if _, dup := r.featIndex[name]; !dup {
				r.featIndex[name] = f
			}
		}
		r.featPtr = make([]int32, cat.Len()+1)
		postings := make([][]int32, len(r.featNames))
		r.multiHot = true
		for i := range cat.Len() {
			f := cat.Features(i)
			r.featIdx = append(r.featIdx, f.Idx...)
			r.featVal = append(r.featVal, f.Val...)
			r.featPtr[i+1] = int32(len(r.featIdx))
			r.maxFeatures = max(r.maxFeatures, len(f.Idx))
			for j, fi := range f.Idx {
				postings[fi] = append(postings[fi], int32(i))
				r.multiHot = r.multiHot && f.Val[j] == f.Val[0]
			}
		}
		r.postPtr = make([]int32, len(postings)+1)
		for f, items := range postings {
			r.postItems = append(r.postItems, items...)
			r.postPtr[f+1] = int32(len(r.postItems))
		}
		return r, nil
	})
}

type content struct {
	base
	window     int
	decay      float64
	neutral    float64
	skipWeight float64
	// queryWeight is how much a search query's feature adds to the profile.
	queryWeight float64
	pop         *popularity
	featNames   []string
	featIndex   map[string]int
	// the catalog's feature vectors in one compressed-row array, so scoring
	// the whole catalog walks memory in order
	featPtr []int32
	featIdx []int32
	featVal []float64
	// the items that have each feature, in the same layout
	postPtr   []int32
	postItems []int32
	// multiHot holds when every item's vector has equal weights (the
	// catalog's L2-normalised multi-hot features), which the pruning bound
	// relies on
	multiHot    bool
	maxFeatures int

	// skips[user] is the sum of the feature vectors of the items the user
	// was shown and did not click.
	skips map[string][]float64
}

func (r *content) features(i int32) ([]int32, []float64) {
	lo, hi := r.featPtr[i], r.featPtr[i+1]
	return r.featIdx[lo:hi], r.featVal[lo:hi]
}

func (r *content) ratingWeight(rating float64) float64 {
	if rating == 0 {
		return 1
	}
	return (rating - r.neutral) / (5 - r.neutral)
}

// queryFeature is the feature a search query names, or -1.
func (r *content) queryFeature(req Request) int {
	if r.queryWeight == 0 {
		return -1
	}
	if f, ok := r.featIndex[req.Context["query"]]; ok {
		return f
	}
	return -1
}

// buildProfile writes q into s.profile and returns ‖q‖ (0 when neither the
// history nor the query carries a feature).
func (r *content) buildProfile(s *scratch, user string, query int) float64 {
	nf := len(r.featNames)
	if cap(s.profile) < nf {
		s.profile = make([]float64, nf)
	}
	q := s.profile[:nf]
	clear(q)
	w := 1.0
	start := max(0, len(s.hist)-r.window)
	for k := len(s.hist) - 1; k >= start; k-- {
		weight := w * r.ratingWeight(s.ratings[k])
		idx, val := r.features(s.hist[k])
		for j, f := range idx {
			q[f] += weight * val[j]
		}
		w *= r.decay
	}
	if hn := norm(q); hn > 0 {
		skipped := r.skips[user]
		sn := norm(skipped)
		for f := range q {
			q[f] /= hn
			if sn > 0 {
				q[f] -= r.skipWeight * skipped[f] / sn
			}
		}
	}
	if query >= 0 {
		q[query] += r.queryWeight
	}
	return norm(q)
}

func norm(v []float64) float64 {
	var sum float64
	for _, x := range v {
		sum += x * x
	}
	return math.Sqrt(sum)
}

func (r *content) Recommend(ctx context.Context, req Request) (Slate, error) {
	s, k, err := r.begin(ctx, req)
	if err != nil {
		return Slate{}, err
	}
	defer r.end(s)
	query := r.queryFeature(req)
	qn := r.buildProfile(s, req.User, query)
	if qn == 0 {
		s.slate = r.pop.fill(s.slate[:0], k, s, &r.base, req.Round, 0)
		return r.slate(s.slate, r.pop.explain), nil
	}
	q := s.profile
	r.rank(s, q, qn, k, req.Round)
	s.slate = append(s.slate[:0], s.top.sorted()...)
	return r.slate(s.slate, func(_ int, c candidate) string { return r.explain(q, c.item, query) }), nil
}

// rank keeps the k best eligible items by cos(q, x_i) in s.top. It is exact
// but rarely scores the whole catalog: it walks the items that have the
// profile's strongest features first, and stops as soon as no item it has
// not scored could beat the k-th best. An item whose positive features all
// lie in feats[t:] has x_i·q = Σ_{f∈x_i} q_f/√n_i ≤ max_m S_m/√m, where S_m
// is the sum of the m largest weights in feats[t:].
func (r *content) rank(s *scratch, q []float64, qn float64, k, round int) {
	s.top.reset(k)
	if s.seen.stamp == nil {
		s.seen = newMarks(r.cat.Len())
	}
	s.seen.clear()
	if r.multiHot {
		feats := s.feats[:0]
		for f, w := range q {
			if w > 0 {
				feats = append(feats, int32(f))
			}
		}
		slices.SortFunc(feats, func(a, b int32) int { return cmp.Or(cmp.Compare(q[b], q[a]), cmp.Compare(a, b)) })
		s.feats = feats
		for t, f := range feats {
			if len(s.top.h) == k && s.top.h[0].score > r.bound(q, feats[t:])/qn {
				return
			}
			for _, i := range r.postItems[r.postPtr[f]:r.postPtr[f+1]] {
				if !s.seen.has(i) {
					s.seen.add(i)
					r.consider(s, q, qn, i, round)
				}
			}
		}
		// Every item left has no positively weighted feature: it scores 0 or less.
		if len(s.top.h) == k && s.top.h[0].score > 0 {
			return
		}
	}
	for i := range int32(r.cat.Len()) {
		if !s.seen.has(i) {
			r.consider(s, q, qn, i, round)
		}
	}
}

// bound is max_m S_m/√m over the descending weights of feats, slightly
// inflated so that rounding in the exact scores cannot cross it.
func (r *content) bound(q []float64, feats []int32) float64 {
	var sum, best float64
	for m, f := range feats[:min(len(feats), r.maxFeatures)] {
		sum += q[f]
		best = max(best, sum/math.Sqrt(float64(m+1)))
	}
	return best * (1 + 1e-9)
}

func (r *content) consider(s *scratch, q []float64, qn float64, i int32, round int) {
	if !r.eligible(s, i, round) {
		return
	}
	idx, val := r.features(i)
	var dot float64
	for j, f := range idx {
		dot += val[j] * q[f]
	}
	if c := (candidate{score: dot / qn, item: i}); s.top.admits(c) {
		s.top.push(c)
	}
}

// explain names the search the item answers, or the two features that
// contribute most to its score.
func (r *content) explain(q []float64, item int32, query int) string {
	idx, val := r.features(item)
	if query >= 0 && slices.Contains(idx, int32(query)) {
		return "matches your search for " + r.featNames[query]
	}
	first, second := -1, -1
	var c1, c2 float64
	for j, f := range idx {
		c := q[f] * val[j]
		switch {
		case c <= 0:
		case first < 0 || c > c1:
			second, c2 = first, c1
			first, c1 = int(f), c
		case second < 0 || c > c2:
			second, c2 = int(f), c
		}
	}
	switch {
	case second >= 0:
		return "matches your interest in " + r.featNames[first] + " and " + r.featNames[second]
	case first >= 0:
		return "matches your interest in " + r.featNames[first]
	case len(idx) > 0:
		return "something different for you: " + r.featNames[idx[0]]
	}
	return "something different for you"
}

func (r *content) Observe(ctx context.Context, feedback []Feedback) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	nf := len(r.featNames)
	for _, f := range feedback {
		i, ok := r.resolve(f.Item)
		if !ok {
			continue
		}
		if f.Clicked && !f.Bounced {
			r.pop.click(f.Round, i)
			continue
		}
		sum := r.skips[f.User]
		if sum == nil {
			sum = make([]float64, nf)
			r.skips[f.User] = sum
		}
		idx, val := r.features(i)
		for j, fi := range idx {
			sum[fi] += val[j]
		}
	}
	r.pop.finishRound()
	return nil
}

func (r *content) Reset(context.Context) error {
	r.skips = map[string][]float64{}
	r.pop.reset()
	return nil
}

package recommenders

import (
	"context"
	"fmt"
	"slices"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
)

// The popular built-in's defaults, which are also the popularity ranking the
// personalised built-ins fall back to.
const (
	defaultPriorWeight   = 0.5
	defaultPopularWindow = 7
)

var popularSpec = config.Spec{
	Name: "popular",
	Summary: "The most popular items the user has not consumed. Popularity blends the catalog's " +
		"popularity prior with the clicks observed during the run: " +
		"score(i) = w·p(i) + (1 − w)·c(i)/C, where p(i) is the item's share of the prior, c(i) its " +
		"clicks within the window and C all clicks within the window (score(i) = p(i) before any click).",
	Params: []config.Param{
		{Name: "prior_weight", Kind: config.Float, Default: defaultPriorWeight, Min: ptr(0.0), Max: ptr(1.0),
			Doc: "w: the weight of the catalog prior against observed clicks. 1 ignores clicks, 0 ignores the prior once anything was clicked."},
		{Name: "window", Kind: config.Int, Default: defaultPopularWindow, Min: ptr(0.0),
			Doc: "Rounds of clicks that count (the current round and the ones before it); 0 counts the whole run."},
	},
}

func init() {
	registerBuiltin(popularSpec, func(env Env, p config.Params) (Recommender, error) {
		r := &popular{}
		r.init(env.Catalog)
		pr := p.Reader(popularSpec.Name)
		r.pop = newPopularity(env.Catalog, pr.Float("prior_weight"), pr.Int("window"))
		if err := pr.Err(); err != nil {
			return nil, err
		}
		return r, nil
	})
}

type popular struct {
	base
	pop *popularity
}

func (r *popular) Recommend(ctx context.Context, req Request) (Slate, error) {
	s, k, err := r.begin(ctx, req)
	if err != nil {
		return Slate{}, err
	}
	defer r.end(s)
	s.slate = r.pop.fill(s.slate[:0], k, s, &r.base, req.Round, 0)
	return r.slate(s.slate, r.pop.explain), nil
}

func (r *popular) Observe(ctx context.Context, feedback []Feedback) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, f := range feedback {
		if !f.Clicked {
			continue
		}
		if i, ok := r.resolve(f.Item); ok {
			r.pop.click(f.Round, i)
		}
	}
	r.pop.finishRound()
	return nil
}

func (r *popular) Reset(context.Context) error {
	r.pop.reset()
	return nil
}

// popularity is the blended popularity ranking: the popular recommender
// itself, and the cold-start fallback of the personalised ones. Its ranking
// and explanations are rebuilt once per Observe, so Recommend only walks a
// precomputed order.
type popularity struct {
	cat         *catalog.Catalog
	priorWeight float64
	window      int
	priorExpl   []string

	clicks  []int32
	total   int
	byRound []roundClicks
	latest  int
	score   []float64
	order   []int32
	expl    []string
}

type roundClicks struct {
	round int
	items []int32
}

// newFallbackPopularity is the popular ranking with its default parameters,
// which the personalised built-ins fall back to.
func newFallbackPopularity(cat *catalog.Catalog) *popularity {
	return newPopularity(cat, defaultPriorWeight, defaultPopularWindow)
}

func newPopularity(cat *catalog.Catalog, priorWeight float64, window int) *popularity {
	p := &popularity{cat: cat, priorWeight: priorWeight, window: window, priorExpl: priorExplanations(cat)}
	p.reset()
	return p
}

// priorExplanations names, for every item, the category in which the
// catalog prior ranks it highest, with its rank there.
func priorExplanations(cat *catalog.Catalog) []string {
	n := cat.Len()
	byShare := func(a, b int32) int {
		return compareCandidates(candidate{cat.PopularityShare(int(a)), a}, candidate{cat.PopularityShare(int(b)), b})
	}
	members := make([][]int32, len(cat.Categories()))
	all := make([]int32, n)
	for i := range n {
		all[i] = int32(i)
		for _, g := range cat.ItemCategories(i) {
			members[g] = append(members[g], int32(i))
		}
	}
	slices.SortFunc(all, byShare)
	bestRank := make([]int, n)
	bestCat := make([]int32, n)
	for i := range bestCat {
		bestCat[i] = -1
	}
	for g, items := range members {
		slices.SortFunc(items, byShare)
		for rank, i := range items {
			// Categories are visited in vocabulary order, so a tie keeps the
			// alphabetically first category.
			if bestCat[i] < 0 || rank+1 < bestRank[i] {
				bestCat[i], bestRank[i] = int32(g), rank+1
			}
		}
	}
	expl := make([]string, n)
	for rank, i := range all {
		if g := bestCat[i]; g >= 0 {
			expl[i] = fmt.Sprintf("popular in %s (#%d of %d by catalog popularity)", cat.Categories()[g], bestRank[i], len(members[g]))
			continue
		}
		expl[i] = fmt.Sprintf("popular overall (#%d of %d by catalog popularity)", rank+1, n)
	}
	return expl
}

func (p *popularity) reset() {
	n := p.cat.Len()
	p.clicks = make([]int32, n)
	p.total = 0
	p.byRound = nil
	p.latest = 0
	p.score = make([]float64, n)
	p.order = make([]int32, n)
	for i := range p.order {
		p.order[i] = int32(i)
	}
	p.expl = make([]string, n)
	p.rebuild()
}

// click counts one observed click.
func (p *popularity) click(round int, item int32) {
	k := len(p.byRound)
	for k > 0 && p.byRound[k-1].round > round {
		k--
	}
	if k == 0 || p.byRound[k-1].round != round {
		p.byRound = slices.Insert(p.byRound, k, roundClicks{round: round})
		k++
	}
	p.byRound[k-1].items = append(p.byRound[k-1].items, item)
	p.clicks[item]++
	p.total++
	p.latest = max(p.latest, round)
}

// finishRound drops clicks that left the window and rebuilds the ranking.
func (p *popularity) finishRound() {
	if p.window > 0 {
		drop := 0
		for drop < len(p.byRound) && p.byRound[drop].round <= p.latest-p.window {
			for _, i := range p.byRound[drop].items {
				p.clicks[i]--
			}
			p.total -= len(p.byRound[drop].items)
			drop++
		}
		p.byRound = slices.Delete(p.byRound, 0, drop)
	}
	p.rebuild()
}

func (p *popularity) rebuild() {
	since := 0
	if len(p.byRound) > 0 {
		since = p.byRound[0].round
	}
	for i := range p.score {
		share := p.cat.PopularityShare(i)
		if p.total == 0 {
			p.score[i] = share
		} else {
			p.score[i] = p.priorWeight*share + (1-p.priorWeight)*float64(p.clicks[i])/float64(p.total)
		}
		switch c := p.clicks[i]; c {
		case 0:
			p.expl[i] = p.priorExpl[i]
		case 1:
			p.expl[i] = fmt.Sprintf("trending: 1 click since round %d", since)
		default:
			p.expl[i] = fmt.Sprintf("trending: %d clicks since round %d", c, since)
		}
	}
	slices.SortFunc(p.order, func(a, b int32) int {
		return compareCandidates(candidate{p.score[a], a}, candidate{p.score[b], b})
	})
}

// fill appends eligible items to dst in popularity order until it holds k,
// marking each as excluded so later stages cannot repeat it. Scores are the
// popularity score plus offset, which lets a caller rank the filler below
// its own candidates.
func (p *popularity) fill(dst []candidate, k int, s *scratch, b *base, round int, offset float64) []candidate {
	for _, i := range p.order {
		if len(dst) >= k {
			break
		}
		if !b.eligible(s, i, round) {
			continue
		}
		s.excluded.add(i)
		dst = append(dst, candidate{score: p.score[i] + offset, item: i})
	}
	return dst
}

func (p *popularity) explain(_ int, c candidate) string { return p.expl[c.item] }

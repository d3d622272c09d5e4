package recommenders

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/internal/rng"
)

var randomSpec = config.Spec{
	Name: "random",
	Summary: "A uniformly random slate of eligible items: the control baseline. The draw depends only on " +
		"the variant's seed, the user and the round, so it is the same at any concurrency. With " +
		"`avoid_shown` it learns from feedback which items the user was already shown and draws from " +
		"the others first, topping up from the shown ones only when too few remain.",
	Params: []config.Param{
		{Name: "avoid_shown", Kind: config.Bool, Default: true,
			Doc: "Prefer items the user has not been shown before."},
	},
}

func init() {
	registerBuiltin(randomSpec, func(env Env, p config.Params) (Recommender, error) {
		pr := p.Reader(randomSpec.Name)
		r := &random{seed: env.Seed, avoidShown: pr.Bool("avoid_shown"), shown: map[string][]int32{}}
		if err := pr.Err(); err != nil {
			return nil, err
		}
		r.init(env.Catalog)
		r.sortedRelease = slices.Clone(r.release)
		slices.Sort(r.sortedRelease)
		return r, nil
	})
}

type random struct {
	base
	seed          uint64
	avoidShown    bool
	sortedRelease []int32
	// shown[user] lists the items shown to the user, possibly repeated.
	shown map[string][]int32
}

func (r *random) Recommend(ctx context.Context, req Request) (Slate, error) {
	s, k, err := r.begin(ctx, req)
	if err != nil {
		return Slate{}, err
	}
	defer r.end(s)
	released, _ := slices.BinarySearch(r.sortedRelease, int32(min(max(req.Round, -1), math.MaxInt32-1))+1)
	eligible := released
	for _, i := range s.hist {
		if int(r.release[i]) <= req.Round {
			eligible--
		}
	}
	if s.shown.stamp == nil {
		s.shown = newMarks(r.cat.Len())
	}
	s.shown.clear()
	fresh := eligible
	if r.avoidShown {
		for _, i := range r.shown[req.User] {
			if r.eligible(s, i, req.Round) && !s.shown.has(i) {
				s.shown.add(i)
				fresh--
			}
		}
	}
	key := rng.Key(r.seed, rng.PurposeRecommender, rng.StringKey(req.User), uint64(req.Round))
	d := draw{r: r, s: s, round: req.Round, key: key}
	s.slate = s.slate[:0]
	s.slate = d.sample(s.slate, min(k, fresh), fresh, false)
	firstShown := len(s.slate)
	s.slate = d.sample(s.slate, min(k-len(s.slate), eligible-fresh), eligible-fresh, true)
	for rank := range s.slate {
		s.slate[rank].score = float64(len(s.slate)-rank) / float64(len(s.slate))
	}
	freshWhy := fmt.Sprintf("random pick among %d available items", fresh)
	if r.avoidShown {
		freshWhy = fmt.Sprintf("random pick among %d items you have not been shown", fresh)
	}
	shownWhy := fmt.Sprintf("random pick among %d items shown to you before", eligible-fresh)
	return r.slate(s.slate, func(rank int, _ candidate) string {
		if rank < firstShown {
			return freshWhy
		}
		return shownWhy
	}), nil
}

// draw samples items without replacement from one tier of eligible items:
// the ones the user was shown before, or the others.
type draw struct {
	r     *random
	s     *scratch
	round int
	key   uint64
	next  uint64
}

func (d *draw) inTier(i int32, shown bool) bool {
	return d.r.eligible(d.s, i, d.round) && d.s.shown.has(i) == shown
}

func (d *draw) uniform() float64 {
	d.next++
	return rng.Uniform(rng.Key(d.key, d.next))
}

// sample appends m items drawn uniformly from the tier, which holds size
// items. When the tier is a large share of the catalog it draws indexes and
// rejects the ineligible ones; otherwise, or if rejection runs far beyond its
// expected length, it lists the tier and shuffles partially.
func (d *draw) sample(dst []candidate, m, size int, shown bool) []candidate {
	if m <= 0 {
		return dst
	}
	n := d.r.cat.Len()
	want := len(dst) + m
	if size*8 >= n {
		for tries := 64 + 32*m*n/size; tries > 0 && len(dst) < want; tries-- {
			i := int32(d.uniform() * float64(n))
			if d.inTier(i, shown) {
				d.s.excluded.add(i)
				dst = append(dst, candidate{item: i})
			}
		}
	}
	if len(dst) == want {
		return dst
	}
	pool := d.s.pool[:0]
	for i := range int32(n) {
		if d.inTier(i, shown) {
			pool = append(pool, i)
		}
	}
	for j := 0; len(dst) < want && j < len(pool); j++ {
		pick := j + int(d.uniform()*float64(len(pool)-j))
		pool[j], pool[pick] = pool[pick], pool[j]
		d.s.excluded.add(pool[j])
		dst = append(dst, candidate{item: pool[j]})
	}
	d.s.pool = pool
	return dst
}

func (r *random) Observe(ctx context.Context, feedback []Feedback) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !r.avoidShown {
		return nil
	}
	for _, f := range feedback {
		if i, ok := r.resolve(f.Item); ok {
			r.shown[f.User] = append(r.shown[f.User], i)
		}
	}
	return nil
}

func (r *random) Reset(context.Context) error {
	r.shown = map[string][]int32{}
	return nil
}

package recommenders

import (
	"context"
	"fmt"
	"strconv"
)

// reranker is what the wrappers share: the inner recommender, the catalog
// machinery for eligibility, and the size of the candidate pool they ask the
// inner for (pool × k items).
type reranker struct {
	base
	inner Recommender
	name  string
	pool  int
	// prior fills the slots an inner leaves empty (one that breaks the
	// contract or returns short slates) with the catalog's popularity prior.
	prior *popularity
}

func newReranker(env Env, name string, inner Recommender, pool int) (*reranker, error) {
	if env.Catalog == nil {
		return nil, ErrNoCatalog
	}
	w := &reranker{inner: inner, name: name, pool: pool, prior: newFallbackPopularity(env.Catalog)}
	w.init(env.Catalog)
	return w, nil
}

// poolEntry is one of the inner's candidates: its catalog index, the
// inner's score, rank (0-based) and explanation.
type poolEntry struct {
	item  int32
	score float64
	rank  int
	why   string
}

// candidates asks the inner for pool × k items and resolves them, dropping
// anything the contract forbids (unknown, unreleased, consumed, repeated), so
// that a misbehaving inner cannot make the wrapper break it. Every kept item
// is marked excluded in s.
func (w *reranker) candidates(ctx context.Context, req Request, s *scratch, k int) ([]poolEntry, error) {
	ask := req
	ask.K = k * w.pool
	slate, err := w.inner.Recommend(ctx, ask)
	if err != nil {
		return nil, err
	}
	out := make([]poolEntry, 0, len(slate.Items))
	for rank, it := range slate.Items {
		i, ok := w.resolve(it.Item)
		if !ok || !w.eligible(s, i, req.Round) {
			continue
		}
		s.excluded.add(i)
		out = append(out, poolEntry{item: i, score: it.Score, rank: rank, why: it.Explanation})
	}
	return out, nil
}

// fillerRank marks a slot the wrapper filled from the popularity prior.
const fillerRank = -2

// fill tops picked up to k with eligible items in the order of the catalog's
// popularity prior, for when the inner returned fewer usable candidates than
// the slate needs.
func (w *reranker) fill(picked []poolEntry, s *scratch, k, round int) []poolEntry {
	for _, i := range w.prior.order {
		if len(picked) >= k {
			break
		}
		if w.eligible(s, i, round) {
			s.excluded.add(i)
			picked = append(picked, poolEntry{item: i, rank: fillerRank, why: w.prior.expl[i]})
		}
	}
	return picked
}

// relevance min-max normalises the inner's scores over the pool to [0, 1],
// so that λ means the same whatever scale the inner scores on. A pool of
// equal scores is all 1.
func relevance(pool []poolEntry) []float64 {
	rel := make([]float64, len(pool))
	if len(pool) == 0 {
		return rel
	}
	lo, hi := pool[0].score, pool[0].score
	for _, c := range pool {
		lo, hi = min(lo, c.score), max(hi, c.score)
	}
	for i, c := range pool {
		rel[i] = 1
		if hi > lo {
			rel[i] = (c.score - lo) / (hi - lo)
		}
	}
	return rel
}

// finish turns the picked entries into a slate. Wrappers score by position
// (k for the first item down to 1), because their objectives are not
// comparable across ranks; the explanation keeps the inner's and says what
// the wrapper did when it moved the item.
func (w *reranker) finish(picked []poolEntry, k int, moved func(e poolEntry, rank int) string) Slate {
	if len(picked) == 0 {
		return Slate{}
	}
	items := make([]Scored, len(picked))
	for r, e := range picked {
		why := e.why
		if note := moved(e, r); note != "" {
			if why != "" {
				why += "; "
			}
			why += note
		}
		items[r] = Scored{Item: w.cat.Item(int(e.item)).ID, Score: float64(k - r), Explanation: why}
	}
	return Slate{Items: items}
}

// rankNote describes a move from the inner's rank to the wrapper's.
func (w *reranker) rankNote(e poolEntry, rank int, reason string) string {
	if e.rank == rank || e.rank < 0 {
		return ""
	}
	dir := "raised"
	if rank > e.rank {
		dir = "lowered"
	}
	return w.name + ": " + dir + " from #" + strconv.Itoa(e.rank+1) + " to #" + strconv.Itoa(rank+1) + " " + reason
}

func (w *reranker) Observe(ctx context.Context, feedback []Feedback) error {
	return w.inner.Observe(ctx, feedback)
}

func (w *reranker) Reset(ctx context.Context) error {
	if r, ok := w.inner.(Resetter); ok {
		return r.Reset(ctx)
	}
	return nil
}

func (w *reranker) Close() error {
	if c, ok := w.inner.(Closer); ok {
		if err := c.Close(); err != nil {
			return fmt.Errorf("recommenders: %s: closing the inner recommender: %w", w.name, err)
		}
	}
	return nil
}

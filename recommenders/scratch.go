package recommenders

import (
	"context"
	"errors"
	"math"
	"sync"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
)

// ErrNoCatalog is returned by the built-ins' factories when Env has no catalog.
var ErrNoCatalog = errors.New("recommenders: the environment has no catalog")

// registerBuiltin registers a built-in whose factory needs a catalog. A
// built-in is built in memory, so its factory takes no context.
func registerBuiltin(spec config.Spec, factory func(Env, config.Params) (Recommender, error)) {
	Register(spec, func(_ context.Context, env Env, p config.Params) (Recommender, error) {
		if env.Catalog == nil {
			return nil, ErrNoCatalog
		}
		return factory(env, p)
	})
}

// ptr makes the bounds of parameter specs.
func ptr[T any](v T) *T { return &v }

// marks is a set of item indexes that empties in O(1): an item is in the set
// while its stamp equals the current generation.
type marks struct {
	stamp []uint32
	gen   uint32
}

func newMarks(n int) marks { return marks{stamp: make([]uint32, n), gen: 1} }

func (m *marks) clear() {
	m.gen++
	if m.gen == 0 {
		clear(m.stamp)
		m.gen = 1
	}
}

func (m *marks) add(i int32)      { m.stamp[i] = m.gen }
func (m *marks) has(i int32) bool { return m.stamp[i] == m.gen }

// candidate is an item with a score. It also serves as a neighbour entry
// (score = similarity).
type candidate struct {
	score float64
	item  int32
}

// beats is the ranking order of every built-in: higher score first, then the
// lower item index, so equal scores never depend on evaluation order.
func (a candidate) beats(b candidate) bool {
	return a.score > b.score || (a.score == b.score && a.item < b.item)
}

func compareCandidates(a, b candidate) int {
	switch {
	case a.beats(b):
		return -1
	case b.beats(a):
		return 1
	}
	return 0
}

// topK keeps the k best candidates pushed so far. It is a heap whose root is
// the worst candidate kept, so a candidate that cannot enter costs one
// comparison.
type topK struct {
	k int
	h []candidate
}

func (t *topK) reset(k int) {
	t.k = k
	t.h = t.h[:0]
}

func (t *topK) push(c candidate) {
	if len(t.h) < t.k {
		t.h = append(t.h, c)
		t.up(len(t.h) - 1)
		return
	}
	if t.k == 0 || !c.beats(t.h[0]) {
		return
	}
	t.h[0] = c
	t.down(0)
}

// admits reports whether push would keep c; it is cheap enough to inline,
// so callers can skip building candidates that cannot enter.
func (t *topK) admits(c candidate) bool {
	return len(t.h) < t.k || (t.k > 0 && c.beats(t.h[0]))
}

// sorted returns the kept candidates best first, by popping the worst to
// the back. The heap is consumed.
func (t *topK) sorted() []candidate {
	h := t.h
	for n := len(h) - 1; n > 0; n-- {
		h[0], h[n] = h[n], h[0]
		t.h = h[:n]
		t.down(0)
	}
	t.h = h
	return h
}

func (t *topK) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !t.h[p].beats(t.h[i]) {
			return
		}
		t.h[p], t.h[i] = t.h[i], t.h[p]
		i = p
	}
}

func (t *topK) down(i int) {
	n := len(t.h)
	for {
		worst := i
		if l := 2*i + 1; l < n && t.h[worst].beats(t.h[l]) {
			worst = l
		}
		if r := 2*i + 2; r < n && t.h[worst].beats(t.h[r]) {
			worst = r
		}
		if worst == i {
			return
		}
		t.h[i], t.h[worst] = t.h[worst], t.h[i]
		i = worst
	}
}

// scratch is the per-call working memory of Recommend. It is pooled so that
// a call allocates nothing proportional to the catalog; the item-sized
// arrays that only one built-in needs are allocated on first use.
type scratch struct {
	// excluded holds the user's history and every item already placed on
	// the slate being built.
	excluded marks
	hist     []int32
	ratings  []float64
	top      topK
	slate    []candidate

	// itemknn: one entry per item, valid while its gen is knnGen, so the
	// accumulation touches one cache line per neighbour
	knn    []knnAcc
	knnGen uint32
	cand   []int32

	// content
	profile []float64
	seen    marks
	feats   []int32

	// random
	shown marks
	pool  []int32
}

// loadHistory resolves the request's history into s.hist, oldest first,
// dropping ids the catalog does not know and repeated items, and puts every
// item into s.excluded. Each history item costs one catalog lookup.
func (s *scratch) loadHistory(cat *catalog.Catalog, history []HistoryItem) {
	s.excluded.clear()
	s.hist, s.ratings = s.hist[:0], s.ratings[:0]
	for _, h := range history {
		i, ok := cat.Index(h.Item)
		if !ok {
			continue
		}
		item := int32(i)
		if s.excluded.has(item) {
			continue
		}
		s.excluded.add(item)
		s.hist = append(s.hist, item)
		s.ratings = append(s.ratings, h.Rating)
	}
}

// recent is the last n resolved history items.
func (s *scratch) recent(n int) []int32 { return s.hist[max(0, len(s.hist)-n):] }

// base is what every built-in shares: the catalog, each item's release
// round in a dense array, and the scratch pool.
type base struct {
	cat     *catalog.Catalog
	release []int32
	pool    sync.Pool
}

func (b *base) init(cat *catalog.Catalog) {
	b.cat = cat
	b.release = make([]int32, cat.Len())
	for i := range b.release {
		b.release[i] = int32(min(cat.Item(i).ReleaseRound, math.MaxInt32))
	}
	n := cat.Len()
	b.pool.New = func() any { return &scratch{excluded: newMarks(n)} }
}

// begin checks the request and returns a scratch with the user's history
// loaded, and the slate length to aim for (min(K, catalog size)).
// A non-positive K asks for an empty slate.
func (b *base) begin(ctx context.Context, req Request) (*scratch, int, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	s := b.pool.Get().(*scratch)
	s.loadHistory(b.cat, req.History)
	return s, min(max(req.K, 0), b.cat.Len()), nil
}

func (b *base) end(s *scratch) { b.pool.Put(s) }

func (b *base) eligible(s *scratch, item int32, round int) bool {
	return int(b.release[item]) <= round && !s.excluded.has(item)
}

// slate turns ranked candidates into the wire form. Item ids are the
// catalog's own strings, so nothing is copied but the slate itself.
func (b *base) slate(ranked []candidate, explain func(rank int, c candidate) string) Slate {
	if len(ranked) == 0 {
		return Slate{}
	}
	items := make([]Scored, len(ranked))
	for r, c := range ranked {
		items[r] = Scored{Item: b.cat.Item(int(c.item)).ID, Score: c.score, Explanation: explain(r, c)}
	}
	return Slate{Items: items}
}

// resolve maps an id to a dense index.
func (b *base) resolve(id string) (int32, bool) {
	i, ok := b.cat.Index(id)
	return int32(i), ok
}

// displayName is what explanations call an item.
func displayName(it *catalog.Item) string {
	if it.Title != "" {
		return it.Title
	}
	return it.ID
}

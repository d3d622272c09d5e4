package recommenders

import (
	"cmp"
	"context"
	"math"
	"runtime"
	"slices"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/recloop/recloop/config"
)

var itemKNNSpec = config.Spec{
	Name: "itemknn",
	Summary: "Item-item collaborative filtering. Two items co-occur when one user consumed both within " +
		"`window` consecutive items (prior interactions, each user's history at their first request, " +
		"and every click observed during the run). sim(a, b) = co(a, b) / (√(n_a·n_b) + shrinkage), " +
		"where n_a counts the users who consumed a: the cosine of the binary user-item columns, " +
		"shrunk towards 0 for rare pairs. Each item keeps its `neighbours` most similar items. " +
		"A candidate scores the sum of its similarities to the user's last `window` history items. " +
		"Users without history, and slots the neighbours cannot fill, get the `popular` ranking (defaults).",
	Params: []config.Param{
		{Name: "neighbours", Kind: config.Int, Default: 50, Min: ptr(1.0), Max: ptr(1000.0),
			Doc: "How many most similar items each item keeps."},
		{Name: "window", Kind: config.Int, Default: 20, Min: ptr(1.0), Max: ptr(1000.0),
			Doc: "How many of the user's latest items a recommendation is scored from, and how many earlier items a newly consumed item co-occurs with."},
		{Name: "shrinkage", Kind: config.Float, Default: 10.0, Min: ptr(0.0),
			Doc: "Added to the cosine's denominator so that pairs seen by few users count less."},
	},
}

func init() {
	registerBuiltin(itemKNNSpec, func(env Env, p config.Params) (Recommender, error) {
		pr := p.Reader(itemKNNSpec.Name)
		r := &itemKNN{
			env:        env,
			neighbours: pr.Int("neighbours"),
			window:     pr.Int("window"),
			shrinkage:  pr.Float("shrinkage"),
			pop:        newFallbackPopularity(env.Catalog),
		}
		if err := pr.Err(); err != nil {
			return nil, err
		}
		r.init(env.Catalog)
		r.because = make([]string, env.Catalog.Len())
		for i := range r.because {
			r.because[i] = "because you watched " + displayName(env.Catalog.Item(i))
		}
		r.model = r.buildModel()
		return r, nil
	})
}

type itemKNN struct {
	base
	env        Env
	neighbours int
	window     int
	shrinkage  float64
	because    []string

	model *knnModel
	pop   *popularity
	// arrivals hands the histories of users the model has not met from
	// Recommend (concurrent, read-only otherwise) to the next Observe. It is
	// a lock-free stack; a user asking twice before that Observe is pushed
	// twice, and Observe adopts the first in sorted order.
	arrivals atomic.Pointer[arrival]
}

type arrival struct {
	user  string
	items []int32
	next  *arrival
}

// knnModel is the learned state: per-user consumption, sparse co-occurrence
// rows and the neighbour lists derived from them.
type knnModel struct {
	users     map[string][]int32
	consumers []int32
	sqrtN     []float64
	rows      [][]coEntry
	nbrs      [][]neighbour
	// rows[a] holds a's co-occurrence counts in first-seen order;
	// pending[a] the co-occurring items added since the last refresh
	pending [][]int32
	changed []int32
}

// neighbour is one entry of an item's neighbour list (in no particular
// order). Similarities are
// float32 to halve the memory Recommend streams through; they are computed
// in float64 and rounded once.
type neighbour struct {
	item int32
	sim  float32
}

// knnAcc accumulates one candidate's score in Recommend.
type knnAcc struct {
	gen     uint32
	from    int32
	score   float32
	fromSim float32
}

type coEntry struct {
	item, count int32
}

func (r *itemKNN) buildModel() *knnModel {
	n := r.cat.Len()
	m := &knnModel{
		users:     map[string][]int32{},
		consumers: make([]int32, n),
		sqrtN:     make([]float64, n),
		rows:      make([][]coEntry, n),
		nbrs:      make([][]neighbour, n),
		pending:   make([][]int32, n),
	}
	type row struct {
		user string
		ts   int64
		pos  int
		item int32
	}
	log := make([]row, 0, len(r.env.Interactions))
	for pos, in := range r.env.Interactions {
		if i, ok := r.resolve(in.Item); ok {
			log = append(log, row{in.User, in.Timestamp, pos, i})
		}
	}
	slices.SortFunc(log, func(a, b row) int {
		return cmp.Or(cmp.Compare(a.user, b.user), cmp.Compare(a.ts, b.ts), cmp.Compare(a.pos, b.pos))
	})
	seen := newMarks(n)
	var items []int32
	for start := 0; start < len(log); {
		end := start
		seen.clear()
		items = items[:0]
		for ; end < len(log) && log[end].user == log[start].user; end++ {
			if !seen.has(log[end].item) {
				seen.add(log[end].item)
				items = append(items, log[end].item)
			}
		}
		r.adopt(m, log[start].user, items)
		start = end
	}
	m.refresh(r.neighbours, r.shrinkage)
	return m
}

// adopt registers a user with a history of distinct items, oldest first.
func (r *itemKNN) adopt(m *knnModel, user string, items []int32) {
	own := make([]int32, 0, len(items))
	for _, i := range items {
		own = r.consumeNew(m, own, i)
	}
	m.users[user] = own
}

// consume records that a user with history items consumed item, and returns
// the extended history. A repeat consumption teaches nothing.
func (r *itemKNN) consume(m *knnModel, items []int32, item int32) []int32 {
	if slices.Contains(items, item) {
		return items
	}
	return r.consumeNew(m, items, item)
}

func (r *itemKNN) consumeNew(m *knnModel, items []int32, item int32) []int32 {
	for _, j := range items[max(0, len(items)-r.window):] {
		m.link(item, j)
		m.link(j, item)
	}
	m.consumers[item]++
	return append(items, item)
}

func (m *knnModel) link(row, item int32) {
	if len(m.pending[row]) == 0 {
		m.changed = append(m.changed, row)
	}
	m.pending[row] = append(m.pending[row], item)
}

// refresh merges the pending co-occurrences and recomputes the neighbour
// lists of the rows that changed, in parallel. Rows are independent and the
// top-M selection is a total order, so the result does not depend on the
// number of workers. Rows that did not change keep neighbour lists computed
// with the consumer counts of their last refresh.
func (m *knnModel) refresh(neighbours int, shrinkage float64) {
	for i, c := range m.consumers {
		m.sqrtN[i] = math.Sqrt(float64(c))
	}
	workers := min(runtime.GOMAXPROCS(0), len(m.changed)/256+1)
	var g errgroup.Group
	for w := range workers {
		g.Go(func() error {
			ws := refreshScratch{pos: make([]int32, len(m.rows))}
			for k := w; k < len(m.changed); k += workers {
				m.refreshRow(&ws, m.changed[k], neighbours, shrinkage)
			}
			return nil
		})
	}
	_ = g.Wait() // workers cannot fail
	m.changed = m.changed[:0]
}

type refreshScratch struct {
	// pos[item] is 1 + the item's position in the row being merged, 0 when
	// absent; it is all zeros between rows.
	pos []int32
	top topK
}

func (m *knnModel) refreshRow(ws *refreshScratch, a int32, neighbours int, shrinkage float64) {
	row := m.rows[a]
	for k, e := range row {
		ws.pos[e.item] = int32(k + 1)
	}
	for _, b := range m.pending[a] {
		if p := ws.pos[b]; p > 0 {
			row[p-1].count++
			continue
		}
		row = append(row, coEntry{item: b, count: 1})
		ws.pos[b] = int32(len(row))
	}
	m.rows[a] = row
	m.pending[a] = m.pending[a][:0]

	ws.top.reset(neighbours)
	sa := m.sqrtN[a]
	sim := func(e coEntry) candidate {
		return candidate{score: float64(e.count) / (sa*m.sqrtN[e.item] + shrinkage), item: e.item}
	}
	// The previous neighbours are most likely still the best, so pushing
	// them first sets a high bar early and few later entries displace
	// anything. A negative pos marks them as pushed.
	for _, nb := range m.nbrs[a] {
		p := ws.pos[nb.item]
		ws.top.push(sim(row[p-1]))
		ws.pos[nb.item] = -p
	}
	for _, e := range row {
		seeded := ws.pos[e.item] < 0
		ws.pos[e.item] = 0
		if seeded {
			continue
		}
		den := sa*m.sqrtN[e.item] + shrinkage
		// Once the heap is full, an entry whose similarity is below the
		// worst kept cannot enter; a multiplication tells without dividing.
		if len(ws.top.h) == neighbours && float64(e.count) < ws.top.h[0].score*den {
			continue
		}
		ws.top.push(candidate{score: float64(e.count) / den, item: e.item})
	}
	// Recommend adds up every neighbour, so the list needs no order; the
	// heap's order is deterministic all the same.
	nbrs := m.nbrs[a][:0]
	for _, c := range ws.top.h {
		nbrs = append(nbrs, neighbour{item: c.item, sim: float32(c.score)})
	}
	m.nbrs[a] = nbrs
}

func (r *itemKNN) Recommend(ctx context.Context, req Request) (Slate, error) {
	s, k, err := r.begin(ctx, req)
	if err != nil {
		return Slate{}, err
	}
	defer r.end(s)
	if len(s.hist) == 0 {
		s.slate = r.pop.fill(s.slate[:0], k, s, &r.base, req.Round, 0)
		return r.slate(s.slate, r.pop.explain), nil
	}
	m := r.model
	if _, known := m.users[req.User]; !known {
		r.pushArrival(req.User, slices.Clone(s.hist))
	}
	if s.knn == nil {
		s.knn = make([]knnAcc, r.cat.Len())
	}
	s.knnGen++
	if s.knnGen == 0 {
		clear(s.knn)
		s.knnGen = 1
	}
	gen := s.knnGen
	s.cand = s.cand[:0]
	// History items and unreleased ones are filtered once per candidate
	// below, not once per neighbour.
	for _, h := range s.recent(r.window) {
		for _, nb := range m.nbrs[h] {
			e := &s.knn[nb.item]
			if e.gen != gen {
				*e = knnAcc{gen: gen, from: h, score: nb.sim, fromSim: nb.sim}
				s.cand = append(s.cand, nb.item)
				continue
			}
			e.score += nb.sim
			if nb.sim > e.fromSim {
				e.from = h
			}
			e.fromSim = max(e.fromSim, nb.sim)
		}
	}
	s.top.reset(k)
	for _, i := range s.cand {
		if c := (candidate{score: float64(s.knn[i].score), item: i}); s.top.admits(c) && r.eligible(s, i, req.Round) {
			s.top.push(c)
		}
	}
	s.slate = append(s.slate[:0], s.top.sorted()...)
	personal := len(s.slate)
	for _, c := range s.slate {
		s.excluded.add(c.item)
	}
	// Neighbour scores are positive and popularity scores lie in (0, 1], so
	// shifting the filler by −1 ranks it below every neighbour.
	s.slate = r.pop.fill(s.slate, k, s, &r.base, req.Round, -1)
	return r.slate(s.slate, func(rank int, c candidate) string {
		if rank < personal {
			return r.because[s.knn[c.item].from]
		}
		return r.pop.expl[c.item]
	}), nil
}

func (r *itemKNN) pushArrival(user string, items []int32) {
	a := &arrival{user: user, items: items}
	for {
		a.next = r.arrivals.Load()
		if r.arrivals.CompareAndSwap(a.next, a) {
			return
		}
	}
}

// takeArrivals empties the arrival stack in a fixed order (by user), so the
// model does not depend on which goroutine asked first.
func (r *itemKNN) takeArrivals() []*arrival {
	var list []*arrival
	for a := r.arrivals.Swap(nil); a != nil; a = a.next {
		list = append(list, a)
	}
	slices.SortFunc(list, func(a, b *arrival) int {
		return cmp.Or(cmp.Compare(a.user, b.user), slices.Compare(a.items, b.items))
	})
	return list
}

func (r *itemKNN) Observe(ctx context.Context, feedback []Feedback) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m := r.model
	for _, a := range r.takeArrivals() {
		if _, known := m.users[a.user]; !known {
			r.adopt(m, a.user, a.items)
		}
	}
	for _, f := range feedback {
		if !f.Clicked {
			continue
		}
		i, ok := r.resolve(f.Item)
		if !ok {
			continue
		}
		m.users[f.User] = r.consume(m, m.users[f.User], i)
		r.pop.click(f.Round, i)
	}
	r.pop.finishRound()
	m.refresh(r.neighbours, r.shrinkage)
	return nil
}

func (r *itemKNN) Reset(context.Context) error {
	r.arrivals.Store(nil)
	r.model = r.buildModel()
	r.pop.reset()
	return nil
}

var _ interface {
	Recommender
	Resetter
} = (*itemKNN)(nil)

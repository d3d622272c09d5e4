package recommenders

import (
	"cmp"
	"context"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/internal/linalg"
	"github.com/recloop/recloop/internal/rng"
)

var mfSpec = config.Spec{
	Name: "mf",
	Summary: "Matrix factorisation by implicit alternating least squares (Hu, Koren & Volinsky 2008). " +
		"Every consumption is a positive: the prior interactions, each user's history at their first request " +
		"and every click observed during the run. User u and item i get `factors`-dimensional vectors x_u, y_i " +
		"minimising Σ_{u,i} c_ui·(p_ui − x_u·y_i)² + `regularization`·(Σ‖x_u‖² + Σ‖y_i‖²), with p_ui = 1 for " +
		"consumed pairs and 0 otherwise, and confidence c_ui = 1 + `alpha`·r_ui, where r_ui adds 1 per " +
		"consumption, or rating/3 when rated. Every `retrain_every` rounds it runs `iterations` sweeps, " +
		"warm-started from the previous item vectors (the first fit runs five times as many). A request's user vector is solved from the request's own " +
		"history against the current item vectors (the same least-squares step), so a user is up to date " +
		"between retrains; items score x_u·y_i. Users without history, and everyone before any training data, " +
		"get the `popular` ranking (defaults). Explanations name the consumed item whose vector is closest " +
		"(cosine) to the recommended one's.",
	Params: []config.Param{
		{Name: "factors", Kind: config.Int, Default: 16, Min: ptr(1.0), Max: ptr(256.0),
			Doc: "The dimension of the user and item vectors."},
		{Name: "iterations", Kind: config.Int, Default: 2, Min: ptr(1.0), Max: ptr(100.0),
			Doc: "ALS sweeps (users, then items) per retrain; the first fit, from random vectors, runs five times as many."},
		{Name: "regularization", Kind: config.Float, Default: 0.1, Min: ptr(1e-6),
			Doc: "λ: the L2 penalty on the vectors."},
		{Name: "alpha", Kind: config.Float, Default: 10.0, Min: ptr(0.0),
			Doc: "α: how much more a consumed pair weighs than an unconsumed one."},
		{Name: "retrain_every", Kind: config.Int, Default: 1, Min: ptr(1.0), Max: ptr(1000.0),
			Doc: "Rounds between retrains (1 retrains after every round's feedback)."},
	},
}

func init() {
	registerBuiltin(mfSpec, func(env Env, p config.Params) (Recommender, error) {
		pr := p.Reader(mfSpec.Name)
		r := &mf{
			env:          env,
			factors:      pr.Int("factors"),
			iterations:   pr.Int("iterations"),
			reg:          pr.Float("regularization"),
			alpha:        pr.Float("alpha"),
			retrainEvery: pr.Int("retrain_every"),
			pop:          newFallbackPopularity(env.Catalog),
		}
		if err := pr.Err(); err != nil {
			return nil, err
		}
		r.init(env.Catalog)
		r.because = make([]string, env.Catalog.Len())
		for i := range r.because {
			r.because[i] = "because you watched " + displayName(env.Catalog.Item(i))
		}
		f := r.factors
		r.ws.New = func() any { return newALSWork(f) }
		r.start()
		return r, nil
	})
}

type mf struct {
	base
	env          Env
	factors      int
	iterations   int
	reg, alpha   float64
	retrainEvery int
	because      []string
	pop          *popularity
	ws           sync.Pool

	model    atomic.Pointer[mfModel]
	arrivals atomic.Pointer[mfArrival]

	// The training data and the factors, touched only by Observe.
	users    map[string]int32
	rows     [][]linalg.Entry
	userF    []float64
	itemF    []float64
	sinceFit int
}

type mfArrival struct {
	user    string
	items   []int32
	ratings []float64
	next    *mfArrival
}

// mfModel is what Recommend reads: the item vectors and their Gram matrix,
// swapped whole at Observe.
type mfModel struct {
	f     int
	items []float64 // n × f
	// active lists the items with a non-zero vector, in catalog order, and
	// active32 holds their vectors contiguously for the scoring loop; every
	// other item (never consumed) scores exactly 0.
	active   []int32
	active32 []float32
	zero     []int32
	norms    []float64
	gram     []float64 // YᵀY + λI, f × f
	trained  bool
}

// firstFitSweeps multiplies the sweeps of the first fit with data, which
// starts from random item vectors rather than from the previous round's.
const firstFitSweeps = 5

func (r *mf) weight(rating float64) float32 {
	if rating == 0 {
		return 1
	}
	return float32(rating / 3)
}

// start forgets everything and trains on the prior interactions.
func (r *mf) start() {
	n, f := r.cat.Len(), r.factors
	r.users = map[string]int32{}
	r.rows = nil
	r.userF = nil
	r.itemF = make([]float64, n*f)
	for i := range n {
		for k := range f {
			r.itemF[i*f+k] = 0.1 * rng.Normal(rng.Key(r.env.Seed, rng.PurposeRecommender, rng.StringKey("mf"), uint64(i), uint64(k)))
		}
	}
	r.arrivals.Store(nil)
	r.model.Store(nil)
	r.sinceFit = 0
	type row struct {
		user string
		ts   int64
		pos  int
	}
	log := make([]row, len(r.env.Interactions))
	for pos, in := range r.env.Interactions {
		log[pos] = row{in.User, in.Timestamp, pos}
	}
	slices.SortFunc(log, func(a, b row) int {
		return cmp.Or(cmp.Compare(a.user, b.user), cmp.Compare(a.ts, b.ts), cmp.Compare(a.pos, b.pos))
	})
	for _, l := range log {
		in := r.env.Interactions[l.pos]
		if i, ok := r.resolve(in.Item); ok {
			r.consume(r.user(in.User), i, r.weight(in.Rating))
		}
	}
	r.fit()
}

func (r *mf) user(id string) int32 {
	u, ok := r.users[id]
	if !ok {
		u = int32(len(r.rows))
		r.users[id] = u
		r.rows = append(r.rows, nil)
	}
	return u
}

func (r *mf) consume(u, item int32, w float32) {
	row := r.rows[u]
	for k := range row {
		if row[k].ID == item {
			row[k].R += w
			return
		}
	}
	r.rows[u] = append(row, linalg.Entry{ID: item, R: w})
}

// fit runs the ALS sweeps and publishes the new model.
func (r *mf) fit() {
	n, f := r.cat.Len(), r.factors
	r.userF = slices.Grow(r.userF[:0], len(r.rows)*f)[:len(r.rows)*f]
	// The item side's rows: each item's consumers, in user order.
	counts := make([]int32, n+1)
	entries := 0
	for _, row := range r.rows {
		for _, e := range row {
			counts[e.ID+1]++
		}
		entries += len(row)
	}
	for i := range n {
		counts[i+1] += counts[i]
	}
	byItem := make([]linalg.Entry, entries)
	fill := slices.Clone(counts[:n])
	for u, row := range r.rows {
		for _, e := range row {
			byItem[fill[e.ID]] = linalg.Entry{ID: int32(u), R: e.R}
			fill[e.ID]++
		}
	}
	itemRow := func(i int) []linalg.Entry { return byItem[counts[i]:counts[i+1]] }
	sweeps := r.iterations
	if m := r.model.Load(); m == nil || !m.trained {
		sweeps *= firstFitSweeps
	}
	if entries > 0 {
		for range sweeps {
			r.sweep(r.userF, r.itemF, len(r.rows), func(u int) []linalg.Entry { return r.rows[u] })
			r.sweep(r.itemF, r.userF, n, itemRow)
		}
	}
	m := &mfModel{f: f, items: slices.Clone(r.itemF), norms: make([]float64, n), trained: entries > 0}
	for i := range n {
		y := m.items[i*f : (i+1)*f]
		m.norms[i] = math.Sqrt(linalg.Dot(y, y))
		if m.norms[i] == 0 {
			m.zero = append(m.zero, int32(i))
			continue
		}
		m.active = append(m.active, int32(i))
		for _, v := range y {
			m.active32 = append(m.active32, float32(v))
		}
	}
	m.gram = linalg.Gram(m.items, f, r.reg)
	r.model.Store(m)
	r.sinceFit = 0
}

// sweep solves every row of dst against the fixed vectors of the other
// side. Rows are independent, so the result does not depend on the number
// of workers.
func (r *mf) sweep(dst, fixed []float64, rows int, entries func(int) []linalg.Entry) {
	f := r.factors
	g := linalg.Gram(fixed, f, r.reg)
	workers := min(runtime.GOMAXPROCS(0), rows/64+1)
	var eg errgroup.Group
	for w := range workers {
		eg.Go(func() error {
			ws := newALSWork(f)
			for row := w; row < rows; row += workers {
				ws.Solve(g, fixed, entries(row), r.alpha, dst[row*f:(row+1)*f])
			}
			return nil
		})
	}
	_ = eg.Wait() // workers cannot fail
}

// alsWork is the memory of a request's fold-in: its history as entries,
// the solver, and the user vector it solves to.
type alsWork struct {
	*linalg.Solver
	entries []linalg.Entry
	user    []float64
	user32  []float32
}

func newALSWork(f int) *alsWork {
	return &alsWork{Solver: linalg.NewSolver(f), user: make([]float64, f), user32: make([]float32, f)}
}

func (r *mf) Recommend(ctx context.Context, req Request) (Slate, error) {
	s, k, err := r.begin(ctx, req)
	if err != nil {
		return Slate{}, err
	}
	defer r.end(s)
	if _, known := r.users[req.User]; !known && len(s.hist) > 0 {
		r.pushArrival(req.User, slices.Clone(s.hist), slices.Clone(s.ratings))
	}
	m := r.model.Load()
	if len(s.hist) == 0 || !m.trained {
		s.slate = r.pop.fill(s.slate[:0], k, s, &r.base, req.Round, 0)
		return r.slate(s.slate, r.pop.explain), nil
	}
	ws := r.ws.Get().(*alsWork)
	defer r.ws.Put(ws)
	ws.entries = ws.entries[:0]
	for j, i := range s.hist {
		ws.entries = append(ws.entries, linalg.Entry{ID: i, R: r.weight(s.ratings[j])})
	}
	ws.Solve(m.gram, m.items, ws.entries, r.alpha, ws.user)
	for k, v := range ws.user {
		ws.user32[k] = float32(v)
	}
	r.scoreAll(s, m, ws.user32, k, req.Round)
	s.slate = append(s.slate[:0], s.top.sorted()...)
	return r.slate(s.slate, func(_ int, c candidate) string { return r.because[m.nearest(c.item, s.hist)] }), nil
}

// scoreAll keeps the k best eligible items by x·y_i in s.top. It is the
// hot loop of mf: one pass over the non-zero item vectors in memory order
// (the others score 0 and are only needed when the best k are not all
// positive), four
// independent sums so the additions pipeline, and once the heap is full a
// float32 comparison with the worst kept score rejects most items before
// any other work.
func (r *mf) scoreAll(s *scratch, m *mfModel, x []float32, k, round int) {
	s.top.reset(k)
	f := m.f
	x = x[:f]
	items := m.active32
	bar := float32(math.Inf(-1))
	for a, off := 0, 0; off+f <= len(items); a, off = a+1, off+f {
		y := items[off : off+f : off+f]
		var s0, s1, s2, s3 float32
		j := 0
		for ; j+4 <= f; j += 4 {
			s0 += y[j] * x[j]
			s1 += y[j+1] * x[j+1]
			s2 += y[j+2] * x[j+2]
			s3 += y[j+3] * x[j+3]
		}
		for ; j < f; j++ {
			s0 += y[j] * x[j]
		}
		sc := (s0 + s1) + (s2 + s3)
		if sc < bar {
			continue
		}
		i := m.active[a]
		if c := (candidate{score: float64(sc), item: i}); s.top.admits(c) && r.eligible(s, i, round) {
			s.top.push(c)
			if len(s.top.h) == k {
				bar = float32(s.top.h[0].score)
			}
		}
	}
	if len(s.top.h) == k && bar > 0 {
		return
	}
	for _, i := range m.zero {
		if c := (candidate{item: i}); s.top.admits(c) && r.eligible(s, i, round) {
			s.top.push(c)
		}
	}
}

// nearest is the consumed item whose vector is closest in cosine to item's.
func (m *mfModel) nearest(item int32, hist []int32) int32 {
	f := m.f
	y := m.items[int(item)*f : int(item)*f+f]
	best, bestSim := hist[0], math.Inf(-1)
	for _, h := range hist {
		if m.norms[h] == 0 {
			continue
		}
		if sim := linalg.Dot(y, m.items[int(h)*f:int(h)*f+f]) / m.norms[h]; sim > bestSim {
			best, bestSim = h, sim
		}
	}
	return best
}

func (r *mf) pushArrival(user string, items []int32, ratings []float64) {
	a := &mfArrival{user: user, items: items, ratings: ratings}
	for {
		a.next = r.arrivals.Load()
		if r.arrivals.CompareAndSwap(a.next, a) {
			return
		}
	}
}

func (r *mf) Observe(ctx context.Context, feedback []Feedback) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var list []*mfArrival
	for a := r.arrivals.Swap(nil); a != nil; a = a.next {
		list = append(list, a)
	}
	slices.SortFunc(list, func(a, b *mfArrival) int {
		return cmp.Or(cmp.Compare(a.user, b.user), slices.Compare(a.items, b.items))
	})
	for _, a := range list {
		if _, known := r.users[a.user]; known {
			continue
		}
		u := r.user(a.user)
		for j, i := range a.items {
			r.consume(u, i, r.weight(a.ratings[j]))
		}
	}
	for _, fb := range feedback {
		if !fb.Clicked {
			continue
		}
		i, ok := r.resolve(fb.Item)
		if !ok {
			continue
		}
		r.consume(r.user(fb.User), i, r.weight(fb.Rating))
		r.pop.click(fb.Round, i)
	}
	r.pop.finishRound()
	if r.sinceFit++; r.sinceFit >= r.retrainEvery {
		r.fit()
	}
	return nil
}

func (r *mf) Reset(context.Context) error {
	r.pop.reset()
	r.start()
	return nil
}

var _ interface {
	Recommender
	Resetter
} = (*mf)(nil)

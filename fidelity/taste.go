package fidelity

import (
	"fmt"
	"math"
	"runtime"

	"golang.org/x/sync/errgroup"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/internal/linalg"
	"github.com/recloop/recloop/internal/rng"
	"github.com/recloop/recloop/personas"
)

// TasteOptions set the learned taste model: implicit alternating least
// squares over the seed log (every consumed pair a positive of weight
// 1 + Alpha, every other pair a zero of weight 1, Regularization the L2
// penalty), Iterations sweeps from random item vectors; Recency the
// half-life, in items, of a history item's weight when a persona is
// folded in (0: every item weighs alike). The zero value means
// DefaultTaste.
type TasteOptions struct {
	Factors        int
	Regularization float64
	Alpha          float64
	Recency        float64
	Iterations     int
}

// DefaultTaste is the taste model recloop derives when not told otherwise;
// recloop fidelity --fit chooses among TasteCandidates on the seed part.
var DefaultTaste = TasteOptions{Factors: 16, Regularization: 10, Alpha: 5, Recency: 20, Iterations: 15}

// withDefaults returns DefaultTaste for the zero value, and otherwise fills
// in only the fields that must be positive; Recency 0 stays 0 (every
// history item weighs alike).
func (o TasteOptions) withDefaults() TasteOptions {
	if o == (TasteOptions{}) {
		return DefaultTaste
	}
	if o.Factors <= 0 {
		o.Factors = DefaultTaste.Factors
	}
	if o.Regularization <= 0 {
		o.Regularization = DefaultTaste.Regularization
	}
	if o.Alpha <= 0 {
		o.Alpha = DefaultTaste.Alpha
	}
	o.Recency = max(0, o.Recency)
	if o.Iterations <= 0 {
		o.Iterations = DefaultTaste.Iterations
	}
	return o
}

// Rating-bias shrinkage: an item's quality and a user's bias are sums of
// residuals divided by (count + λ), so an item rated a few times stays
// near the mean.
const (
	itemShrinkage = 10
	userShrinkage = 5
	biasSweeps    = 3
)

// trainTaste fits the taste model on log and the rating biases: the mean
// rating μ, each item's quality b_i and each user's bias b_u, alternating
// b_i = Σ(r − μ − b_u)/(n_i + 10) and b_u = Σ(r − μ − b_i)/(n_u + 5) three
// times. Vectors are rounded to 6 decimals and qualities to 4, so that a
// model read back from its file behaves exactly as the one in memory.
func trainTaste(cat *catalog.Catalog, log []catalog.Interaction, opt TasteOptions, seed uint64) (*personas.TasteModel, map[string]float64, error) {
	opt = opt.withDefaults()
	users := map[string]int32{}
	var rows [][]linalg.Entry
	for _, in := range log {
		idx, ok := cat.Index(in.Item)
		if !ok {
			continue
		}
		u, known := users[in.User]
		if !known {
			u = int32(len(rows))
			users[in.User] = u
			rows = append(rows, nil)
		}
		rows[u] = append(rows[u], linalg.Entry{ID: int32(idx), R: 1})
	}
	n, f := cat.Len(), opt.Factors
	byItem := make([][]linalg.Entry, n)
	for u, row := range rows {
		for _, e := range row {
			byItem[e.ID] = append(byItem[e.ID], linalg.Entry{ID: int32(u), R: 1})
		}
	}
	items := make([]float64, n*f)
	for i := range n {
		if len(byItem[i]) == 0 {
			continue
		}
		for k := range f {
			items[i*f+k] = 0.1 * rngNormal(seed, uint64(i), uint64(k))
		}
	}
	userVecs := make([]float64, len(rows)*f)
	for range opt.Iterations {
		sweep(userVecs, items, f, opt, func(u int) []linalg.Entry { return rows[u] })
		sweep(items, userVecs, f, opt, func(i int) []linalg.Entry { return byItem[i] })
	}
	mu, quality, bias := ratingBiases(cat, log)
	m := &personas.TasteModel{
		Version: personas.TasteModelVersion, Factors: f,
		Regularization: opt.Regularization, Alpha: opt.Alpha, Recency: opt.Recency,
		MeanRating: round(mu, 4),
	}
	for i := range n {
		vec := items[i*f : (i+1)*f]
		if len(byItem[i]) == 0 && quality[i] == 0 {
			continue
		}
		out := make([]float64, f)
		for k, x := range vec {
			out[k] = round(x, 6)
		}
		m.Items = append(m.Items, personas.TasteItem{ID: cat.Item(i).ID, Vector: out, Quality: round(quality[i], 4)})
	}
	if len(m.Items) == 0 {
		return nil, nil, fmt.Errorf("%w: the seed log names no catalog item", ErrNoUsers)
	}
	return m, bias, nil
}

func rngNormal(seed uint64, parts ...uint64) float64 {
	return rng.Normal(rng.Key(append([]uint64{seed, rng.PurposeSample, rng.StringKey("taste")}, parts...)...))
}

// sweep solves every row of dst against the fixed vectors of the other
// side, in parallel: rows are independent, so the result does not depend
// on the number of workers.
func sweep(dst, fixed []float64, f int, opt TasteOptions, entries func(int) []linalg.Entry) {
	g := linalg.Gram(fixed, f, opt.Regularization)
	rows := len(dst) / f
	workers := min(runtime.GOMAXPROCS(0), rows/64+1)
	var eg errgroup.Group
	for w := range workers {
		eg.Go(func() error {
			s := linalg.NewSolver(f)
			for row := w; row < rows; row += workers {
				if e := entries(row); len(e) > 0 {
					s.Solve(g, fixed, e, opt.Alpha, dst[row*f:(row+1)*f])
				} else {
					clear(dst[row*f : (row+1)*f])
				}
			}
			return nil
		})
	}
	_ = eg.Wait() // workers cannot fail
}

// ratingBiases returns the mean rating μ of log's rated rows, each catalog
// item's quality b_i and each user's bias b_u (Koren's baseline
// predictor, fitted by alternating shrunk means).
func ratingBiases(cat *catalog.Catalog, log []catalog.Interaction) (float64, []float64, map[string]float64) {
	type rated struct {
		user int
		item int
		r    float64
	}
	var rs []rated
	users := map[string]int{}
	var names []string
	var sum float64
	for _, in := range log {
		idx, ok := cat.Index(in.Item)
		if !ok || in.Rating <= 0 {
			continue
		}
		u, known := users[in.User]
		if !known {
			u = len(names)
			users[in.User] = u
			names = append(names, in.User)
		}
		rs = append(rs, rated{u, idx, in.Rating})
		sum += in.Rating
	}
	quality := make([]float64, cat.Len())
	bias := map[string]float64{}
	if len(rs) == 0 {
		return 0, quality, bias
	}
	mu := sum / float64(len(rs))
	bu := make([]float64, len(names))
	for range biasSweeps {
		num, den := make([]float64, cat.Len()), make([]float64, cat.Len())
		for _, x := range rs {
			num[x.item] += x.r - mu - bu[x.user]
			den[x.item]++
		}
		for i := range quality {
			quality[i] = num[i] / (den[i] + itemShrinkage)
		}
		unum, uden := make([]float64, len(names)), make([]float64, len(names))
		for _, x := range rs {
			unum[x.user] += x.r - mu - quality[x.item]
			uden[x.user]++
		}
		for u := range bu {
			bu[u] = unum[u] / (uden[u] + userShrinkage)
		}
	}
	for u, name := range names {
		bias[name] = bu[u]
	}
	return mu, quality, bias
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

package recommenders

import (
	"context"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/internal/rng"
)

// The benchmark scale of the project: 10,000 users, 10,000 items, 30 rounds,
// slates of 10.
const (
	benchItems   = 10_000
	benchUsers   = 10_000
	benchRounds  = 30
	benchSeedLen = 10
	warmRounds   = 10
)

var benchCatalog = sync.OnceValues(func() (*catalog.Catalog, error) {
	return catalog.Synthetic(catalog.SyntheticConfig{Items: benchItems, NewItems: 500, ReleaseFrom: 1, ReleaseTo: 20, Seed: 1})
})

func loadBenchCatalog(b *testing.B) *catalog.Catalog {
	b.Helper()
	cat, err := benchCatalog()
	if err != nil {
		b.Fatal(err)
	}
	return cat
}

// phaseTimes is the time spent inside Recommend and inside Observe, as
// wall time and as process CPU time (all goroutines).
type phaseTimes struct {
	recommendWall, observeWall time.Duration
	recommendCPU, observeCPU   time.Duration
}

// playRounds runs the closed loop of the world for rounds [from, to).
func playRounds(b *testing.B, w *world, r Recommender, from, to int) phaseTimes {
	b.Helper()
	ctx := context.Background()
	order := identity(len(w.users))
	workers := runtime.GOMAXPROCS(0)
	var fb []Feedback
	var t phaseTimes
	for round := from; round < to; round++ {
		start, cpu := time.Now(), processCPU()
		slates, err := w.recommendAll(ctx, r, round, workers, order)
		if err != nil {
			b.Fatal(err)
		}
		t.recommendWall += time.Since(start)
		t.recommendCPU += processCPU() - cpu
		fb = w.feedback(round, slates, fb)
		start, cpu = time.Now(), processCPU()
		if err := r.Observe(ctx, fb); err != nil {
			b.Fatal(err)
		}
		t.observeWall += time.Since(start)
		t.observeCPU += processCPU() - cpu
	}
	return t
}

// BenchmarkItemKNNRun is the headline figure: one op is a whole run of 30
// rounds (300,000 Recommend calls and 30 Observe batches of 100,000
// impressions, about 20% of them clicks), on GOMAXPROCS workers. Besides wall
// time it reports CPU seconds, which stay meaningful on a busy machine.
func BenchmarkItemKNNRun(b *testing.B) { benchmarkWholeRun(b, "itemknn") }

// benchmarkWholeRun plays benchRounds rounds of benchUsers users against a
// fresh recommender per op and reports each phase's wall and CPU time.
func benchmarkWholeRun(b *testing.B, name string) {
	cat := loadBenchCatalog(b)
	var total phaseTimes
	for b.Loop() {
		b.StopTimer()
		w := newWorld(cat, benchUsers, benchSeedLen, 1)
		r := build(b, name, Env{Catalog: cat, Seed: 1}, nil)
		b.StartTimer()
		t := playRounds(b, w, r, 0, benchRounds)
		total.recommendWall += t.recommendWall
		total.observeWall += t.observeWall
		total.recommendCPU += t.recommendCPU
		total.observeCPU += t.observeCPU
	}
	runs := float64(b.N)
	b.ReportMetric(total.recommendWall.Seconds()/runs, "s-recommend/run")
	b.ReportMetric(total.observeWall.Seconds()/runs, "s-observe/run")
	if total.recommendCPU > 0 {
		b.ReportMetric(total.recommendCPU.Seconds()/runs, "cpu-s-recommend/run")
		b.ReportMetric(total.observeCPU.Seconds()/runs, "cpu-s-observe/run")
		b.ReportMetric(float64(total.recommendCPU.Nanoseconds())/(runs*benchRounds*benchUsers), "cpu-ns/recommend")
	}
}

// warmModel plays warmRounds rounds so the model holds a realistic amount
// of co-occurrence.
func warmModel(b *testing.B, name string) (*world, Recommender) {
	b.Helper()
	cat := loadBenchCatalog(b)
	w := newWorld(cat, benchUsers, benchSeedLen, 1)
	r := build(b, name, Env{Catalog: cat, Seed: 1}, nil)
	playRounds(b, w, r, 0, warmRounds)
	return w, r
}

// BenchmarkItemKNNRecommend is one Recommend call against a warmed model,
// from parallel goroutines.
func BenchmarkItemKNNRecommend(b *testing.B) { benchmarkRecommend(b, "itemknn") }

func BenchmarkRecommend(b *testing.B) {
	for _, name := range []string{"random", "popular", "content"} {
		b.Run(name, func(b *testing.B) { benchmarkRecommend(b, name) })
	}
}

// warmForRecommend caches one warmed model per built-in: Recommend does not
// change it, and the benchmark function runs several times while the
// framework sizes b.N.
var warmForRecommend = struct {
	sync.Mutex
	worlds map[string]*world
	recs   map[string]Recommender
}{worlds: map[string]*world{}, recs: map[string]Recommender{}}

func benchmarkRecommend(b *testing.B, name string) {
	warmForRecommend.Lock()
	w, r := warmForRecommend.worlds[name], warmForRecommend.recs[name]
	if r == nil {
		w, r = warmModel(b, name)
		warmForRecommend.worlds[name], warmForRecommend.recs[name] = w, r
	}
	warmForRecommend.Unlock()
	ctx := context.Background()
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			u := int(next.Add(1)) % len(w.users)
			if _, err := r.Recommend(ctx, w.request(u, warmRounds)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkItemKNNObserve is one round's Observe batch against a warmed
// model: every user is shown 10 items drawn by popularity and clicks each
// with probability 0.2, so a batch holds 100,000 impressions and about
// 20,000 clicks. Each op feeds a new round, so the model keeps growing as it
// would in a run.
func BenchmarkItemKNNObserve(b *testing.B) {
	w, r := warmModel(b, "itemknn")
	ctx := context.Background()
	var fb []Feedback
	round := warmRounds
	for b.Loop() {
		b.StopTimer()
		fb = w.syntheticFeedback(round, fb)
		b.StartTimer()
		if err := r.Observe(ctx, fb); err != nil {
			b.Fatal(err)
		}
		round++
	}
}

// syntheticFeedback shows every user w.k items drawn by the popularity prior
// without asking a recommender.
func (w *world) syntheticFeedback(round int, fb []Feedback) []Feedback {
	fb = fb[:0]
	total := w.shares[len(w.shares)-1]
	for u, user := range w.users {
		for rank := range w.k {
			x := rng.Uniform(rng.Key(w.seed, rng.PurposeSample, uint64(u), uint64(round), uint64(rank))) * total
			i := min(sort.SearchFloat64s(w.shares, x), w.cat.Len()-1)
			click := rng.Uniform(rng.Key(w.seed, rng.PurposeClick, uint64(u), uint64(round), uint64(rank))) < w.clickRate
			fb = append(fb, Feedback{User: user, Round: round, Item: w.cat.Item(i).ID, Rank: rank + 1, Clicked: click})
		}
	}
	return fb
}

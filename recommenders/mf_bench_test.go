package recommenders

import (
	"testing"

	"github.com/recloop/recloop/catalog"
)

// BenchmarkMFRun is a whole run of 30 rounds on the project's benchmark
// scale (10,000 users × 10,000 items, slates of 10), retraining after every
// round.
func BenchmarkMFRun(b *testing.B) { benchmarkWholeRun(b, "mf") }

// BenchmarkMFRecommend is one Recommend call against a model warmed for 10
// rounds, from parallel goroutines.
func BenchmarkMFRecommend(b *testing.B) { benchmarkRecommend(b, "mf") }

// BenchmarkMFRetrain is one retrain (the default 4 sweeps, 16 factors) on
// 100,000 interactions: 10,000 users with 10 items each on 10,000 items.
func BenchmarkMFRetrain(b *testing.B) {
	cat := loadBenchCatalog(b)
	w := newWorld(cat, benchUsers, benchSeedLen, 1)
	var log []catalog.Interaction
	for u, h := range w.history {
		for ts, it := range h {
			log = append(log, catalog.Interaction{User: w.users[u], Item: it.Item, Timestamp: int64(ts)})
		}
	}
	r := build(b, "mf", Env{Catalog: cat, Interactions: log, Seed: 1}, nil).(*mf)
	b.ReportMetric(float64(len(log)), "interactions")
	for b.Loop() {
		r.fit()
	}
}

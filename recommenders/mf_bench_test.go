package recommenders

import (
	"testing"

	"github.com/recloop/recloop/catalog"
)

// BenchmarkMFRun is a whole run of 30 rounds on the project's benchmark
// scale (10,000 users × 10,000 items, slates of 10), retraining after every
// round.
func BenchmarkMFRun(b *testing.B) {
	cat := loadBenchCatalog(b)
	var total phaseTimes
	for b.Loop() {
		b.StopTimer()
		w := newWorld(cat, benchUsers, benchSeedLen, 1)
		r := build(b, "mf", Env{Catalog: cat, Seed: 1}, nil)
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
	}
}

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

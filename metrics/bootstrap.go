package metrics

import (
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/recloop/recloop/internal/rng"
)

// ciLow and ciHigh are the percentile bounds of a 95% interval.
const (
	ciLow  = 0.025
	ciHigh = 0.975
)

// resampler draws indexes with replacement from a wyrand stream seeded by
// an rng key. The bootstrap's inner loop runs hundreds of millions of times
// on a large run, so each 64-bit draw yields two indexes.
type resampler struct{ state uint64 }

func newResampler(key uint64) resampler { return resampler{state: key} }

func (r *resampler) next() uint64 {
	r.state += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(r.state, r.state^0xe7037ed1a0b428db)
	return hi ^ lo
}

// intn returns a number in [0, n) by multiply-shift (Lemire); the bias is at
// most n / 2⁶⁴.
func (r *resampler) intn(n int) int {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int(hi)
}

// resampledMean is the mean of len(vals) values drawn with replacement.
// Each 64-bit draw gives two 32-bit multiply-shift indexes (bias at most
// n / 2³², under 10⁻⁵ for a million personas), and four accumulators keep
// the additions from waiting on each other.
func resampledMean(r *resampler, vals []float64) float64 {
	n := len(vals)
	n32 := uint64(n)
	var s0, s1, s2, s3 float64
	k := 0
	// a local copy of the state stays in a register
	local := *r
	for ; k+3 < n; k += 4 {
		x, y := local.next(), local.next()
		s0 += vals[(x&0xffffffff*n32)>>32]
		s1 += vals[(x>>32*n32)>>32]
		s2 += vals[(y&0xffffffff*n32)>>32]
		s3 += vals[(y>>32*n32)>>32]
	}
	*r = local
	for ; k < n; k++ {
		s0 += vals[r.intn(n)]
	}
	return (s0 + s1 + s2 + s3) / float64(n)
}

// bootstrapKey seeds one metric's resamples from the run seed, the variant,
// the metric and the segment ("" for all personas).
func bootstrapKey(seed uint64, variant, metric, segment string) uint64 {
	return rng.Key(seed, rng.PurposeBootstrap, rng.StringKey(variant), rng.StringKey(metric), rng.StringKey(segment))
}

// meanCI is the mean of vals with a 95% percentile bootstrap interval from b
// resamples of len(vals) values drawn with replacement.
func meanCI(name string, key uint64, vals []float64, b int) Value {
	v := Value{Name: name, N: len(vals), Value: nan(), CILow: nan(), CIHigh: nan()}
	if len(vals) == 0 {
		return v
	}
	v.Value = Float(sliceMean(vals))
	if len(vals) == 1 {
		v.CILow, v.CIHigh = v.Value, v.Value
		return v
	}
	r := newResampler(key)
	stats := make([]float64, b)
	for k := range stats {
		stats[k] = resampledMean(&r, vals)
	}
	lo, hi := percentileInterval(stats)
	v.CILow, v.CIHigh = Float(lo), Float(hi)
	return v
}

// percentileInterval sorts stats, drops undefined resamples and returns the
// nearest-rank 2.5% and 97.5% points.
func percentileInterval(stats []float64) (lo, hi float64) {
	stats = slices.DeleteFunc(stats, math.IsNaN)
	slices.Sort(stats)
	return nearestRank(stats, ciLow), nearestRank(stats, ciHigh)
}

// globalCI turns resampled values of a global metric (one computed from all
// personas at once) into a Value. Resampling personas with replacement
// duplicates some and drops others, which by itself lowers coverage and
// raises the Gini index, so the percentile interval is recentred on the
// estimate: it is shifted by est − mean(resamples). The interval is widened
// to contain the estimate if needed and clipped to [0, 1], the range of
// every global metric.
func globalCI(name string, est float64, n int, stats []float64) Value {
	v := Value{Name: name, Value: Float(est), N: n, CILow: nan(), CIHigh: nan()}
	if math.IsNaN(est) {
		return v
	}
	stats = slices.DeleteFunc(stats, math.IsNaN)
	if len(stats) == 0 {
		v.CILow, v.CIHigh = v.Value, v.Value
		return v
	}
	var sum float64
	for _, s := range stats {
		sum += s
	}
	shift := est - sum/float64(len(stats))
	lo, hi := percentileInterval(stats)
	lo, hi = min(lo+shift, est), max(hi+shift, est)
	v.CILow, v.CIHigh = Float(max(lo, 0)), Float(min(hi, 1))
	return v
}

// ratioOfSumsStats resamples units (personas) and returns Σnum / Σden per
// resample.
func ratioOfSumsStats(key uint64, num, den []float64, b int) []float64 {
	n := len(num)
	stats := make([]float64, b)
	r := newResampler(key)
	for k := range stats {
		var sn, sd float64
		for range n {
			j := r.intn(n)
			sn += num[j]
			sd += den[j]
		}
		stats[k] = sn / sd
		if sd == 0 {
			stats[k] = math.NaN()
		}
	}
	return stats
}

// cohortRatioCI is mean(cold) / mean(warm) with a percentile bootstrap
// interval that resamples each cohort separately.
func cohortRatioCI(name string, key uint64, cold, warm []float64, b int) Value {
	v := Value{Name: name, N: len(cold) + len(warm), Value: nan(), CILow: nan(), CIHigh: nan()}
	if len(cold) == 0 || len(warm) == 0 {
		return v
	}
	v.Value = Float(sliceMean(cold) / sliceMean(warm))
	if !v.Value.Defined() {
		v.Value = nan()
		return v
	}
	r := newResampler(key)
	stats := make([]float64, b)
	for k := range stats {
		c := resampledMean(&r, cold)
		w := resampledMean(&r, warm)
		stats[k] = math.NaN()
		if w != 0 {
			stats[k] = c / w
		}
	}
	lo, hi := percentileInterval(stats)
	v.CILow, v.CIHigh = Float(lo), Float(hi)
	return v
}

func sliceMean(vals []float64) float64 {
	if len(vals) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range vals {
		s += x
	}
	return s / float64(len(vals))
}

func nan() Float { return Float(math.NaN()) }

// runParallel runs independent jobs on GOMAXPROCS workers. Each job writes
// only its own output, so the result does not depend on scheduling.
func runParallel(jobs []func()) {
	workers := min(runtime.GOMAXPROCS(0), len(jobs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				k := int(next.Add(1)) - 1
				if k >= len(jobs) {
					return
				}
				jobs[k]()
			}
		})
	}
	wg.Wait()
}

package metrics

import (
	"maps"
	"math"
	"slices"
)

// denseLatencyUS is the range of latencies (in µs) counted in a dense array;
// slower calls go to a map. Either way every value is kept exactly, so the
// percentiles are exact nearest-rank percentiles, and memory depends on the
// number of distinct slow latencies, not on the number of calls.
const denseLatencyUS = 1 << 16

type latencyHist struct {
	dense []uint32
	slow  map[int64]uint32
	n     int
}

func (h *latencyHist) add(us int64) {
	us = max(us, 0)
	h.n++
	if us < denseLatencyUS {
		if h.dense == nil {
			h.dense = make([]uint32, denseLatencyUS)
		}
		h.dense[us]++
		return
	}
	if h.slow == nil {
		h.slow = map[int64]uint32{}
	}
	h.slow[us]++
}

// percentilesMS returns the nearest-rank percentiles ps (in [0, 1]) in
// milliseconds, in the order given; NaN when nothing was recorded.
func (h *latencyHist) percentilesMS(ps ...float64) []Float {
	out := make([]Float, len(ps))
	for k, p := range ps {
		out[k] = Float(math.NaN())
		if h.n > 0 {
			out[k] = Float(float64(h.valueAtRank(rankIndex(h.n, p))) / 1000)
		}
	}
	return out
}

// valueAtRank returns the value with 0-based rank idx in ascending order.
func (h *latencyHist) valueAtRank(idx int) int64 {
	seen := 0
	for us, c := range h.dense {
		seen += int(c)
		if seen > idx {
			return int64(us)
		}
	}
	var last int64
	for _, us := range slices.Sorted(maps.Keys(h.slow)) {
		seen += int(h.slow[us])
		last = us
		if seen > idx {
			break
		}
	}
	return last
}

func (h *latencyHist) summary() Latency {
	v := h.percentilesMS(0.50, 0.95, 0.99, 1)
	return Latency{P50: v[0], P95: v[1], P99: v[2], Max: v[3]}
}

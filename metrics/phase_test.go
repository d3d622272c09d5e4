package metrics

import (
	"syscall"
	"testing"
	"time"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestPhases(t *testing.T) {
	cat := syntheticCatalog(t, 10000)
	agg := NewAggregator(cat, Config{Seed: 1})
	c0, t0 := cpuTime(), time.Now()
	syntheticRun(t, cat, agg, 10000, 30, 10)
	c1, t1 := cpuTime(), time.Now()
	agg.Results()
	t.Logf("stream cpu %v wall %v; results cpu %v wall %v", c1-c0, t1.Sub(t0), cpuTime()-c1, time.Since(t1))
}

//go:build unix

package execrec

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/recloop/recloop/recommenders"
	"github.com/recloop/recloop/recommenders/protocol/prototest"
)

// BenchmarkRecommendOverhead measures a whole Recommend call through a
// child (the test binary as a helper that answers a fixed slate): JSON
// both ways over the pipes, routing by id, decoding, validation.
//
//	go test ./recommenders/execrec -run '^$' -bench Overhead
func BenchmarkRecommendOverhead(b *testing.B) {
	p := map[string]any{"command": helperCommand(b, "ok"), "send_catalog": false}
	env := recommenders.Env{Catalog: prototest.Catalog(b), Seed: 1, Variant: "bench"}
	a, err := prototest.Build(b, Spec, New, env, p, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		start := time.Now()
		if _, err := a.Recommend(ctx, prototest.Request); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs/call")
}

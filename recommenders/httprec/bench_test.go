package httprec

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/recommenders"
	"github.com/recloop/recloop/recommenders/protocol"
)

// BenchmarkRecommendOverhead measures a whole Recommend call (request
// mapping, JSON, HTTP over a kept-alive loopback connection, decoding,
// validation) against a server that answers a canned slate of 10 at once,
// and reports the median per call: the adapter's overhead.
//
//	go test ./recommenders/httprec -run '^$' -bench Overhead
func BenchmarkRecommendOverhead(b *testing.B) {
	cat, err := catalog.Synthetic(catalog.SyntheticConfig{Items: 10000})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"type":"slate","id":"r1-u","items":[`)
	for i := range 10 {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, `{"id":"`+cat.Item(100+i).ID+`","score":1,"explanation":"canned"}`...)
	}
	body = append(body, "]}"...)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			_, _ = w.Write([]byte(`{"type":"health","protocol":1,"status":"ok"}`))
			return
		}
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	p, _ := Spec.Resolve(nil, "", map[string]any{"url": srv.URL, "send_catalog": false})
	r, err := New(b.Context(), recommenders.Env{Catalog: cat, Seed: 1, Variant: "bench"}, p)
	if err != nil {
		b.Fatal(err)
	}
	defer r.(*protocol.Adapter).Close()
	hist := make([]recommenders.HistoryItem, 30)
	for i := range hist {
		hist[i] = recommenders.HistoryItem{Item: cat.Item(i).ID, Round: i - 1}
	}
	req := recommenders.Request{User: "u", Round: 1, K: 10, History: hist}
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		if _, err := r.Recommend(ctx, req); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs/call")
}

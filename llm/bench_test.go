package llm

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recloop/recloop/llm/llmtest"
)

func benchStack(b *testing.B, srv *llmtest.Server, dir, mode string) *Stack {
	b.Helper()
	b.Setenv("OPENAI_API_KEY", testKey)
	s, err := New(Config{BaseURL: srv.URL(), Model: "gpt-4o-mini", MaxConcurrency: 64,
		Cache: CacheConfig{Dir: dir, Mode: mode}}, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// runConcurrently makes n distinct calls from workers goroutines.
func runConcurrently(b *testing.B, s *Stack, n, workers int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				if _, err := s.Complete(context.Background(), askJSON(b, fmt.Sprint("call ", i))); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkThroughput: 50 ms per answer at concurrency 64 bounds throughput
// at 64/0.05 = 1,280 calls/s.
func BenchmarkThroughput(b *testing.B) {
	srv := llmtest.New(b)
	srv.Handle(func(llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Content: validAnswer, Delay: 50 * time.Millisecond}
	})
	s := benchStack(b, srv, "", CacheOff)
	b.ResetTimer()
	runConcurrently(b, s, b.N, 64)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// BenchmarkCachedReplay replays 10,000 cached calls per iteration.
func BenchmarkCachedReplay(b *testing.B) {
	const calls = 10_000
	srv := llmtest.New(b)
	dir := b.TempDir()
	runConcurrently(b, benchStack(b, srv, dir, CacheReadWrite), calls, 64)
	s := benchStack(b, srv, dir, CacheReplay)
	reqs := make([]Request, calls)
	for i := range reqs {
		reqs[i] = askJSON(b, fmt.Sprint("call ", i+1))
	}
	b.ResetTimer()
	for range b.N {
		for _, r := range reqs {
			if _, err := s.Complete(context.Background(), r); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	if srv.Count() != calls {
		b.Fatalf("HTTP requests = %d, want %d (only the fill)", srv.Count(), calls)
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/10k-calls")
}

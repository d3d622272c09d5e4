package rectest

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/recloop/recloop/recommenders"
)

var fixed = []recommenders.Scored{{Item: "x", Score: 2}, {Item: "no-such-item", Score: 1}, {Item: "x", Score: 0}}

func TestStaticReturnsACopyOfItsSlate(t *testing.T) {
	s := &Static{Items: fixed}
	got, err := s.Recommend(context.Background(), recommenders.Request{User: "u", K: 1})
	if err != nil || len(got.Items) != 3 || got.Items[1].Item != "no-such-item" {
		t.Fatalf("got %v, %v", got, err)
	}
	got.Items[0].Item = "changed"
	if s.Items[0].Item != "x" {
		t.Fatal("callers can modify the static slate")
	}
}

func TestFlakyFailsAStableShare(t *testing.T) {
	f := &Flaky{Inner: &Static{Items: fixed}, ErrorRate: 0.25, Seed: 9}
	const users = 4000
	run := func(workers int) []bool {
		failed := make([]bool, users)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for u := w; u < users; u += workers {
					_, err := f.Recommend(context.Background(), recommenders.Request{User: strconv.Itoa(u), Round: 2})
					if err != nil && !errors.Is(err, ErrFlaky) {
						t.Errorf("unexpected error %v", err)
					}
					failed[u] = err != nil
				}
			})
		}
		wg.Wait()
		return failed
	}
	serial, parallel := run(1), run(7)
	count := 0
	for u := range users {
		if serial[u] != parallel[u] {
			t.Fatalf("user %d: failed=%v serially, %v in parallel", u, serial[u], parallel[u])
		}
		if serial[u] != f.Fails(strconv.Itoa(u), 2) {
			t.Fatalf("user %d: Fails disagrees with Recommend", u)
		}
		if serial[u] {
			count++
		}
	}
	// Expected 1000; the draws are seeded.
	if count < 880 || count > 1120 {
		t.Fatalf("%d of %d calls failed, want about 1000", count, users)
	}
}

func TestSlowGivesUpWithTheContext(t *testing.T) {
	s := &Slow{Inner: &Static{Items: fixed}, Delay: time.Hour}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, err := s.Recommend(ctx, recommenders.Request{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a deadline error", err)
	}
	quick := &Slow{Inner: &Static{Items: fixed}, Delay: time.Microsecond}
	got, err := quick.Recommend(context.Background(), recommenders.Request{})
	if err != nil || len(got.Items) != 3 {
		t.Fatalf("after the delay: %v, %v", got, err)
	}
	if got, err := (&Slow{}).Recommend(context.Background(), recommenders.Request{}); err != nil || len(got.Items) != 0 {
		t.Fatalf("without Inner: %v, %v", got, err)
	}
}

type resettable struct {
	Static
	resets int
}

func (r *resettable) Reset(context.Context) error {
	r.resets++
	return nil
}

func TestRecorderRecordsEverything(t *testing.T) {
	inner := &resettable{Static: Static{Items: fixed}}
	r := &Recorder{Inner: inner}
	var wg sync.WaitGroup
	for u := range 50 {
		wg.Go(func() {
			if _, err := r.Recommend(context.Background(), recommenders.Request{User: strconv.Itoa(u)}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	batch := []recommenders.Feedback{{User: "1", Item: "x", Clicked: true}}
	if err := r.Observe(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	batch[0].Item = "mutated by the caller"
	if err := r.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(r.Requests()); n != 50 {
		t.Fatalf("%d requests recorded, want 50", n)
	}
	if b := r.Batches(); len(b) != 1 || b[0][0].Item != "x" {
		t.Fatalf("batches %v", b)
	}
	if r.Resets() != 1 || inner.resets != 1 {
		t.Fatalf("resets: recorder %d, inner %d", r.Resets(), inner.resets)
	}
}

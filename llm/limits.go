package llm

import (
	"context"
	"slices"
	"sync"
	"time"
)

// AIMD tuning: a storm is stormCount 429s within stormWindow; each storm
// halves the limit, and a run of successes as long as the limit raises it by one.
const (
	stormCount  = 3
	stormWindow = 5 * time.Second
)

// adaptiveLimiter is a semaphore whose size adapts to the server's 429s
// (additive increase, multiplicative decrease) between 1 and max.
type adaptiveLimiter struct {
	mu        sync.Mutex
	limit     int
	max       int
	inflight  int
	successes int
	recent    []time.Time
	waiters   []chan struct{}
	now       func() time.Time
}

func newAdaptiveLimiter(max int, now func() time.Time) *adaptiveLimiter {
	return &adaptiveLimiter{limit: max, max: max, now: now}
}

func (a *adaptiveLimiter) acquire(ctx context.Context) error {
	a.mu.Lock()
	if a.inflight < a.limit && len(a.waiters) == 0 {
		a.inflight++
		a.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	a.waiters = append(a.waiters, ch)
	a.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		a.mu.Lock()
		defer a.mu.Unlock()
		select {
		case <-ch: // granted while we were giving up: hand the slot on
			a.inflight--
			a.wake()
		default:
			if i := slices.Index(a.waiters, ch); i >= 0 {
				a.waiters = slices.Delete(a.waiters, i, i+1)
			}
		}
		return ctx.Err()
	}
}

func (a *adaptiveLimiter) release() {
	a.mu.Lock()
	a.inflight--
	a.wake()
	a.mu.Unlock()
}

// wake grants free slots to waiters in arrival order; a.mu is held.
func (a *adaptiveLimiter) wake() {
	for a.inflight < a.limit && len(a.waiters) > 0 {
		ch := a.waiters[0]
		a.waiters = a.waiters[1:]
		a.inflight++
		close(ch)
	}
}

// observe feeds one HTTP status into the AIMD controller.
func (a *adaptiveLimiter) observe(status int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case status == 429:
		now := a.now()
		a.successes = 0
		a.recent = append(a.recent, now)
		cut := 0
		for cut < len(a.recent) && now.Sub(a.recent[cut]) > stormWindow {
			cut++
		}
		a.recent = a.recent[cut:]
		if len(a.recent) >= stormCount {
			a.limit = max(1, a.limit/2)
			a.recent = a.recent[:0]
		}
	case status < 300:
		a.successes++
		if a.successes >= a.limit && a.limit < a.max {
			a.limit++
			a.successes = 0
			a.wake()
		}
	}
}

// Limit is the current concurrency limit.
func (a *adaptiveLimiter) Limit() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.limit
}

// tokenBucket allows perMinute units a minute with bursts up to perMinute.
// A nil bucket allows everything.
type tokenBucket struct {
	mu       sync.Mutex
	capacity float64
	tokens   float64
	perSec   float64
	last     time.Time
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
}

func newTokenBucket(perMinute int, now func() time.Time, sleep func(context.Context, time.Duration) error) *tokenBucket {
	if perMinute <= 0 {
		return nil
	}
	c := float64(perMinute)
	return &tokenBucket{capacity: c, tokens: c, perSec: c / 60, last: now(), now: now, sleep: sleep}
}

// take waits until n units are available and spends them. Asking for more
// than the capacity waits for a full bucket, so one huge prompt still runs.
func (b *tokenBucket) take(ctx context.Context, n float64) error {
	if b == nil {
		return nil
	}
	n = min(n, b.capacity)
	for {
		b.mu.Lock()
		now := b.now()
		b.tokens = min(b.capacity, b.tokens+now.Sub(b.last).Seconds()*b.perSec)
		b.last = now
		if b.tokens >= n {
			b.tokens -= n
			b.mu.Unlock()
			return nil
		}
		wait := time.Duration((n - b.tokens) / b.perSec * float64(time.Second))
		b.mu.Unlock()
		if err := b.sleep(ctx, max(wait, time.Millisecond)); err != nil {
			return err
		}
	}
}

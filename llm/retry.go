package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/recloop/recloop/internal/rng"
)

// HTTPDoer sends one HTTP request; *http.Client is one.
type HTTPDoer interface {
	Do(req *http.Request) (*http.Response, error)
}

// Backoff bounds for retries without Retry-After.
const (
	retryBaseDelay = 500 * time.Millisecond
	retryMaxDelay  = 30 * time.Second
	// retryAfterCap stops a hostile or confused server from parking us for hours.
	retryAfterCap = 5 * time.Minute
)

// retryDoer retries 408, 429 and 5xx with exponential backoff and full jitter,
// honouring Retry-After. go-openai discards response headers on errors, so
// retrying must happen here, below it.
type retryDoer struct {
	next        HTTPDoer
	maxAttempts int
	sleep       func(context.Context, time.Duration) error
	now         func() time.Time
	// onStatus sees every response status, for adaptive concurrency.
	onStatus func(status int)

	mu     sync.Mutex
	jitter *rand.Rand
}

func newRetryDoer(next HTTPDoer, maxAttempts int, sleep func(context.Context, time.Duration) error, now func() time.Time, onStatus func(int)) *retryDoer {
	return &retryDoer{
		next: next, maxAttempts: maxAttempts, sleep: sleep, now: now, onStatus: onStatus,
		// Jitter only spreads retries in time; it never reaches results.
		jitter: rng.New(rng.StringKey("llm/retry-jitter")),
	}
}

// callStats travels in the request context so the transport can count the
// retries of the call that owns it.
type callStats struct {
	retries atomic.Int64
}

type callStatsKey struct{}

func withCallStats(ctx context.Context, s *callStats) context.Context {
	return context.WithValue(ctx, callStatsKey{}, s)
}

func (d *retryDoer) Do(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("llm: reading request body: %w", err)
		}
	}
	ctx := req.Context()
	stats, _ := ctx.Value(callStatsKey{}).(*callStats)
	for attempt := 1; ; attempt++ {
		r := req.Clone(ctx)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		resp, err := d.next.Do(r)
		if err != nil {
			// A reset or a timeout is as transient as a 503; failing to
			// connect at all (DNS, refused, TLS) is not, and is not retried.
			if ctx.Err() != nil || attempt >= d.maxAttempts || unreachable(err) {
				return nil, err
			}
		} else {
			if d.onStatus != nil {
				d.onStatus(resp.StatusCode)
			}
			if !retryable(resp) || attempt >= d.maxAttempts {
				return resp, nil
			}
		}
		wait := d.backoff(attempt)
		if resp != nil {
			if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), d.now()); ok {
				wait = ra
			}
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
		}
		if stats != nil {
			stats.retries.Add(1)
		}
		if err := d.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// retryable reads (and restores) the body of a 429 to tell a rate limit,
// worth waiting for, from an exhausted quota, which waiting will not fix.
func retryable(resp *http.Response) bool {
	switch code := resp.StatusCode; {
	case code == http.StatusRequestTimeout, code >= 500:
		return true
	case code == http.StatusTooManyRequests:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return !isQuotaBody(body)
	}
	return false
}

func isQuotaBody(body []byte) bool {
	var e struct {
		Error struct {
			Code any    `json:"code"`
			Type string `json:"type"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return false
	}
	return e.Error.Code == "insufficient_quota" || e.Error.Type == "insufficient_quota"
}

// backoff is full jitter: uniform in [0, min(cap, base·2^(attempt-1))).
func (d *retryDoer) backoff(attempt int) time.Duration {
	ceiling := retryMaxDelay
	if attempt < 32 {
		ceiling = min(retryMaxDelay, retryBaseDelay<<(attempt-1))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return time.Duration(d.jitter.Int64N(int64(ceiling)))
}

// parseRetryAfter reads delta-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		switch {
		case !(secs >= 0): // negative or NaN
			return 0, false
		case secs >= retryAfterCap.Seconds():
			return retryAfterCap, true
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), retryAfterCap), true
	}
	return 0, false
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

package llm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/recloop/recloop/llm/llmtest"
)

// closedPortURL is an http URL where nothing listens.
func closedPortURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/v1"
}

func TestUnreachableIsNotRetried(t *testing.T) {
	url := closedPortURL(t)
	f := newFixture(t, func(c *Config) { c.BaseURL = url })
	_, err := f.stack.Complete(context.Background(), ask("hello"))
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), url) {
		t.Fatalf("err = %v, want ErrUnreachable naming %s", err, url)
	}
	if n := len(f.sleeps.waits()); n != 0 {
		t.Errorf("%d retries of a refused connection", n)
	}
	if u := f.stack.Usage().Total; u.Retries != 0 || u.Errors != 1 {
		t.Errorf("usage %+v", u)
	}
}

func TestNotFoundIsNotRetried(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.Handle(script(llmtest.Error(http.StatusNotFound, "model_not_found", "The model does not exist")))
	_, err := f.stack.Complete(context.Background(), ask("hello"))
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), f.srv.URL()) || !strings.Contains(err.Error(), "gpt-4o-mini") {
		t.Fatalf("err = %v", err)
	}
	if f.srv.Count() != 1 {
		t.Errorf("%d requests for one 404", f.srv.Count())
	}
}

func TestCircuitBreakerOpensAfterConsecutiveFailures(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxAttempts = 1; c.MaxConsecutiveFailures = 3; c.Cache.Mode = CacheOff })
	var fail atomic.Bool
	fail.Store(true)
	f.srv.Handle(func(llmtest.ChatRequest) llmtest.Reply {
		if fail.Load() {
			return llmtest.Error(http.StatusInternalServerError, "server_error", "boom")
		}
		return llmtest.Reply{Content: "ok"}
	})
	ctx := context.Background()
	// Two failures, then a success: the count starts again.
	for i := 0; i < 2; i++ {
		if _, err := f.stack.Complete(ctx, ask("a")); err == nil || errors.Is(err, ErrCircuitOpen) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	fail.Store(false)
	if _, err := f.stack.Complete(ctx, ask("b")); err != nil {
		t.Fatal(err)
	}
	fail.Store(true)
	var err error
	for i := 0; i < 3; i++ {
		_, err = f.stack.Complete(ctx, ask("c"))
	}
	if !errors.Is(err, ErrCircuitOpen) || !strings.Contains(err.Error(), f.srv.URL()) {
		t.Fatalf("third consecutive failure: %v", err)
	}
	sent := f.srv.Count()
	if _, err := f.stack.Complete(ctx, ask("d")); !errors.Is(err, ErrCircuitOpen) || f.srv.Count() != sent {
		t.Errorf("an open breaker let a call through: %v", err)
	}
}

func TestTLSAndDNSFailuresAreUnreachable(t *testing.T) {
	srv := llmtest.New(t)
	untrusted := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(untrusted.Close)
	for name, url := range map[string]string{
		// TLS spoken to a plain HTTP server.
		"tls": strings.Replace(srv.URL(), "http://", "https://", 1),
		// A certificate nobody trusts.
		"x509": untrusted.URL + "/v1",
		// .invalid never resolves (RFC 6761).
		"dns": "http://no-such-host.invalid/v1",
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.BaseURL = url })
			_, err := f.stack.Complete(context.Background(), ask("hello"))
			if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), url) {
				t.Fatalf("err = %v", err)
			}
			if n := len(f.sleeps.waits()); n != 0 {
				t.Errorf("%d retries", n)
			}
		})
	}
}

func TestArmedPreflightStopsEveryCall(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.Handle(script(llmtest.Error(http.StatusUnauthorized, "invalid_api_key", "Incorrect API key "+testKey)))
	f.stack.ArmPreflight()
	for i := 0; i < 3; i++ {
		_, err := f.stack.Complete(context.Background(), ask("hello"))
		if !errors.Is(err, ErrAuth) || !Fatal(err) || !strings.Contains(err.Error(), "preflight") || strings.Contains(err.Error(), testKey) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if f.srv.Count() != 1 || f.srv.Preflights() != 1 {
		t.Errorf("%d requests (%d preflights), want the preflight alone", f.srv.Count(), f.srv.Preflights())
	}
}

func TestPreflightOffAndHealthy(t *testing.T) {
	off := false
	f := newFixture(t, func(c *Config) { c.Preflight = &off })
	f.stack.ArmPreflight()
	if _, err := f.stack.Complete(context.Background(), ask("hello")); err != nil || f.srv.Preflights() != 0 {
		t.Fatalf("preflight: false: err %v, %d preflights", err, f.srv.Preflights())
	}
	g := newFixture(t, nil)
	g.stack.ArmPreflight()
	for i := 0; i < 2; i++ {
		if _, err := g.stack.Complete(context.Background(), ask(fmt.Sprint("hello ", i))); err != nil {
			t.Fatal(err)
		}
	}
	if g.srv.Preflights() != 1 || g.srv.Count() != 3 {
		t.Errorf("%d requests, %d preflights; want one preflight and two calls", g.srv.Count(), g.srv.Preflights())
	}
}

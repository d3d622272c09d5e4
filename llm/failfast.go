package llm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
)

// Errors after which no further call can succeed: the run stops at once
// (scenarios.StopsTheRun) instead of retrying for minutes.
var (
	// ErrUnreachable: no connection could be made (DNS, connection refused,
	// no route, TLS). Never retried.
	ErrUnreachable = errors.New("llm: endpoint unreachable")
	// ErrNotFound: the endpoint answered 404, a wrong base URL or an unknown
	// model. Never retried.
	ErrNotFound = errors.New("llm: endpoint or model not found")
	// ErrCircuitOpen: max_consecutive_failures calls in a row have failed;
	// the stack refuses further calls.
	ErrCircuitOpen = errors.New("llm: too many consecutive failed calls")
)

// unreachable tells an error that means no connection could be made from
// one that a later attempt may not meet (a reset, a timeout mid-answer).
func unreachable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// Given up on, or timed out: not a refusal.
		return false
	}
	var dns *net.DNSError
	var op *net.OpError
	var certErr *tls.CertificateVerificationError
	var recordErr tls.RecordHeaderError
	var alert tls.AlertError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &dns), errors.As(err, &certErr), errors.As(err, &recordErr), errors.As(err, &alert),
		errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid):
		return true
	case errors.As(err, &op):
		return op.Op == "dial"
	}
	// net/http turns a TLS record header error into plain text.
	return strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}

// breaker opens after limit consecutive failed calls and stays open.
type breaker struct {
	limit int

	mu          sync.Mutex
	consecutive int
	open        error
}

// check returns the error that opened the breaker, or nil.
func (b *breaker) check() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.open
}

// record counts one call's outcome and returns the error to hand back:
// err itself, or ErrCircuitOpen once this failure reaches the limit.
// Cancellations and a spent budget are not the endpoint's failures and do
// not count; cache hits and replay misses never reach it.
func (b *breaker) record(ctx context.Context, err error, endpoint string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case err == nil:
		b.consecutive = 0
		return nil
	case b.open != nil:
		return b.open
	case ctx.Err() != nil, errors.Is(err, context.Canceled), errors.Is(err, ErrReplayMiss), errors.Is(err, ErrBudgetExceeded):
		return err
	}
	b.consecutive++
	if b.limit > 0 && b.consecutive >= b.limit {
		b.open = fmt.Errorf("%w: %d calls to %s failed in a row (max_consecutive_failures), the last with: %w",
			ErrCircuitOpen, b.consecutive, endpoint, err)
		return b.open
	}
	return err
}

// Fatal reports errors after which no further call can succeed, so a run
// must stop rather than go on without answers: a spent budget, a replay
// miss, refused credentials or quota, an unreachable endpoint, a 404, an
// open circuit breaker.
func Fatal(err error) bool {
	for _, target := range []error{ErrBudgetExceeded, ErrReplayMiss, ErrAuth, ErrQuota, ErrUnreachable, ErrNotFound, ErrCircuitOpen} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

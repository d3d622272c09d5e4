// Package httprec is the recommender named "http": an external recommender
// service reached over HTTP with recloop's protocol (docs/protocol.md).
// Importing it registers the name.
package httprec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/internal/redact"
	"github.com/recloop/recloop/internal/rng"
	"github.com/recloop/recloop/recommenders"
	"github.com/recloop/recloop/recommenders/protocol"
)

// Name is the registered name of the HTTP adapter.
const Name = "http"

// ErrConfig marks a parameter the adapter cannot work with.
var ErrConfig = errors.New("httprec: invalid configuration")

// Spec describes the adapter's parameters.
var Spec = config.Spec{
	Name: Name,
	Summary: "An external recommender service over HTTP, speaking recloop's protocol (docs/protocol.md): " +
		"`POST /recommend`, `POST /feedback`, `POST /reset`, `GET /health`, and `POST /chat` for a service that declares " +
		"the chat capability (conversational scenarios), JSON bodies. Each world gets a reset " +
		"with its own world id, so one service can host many. Calls are retried on connection errors, timeouts, " +
		"5xx and 429 (honouring Retry-After); answers are validated and every violation is counted by kind.",
	Params: append([]config.Param{
		{Name: "url", Kind: config.String, Default: "",
			Doc: "The service's base URL, for example `http://127.0.0.1:8000`; the endpoints are paths below it. Required."},
		{Name: "timeout", Kind: config.Duration, Default: 2 * time.Second, Min: config.AtLeast(0.001),
			Doc: "Limit of one attempt at a recommend or chat call or health check (the variant's `timeout` still bounds the whole call, retries included)."},
		{Name: "retries", Kind: config.Int, Default: 2, Min: config.AtLeast(0.0), Max: config.AtMost(10.0),
			Doc: "Further attempts after a connection error, a timeout, a 5xx or a 429."},
		{Name: "backoff", Kind: config.Duration, Default: 100 * time.Millisecond,
			Doc: "Wait before the first retry; it doubles with each further one."},
		{Name: "max_backoff", Kind: config.Duration, Default: 2 * time.Second,
			Doc: "Longest wait between attempts, Retry-After included."},
		{Name: "jitter", Kind: config.Bool, Default: true,
			Doc: "Spread each wait over [½, 1] of itself, drawn from the variant's seed and the request id (never from the clock)."},
		{Name: "max_concurrency", Kind: config.Int, Default: 16, Min: config.AtLeast(1.0), Max: config.AtMost(1024.0),
			Doc: "Most requests in flight at once; also the number of kept-alive connections."},
		{Name: "max_response_bytes", Kind: config.Int, Default: 1 << 20, Min: config.AtLeast(64.0),
			Doc: "Largest answer accepted; a longer one counts as `oversized` and fails the call."},
		{Name: "headers", Kind: config.String, Default: "",
			Doc: "Extra request headers, `Name: value` pairs separated by `;`. `${VAR}` in a value is read from the environment " +
				"when the recommender is built, for example `Authorization: Bearer ${RECLOOP_TOKEN}`. Values are never logged or written out."},
	}, protocol.CommonParams...),
}

func init() {
	recommenders.Register(Spec, New)
}

// New builds the adapter for one world: it checks the service's health
// and protocol version and sends the world's reset.
func New(ctx context.Context, env recommenders.Env, p config.Params) (recommenders.Recommender, error) {
	return protocol.Open(ctx, env, p, func(ctx context.Context) (protocol.Transport, error) {
		t, err := newTransport(env, p)
		if err != nil {
			return nil, err
		}
		if err := t.health(ctx); err != nil {
			return nil, errors.Join(err, t.Close())
		}
		return t, nil
	})
}

type transport struct {
	client      *http.Client
	base        string
	header      http.Header
	redact      *redact.Redactor
	timeout     time.Duration
	sendTimeout time.Duration
	retries     int
	backoff     time.Duration
	maxBackoff  time.Duration
	jitter      bool
	seed        uint64
	maxBytes    int64
	slots       chan struct{}
	closeIdlers func()
	// chat is set when the health answer declares the chat capability.
	chat bool
}

func newTransport(env recommenders.Env, p config.Params) (*transport, error) {
	r := p.Reader(Name)
	raw := strings.TrimRight(r.String("url"), "/")
	headers, n := r.String("headers"), r.Int("max_concurrency")
	t := &transport{
		base: raw, timeout: r.Duration("timeout"), sendTimeout: r.Duration("feedback_timeout"),
		retries: r.Int("retries"), backoff: r.Duration("backoff"), maxBackoff: r.Duration("max_backoff"),
		jitter: r.Bool("jitter"), seed: env.Seed, maxBytes: int64(r.Int("max_response_bytes")),
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	u, err := url.Parse(raw)
	if raw == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: url must be an http:// or https:// URL, got %q", ErrConfig, raw)
	}
	if t.header, err = ParseHeaders(headers, os.LookupEnv); err != nil {
		return nil, err
	}
	t.redact = headerSecrets(headers, os.LookupEnv, t.header)
	ht := http.DefaultTransport.(*http.Transport).Clone()
	ht.MaxIdleConns, ht.MaxIdleConnsPerHost = n, n
	t.client, t.slots, t.closeIdlers = &http.Client{Transport: ht}, make(chan struct{}, n), ht.CloseIdleConnections
	return t, nil
}

// ParseHeaders reads `Name: value; Name: value`, expanding ${VAR} in the
// values with lookup. An unset variable is an error that names it; no error
// ever holds a value.
func ParseHeaders(spec string, lookup func(string) (string, bool)) (http.Header, error) {
	h := http.Header{}
	for part := range strings.SplitSeq(spec, ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		name, value, ok := strings.Cut(part, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t${}") {
			return nil, fmt.Errorf("%w: headers: want `Name: value` pairs separated by `;`, got a pair without a valid name", ErrConfig)
		}
		var missing string
		expanded := os.Expand(strings.TrimSpace(value), func(v string) string {
			s, ok := lookup(v)
			if !ok && missing == "" {
				missing = v
			}
			return s
		})
		if missing != "" {
			return nil, fmt.Errorf("%w: headers: environment variable %s (for header %s) is not set", ErrConfig, missing, name)
		}
		h.Add(name, expanded)
	}
	return h, nil
}

// headerSecrets redacts the header values and the environment variables
// they read, so that a service echoing a token never puts it in an error,
// a slate or a run file.
func headerSecrets(spec string, lookup func(string) (string, bool), h http.Header) *redact.Redactor {
	var values []string
	os.Expand(spec, func(v string) string {
		if s, ok := lookup(v); ok {
			values = append(values, s)
		}
		return ""
	})
	for _, vs := range h {
		values = append(values, vs...)
	}
	return redact.New(values...)
}

func (t *transport) Recommend(ctx context.Context, req *protocol.RecommendRequest) (*protocol.RecommendResponse, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	data, err := t.do(ctx, http.MethodPost, "/recommend", req.ID, body, t.timeout)
	if err != nil {
		return nil, err
	}
	resp, err := protocol.DecodeSlate(data)
	if err != nil {
		return nil, err
	}
	if resp.ID != "" && resp.ID != req.ID {
		return nil, fmt.Errorf("%w: answer to request %q carries id %q", protocol.ErrMalformed, req.ID, resp.ID)
	}
	return resp, nil
}

func (t *transport) Send(ctx context.Context, id string, msg any) error {
	body, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	path := "/feedback"
	if _, ok := msg.(*protocol.Reset); ok {
		path = "/reset"
	}
	_, err = t.do(ctx, http.MethodPost, path, id, body, t.sendTimeout)
	return err
}

func (t *transport) health(ctx context.Context) error {
	data, err := t.do(ctx, http.MethodGet, "/health", "health", nil, t.timeout)
	if err != nil {
		return fmt.Errorf("httprec: health check of %s: %w", t.base, err)
	}
	var h protocol.HealthResponse
	if err := json.Unmarshal(data, &h); err != nil {
		return fmt.Errorf("httprec: health check of %s: %w: %w", t.base, protocol.ErrMalformed, err)
	}
	if h.Protocol != protocol.Version {
		return fmt.Errorf("httprec: %s speaks protocol version %d, recloop speaks %d: %w", t.base, h.Protocol, protocol.Version, protocol.ErrVersion)
	}
	if h.Status != "ok" {
		return fmt.Errorf("httprec: %s reports status %q", t.base, h.Status)
	}
	t.chat = protocol.Converses(h.Capabilities)
	return nil
}

func (t *transport) Converses() bool { return t.chat }

// Chat posts one turn of a conversation to /chat.
func (t *transport) Chat(ctx context.Context, req *protocol.ChatRequest) (*protocol.ChatReply, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	data, err := t.do(ctx, http.MethodPost, "/chat", req.ID, body, t.timeout)
	if err != nil {
		return nil, err
	}
	return protocol.DecodeReply(data)
}

func (t *transport) Close() error {
	t.closeIdlers()
	return nil
}

// statusError is a non-2xx answer.
type statusError struct {
	code       int
	retryAfter time.Duration
	snippet    string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%v %d: %s", protocol.ErrStatus, e.code, e.snippet)
}

func (e *statusError) Unwrap() error { return protocol.ErrStatus }

func (e *statusError) retryable() bool {
	return e.code >= 500 || e.code == http.StatusTooManyRequests
}

// do makes the call, retrying what a later attempt may fix.
func (t *transport) do(ctx context.Context, method, path, id string, body []byte, timeout time.Duration) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		data, err := t.attempt(ctx, method, path, body, timeout)
		if err == nil {
			return data, nil
		}
		var status *statusError
		isStatus := errors.As(err, &status)
		retryable := (isStatus && status.retryable()) ||
			(!isStatus && !errors.Is(err, protocol.ErrOversized) && !errors.Is(err, protocol.ErrMalformed))
		if !retryable || attempt >= t.retries || ctx.Err() != nil {
			return nil, t.redact.Error(err)
		}
		var retryAfter time.Duration
		if isStatus {
			retryAfter = status.retryAfter
		}
		if err := protocol.Sleep(ctx, t.wait(id, attempt, retryAfter)); err != nil {
			return nil, t.redact.Error(err)
		}
	}
}

// wait is the pause before retry attempt+1: Retry-After when the server
// gave one, else backoff·2^attempt with the seeded jitter; never more than
// max_backoff.
func (t *transport) wait(id string, attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, t.maxBackoff)
	}
	d := min(t.backoff<<min(attempt, 30), t.maxBackoff)
	if t.jitter {
		u := rng.Uniform(rng.Key(t.seed, rng.PurposeJitter, rng.StringKey(id), uint64(attempt)))
		d = d/2 + time.Duration(float64(d/2)*u)
	}
	return d
}

func (t *transport) attempt(ctx context.Context, method, path string, body []byte, timeout time.Duration) ([]byte, error) {
	select {
	case t.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-t.slots }()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.base+path, rd)
	if err != nil {
		return nil, err
	}
	for name, values := range t.header {
		req.Header[name] = values
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("httprec: %s %s: %w", method, path, stripURL(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, t.maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("httprec: %s %s: reading the answer: %w", method, path, err)
	}
	if int64(len(data)) > t.maxBytes {
		return nil, fmt.Errorf("httprec: %s %s: %w (%d bytes)", method, path, protocol.ErrOversized, t.maxBytes)
	}
	// Reading to the end lets the connection be reused.
	_, _ = io.Copy(io.Discard, resp.Body)
	// What the service says never carries the secrets it was sent.
	data = t.redact.Bytes(data)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("httprec: %s %s: %w", method, path, &statusError{code: resp.StatusCode,
			retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now), snippet: protocol.Clip(data)})
	}
	return data, nil
}

// stripURL keeps the cause of a client error and drops the URL, which the
// caller already names.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// parseRetryAfter reads delay-seconds or an HTTP date; 0 when absent or
// unreadable.
func parseRetryAfter(v string, now func() time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(0, at.Sub(now()))
	}
	return 0
}

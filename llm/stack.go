package llm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/recloop/recloop/llm/cache"
)

// greedyTemperature stands in for 0: go-openai omits a zero temperature,
// which would leave the provider's default (usually 1) in force.
const greedyTemperature = 1e-6

// Option adjusts a Stack, mostly for tests.
type Option func(*options)

type options struct {
	sleep  func(context.Context, time.Duration) error
	now    func() time.Time
	logger *slog.Logger
}

// WithSleep replaces the wait used for retries and rate limits.
func WithSleep(sleep func(context.Context, time.Duration) error) Option {
	return func(o *options) { o.sleep = sleep }
}

// WithClock replaces the clock used for Retry-After dates, 429 storms and
// rate limits.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithLogger sets where warnings go, the cache's included (by default
// nowhere).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// Structured-output strategies, from strictest to most forgiving.
const (
	formatJSONSchema int32 = iota
	formatJSONObject
	formatPrompted
)

var formatNames = [...]string{"json_schema", "json_object", "prompted JSON"}

// Stack is the Client recloop uses: go-openai transport with retries,
// structured output with fallbacks and one repair, a response cache,
// adaptive concurrency, rate limits, usage accounting and a budget.
type Stack struct {
	cfg     Config
	apiKey  string
	client  *openai.Client
	cache   *cache.Cache
	limiter *adaptiveLimiter
	rpm     *tokenBucket
	tpm     *tokenBucket
	format  atomic.Int32
	// legacyTokens is set once the server has refused max_completion_tokens:
	// the cap then goes as max_tokens, which servers that predate the new
	// name understand.
	legacyTokens atomic.Bool
	schemas      schemaCache
	log          *slog.Logger

	breaker breaker
	gate    preflightGate

	mu     sync.Mutex
	totals Totals
	warned sync.Map
}

var _ Client = (*Stack)(nil)

// Totals is the usage of a run: overall, by role and by subject.
type Totals struct {
	Total     Usage            `json:"total"`
	ByRole    map[Role]Usage   `json:"by_role"`
	BySubject map[string]Usage `json:"by_subject"`
}

// New builds the client stack for cfg. The API key is read from the
// environment variable cfg.APIKeyEnv names, and only from there.
func New(cfg Config, opts ...Option) (*Stack, error) {
	cfg = cfg.Resolve(os.Getenv)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	o := options{sleep: sleepCtx, now: time.Now, logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	timeout, err := cfg.TimeoutDuration()
	if err != nil {
		return nil, &FieldError{Field: "timeout", Msg: err.Error()}
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// The default keeps 2 idle connections per host: with more calls in
	// flight every answer would cost a new connection.
	transport.MaxIdleConnsPerHost = cfg.MaxConcurrency
	client := &http.Client{Timeout: timeout, Transport: transport}
	c, err := cache.Open(cfg.Cache.Dir, cache.Mode(cfg.Cache.Mode), cache.WithLogger(o.logger))
	if err != nil {
		return nil, fmt.Errorf("llm: %w", err)
	}
	s := &Stack{
		cfg:     cfg,
		apiKey:  os.Getenv(cfg.APIKeyEnv),
		cache:   c,
		limiter: newAdaptiveLimiter(cfg.MaxConcurrency, o.now),
		rpm:     newTokenBucket(cfg.RequestsPerMinute, o.now, o.sleep),
		tpm:     newTokenBucket(cfg.TokensPerMinute, o.now, o.sleep),
		log:     o.logger,
		breaker: breaker{limit: cfg.MaxConsecutiveFailures},
		totals:  Totals{ByRole: map[Role]Usage{}, BySubject: map[string]Usage{}},
	}
	if s.apiKey == "" && cfg.Cache.Mode != CacheReplay {
		s.log.Warn("llm: no API key in the environment; fine for local servers", "env", cfg.APIKeyEnv)
	}
	oc := s.clientConfig(&headerDoer{next: client, project: cfg.ProjectID})
	oc.HTTPClient = newRetryDoer(oc.HTTPClient, cfg.MaxAttempts, o.sleep, o.now, s.limiter.observe)
	s.client = openai.NewClientWithConfig(oc)
	return s, nil
}

// clientConfig is go-openai's configuration for s.cfg, sending through doer.
func (s *Stack) clientConfig(doer HTTPDoer) openai.ClientConfig {
	base := strings.TrimRight(s.cfg.BaseURL, "/")
	var oc openai.ClientConfig
	if s.cfg.Provider == ProviderAzure {
		oc = openai.DefaultAzureConfig(s.apiKey, base)
		if s.cfg.APIVersion != "" {
			oc.APIVersion = s.cfg.APIVersion
		}
		if d := s.cfg.Deployment; d != "" {
			oc.AzureModelMapperFunc = func(string) string { return d }
		}
	} else {
		oc = openai.DefaultConfig(s.apiKey)
		oc.BaseURL = base
		oc.OrgID = s.cfg.OrgID
	}
	oc.HTTPClient = doer
	return oc
}

// headerDoer adds the headers go-openai does not know.
type headerDoer struct {
	next    HTTPDoer
	project string
}

func (d *headerDoer) Do(req *http.Request) (*http.Response, error) {
	if d.project != "" {
		req.Header.Set("OpenAI-Project", d.project)
	}
	return d.next.Do(req)
}

// Config is the effective configuration (defaults filled in).
func (s *Stack) Config() Config { return s.cfg }

// CacheStats reports what the response cache did.
func (s *Stack) CacheStats() cache.Stats { return s.cache.Stats() }

// Usage is a snapshot of the usage so far.
func (s *Stack) Usage() Totals {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Totals{Total: s.totals.Total, ByRole: maps.Clone(s.totals.ByRole), BySubject: maps.Clone(s.totals.BySubject)}
}

func (s *Stack) record(req Request, u Usage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.totals.Total.Add(u)
	r := s.totals.ByRole[req.Role]
	r.Add(u)
	s.totals.ByRole[req.Role] = r
	sub := s.totals.BySubject[req.Subject]
	sub.Add(u)
	s.totals.BySubject[req.Subject] = sub
}

func (s *Stack) spent() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.totals.Total.CostUSD
}

// callParams are the request fields that come from config and request, and
// that shape the answer: they all go into the cache key.
type callParams struct {
	Model       string    `json:"model"`
	Messages    []Message `json:"messages"`
	Schema      *Schema   `json:"schema"`
	Temperature *float64  `json:"temperature"`
	Seed        *int      `json:"seed"`
	Replicate   int       `json:"replicate"`
	Role        Role      `json:"role"`
	MaxTokens   int       `json:"max_tokens"`
}

func (s *Stack) params(req Request) callParams {
	p := callParams{
		Model: s.cfg.Model, Messages: req.Messages, Temperature: s.cfg.Temperature,
		Replicate: req.Replicate, Role: req.Role, MaxTokens: s.cfg.MaxTokens,
	}
	if req.MaxTokens > 0 {
		p.MaxTokens = req.MaxTokens
	}
	if req.Model != "" {
		p.Model = req.Model
	}
	if s.cfg.Seed != nil {
		seed := *s.cfg.Seed + req.Replicate
		p.Seed = &seed
	}
	if req.Schema != nil {
		schema := Schema{Name: req.Schema.Name, JSON: req.Schema.JSON}
		var buf bytes.Buffer
		if json.Compact(&buf, req.Schema.JSON) == nil {
			schema.JSON = buf.Bytes()
		}
		p.Schema = &schema
	}
	return p
}

// key is the hex SHA-256 of the canonical JSON of the parameters. Struct
// fields marshal in declaration order, so the encoding is canonical.
func (p callParams) key() (string, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("llm: cache key: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// storedAnswer is what the cache keeps for one call.
type storedAnswer struct {
	Content string `json:"content"`
	Model   string `json:"model"`
	Usage   Usage  `json:"usage"`
}

// Complete answers req from the cache or the endpoint.
func (s *Stack) Complete(ctx context.Context, req Request) (Response, error) {
	resp, err := s.complete(ctx, req)
	tally := Usage{Calls: 1}
	if resp.Cached {
		tally.CacheHits = 1
	}
	if err != nil {
		tally.Errors = 1
	}
	s.record(req, tally)
	resp.Usage.Calls, resp.Usage.CacheHits = 1, tally.CacheHits
	return resp, s.redact(err)
}

func (s *Stack) complete(ctx context.Context, req Request) (Response, error) {
	if len(req.Messages) == 0 {
		return Response{}, errors.New("llm: request has no messages")
	}
	p := s.params(req)
	key, err := p.key()
	if err != nil {
		return Response{}, err
	}
	describe := fmt.Sprintf("%s call about %q (replicate %d, model %s, %d messages)",
		req.Role, req.Subject, req.Replicate, p.Model, len(req.Messages))
	var fresh atomic.Pointer[Response]
	value, hit, err := s.cache.Do(ctx, key, describe, func(ctx context.Context) ([]byte, error) {
		r, err := s.fetch(ctx, req, p)
		// Paid tokens count even when the answer is unusable.
		s.record(req, r.Usage)
		if err != nil {
			return nil, err
		}
		r.Content = s.redactText(r.Content)
		fresh.Store(&r)
		return json.Marshal(storedAnswer{Content: r.Content, Model: r.Model, Usage: r.Usage})
	})
	if err != nil {
		if errors.Is(err, cache.ErrMiss) {
			return Response{}, fmt.Errorf("%w: %s: %w", ErrReplayMiss, describe, err)
		}
		return Response{}, err
	}
	if r := fresh.Load(); r != nil && !hit {
		return *r, nil
	}
	// A disk hit, or another caller's identical call answered this one.
	var a storedAnswer
	if err := json.Unmarshal(value, &a); err != nil {
		return Response{}, fmt.Errorf("llm: cached answer for %s: %w", describe, err)
	}
	return Response{Content: s.redactText(a.Content), Model: a.Model, Cached: true}, nil
}

// fetch makes the network calls for one request, within the budget, the
// concurrency limit and the rate limits.
func (s *Stack) fetch(ctx context.Context, req Request, p callParams) (Response, error) {
	if err := s.checkBudget(); err != nil {
		return Response{}, err
	}
	if err := s.limiter.acquire(ctx); err != nil {
		return Response{}, err
	}
	defer s.limiter.release()
	// Checked and recorded while holding a concurrency slot, so no more
	// than max_concurrency calls are in flight when the breaker opens.
	if err := s.breaker.check(); err != nil {
		return Response{}, err
	}
	resp, err := s.fetchNow(ctx, req, p)
	return resp, s.breaker.record(ctx, err, s.cfg.BaseURL)
}

// fetchNow makes the network calls within the rate limits.
func (s *Stack) fetchNow(ctx context.Context, req Request, p callParams) (Response, error) {
	if err := s.rpm.take(ctx, 1); err != nil {
		return Response{}, err
	}
	est := s.Estimate(req)
	if err := s.tpm.take(ctx, float64(est.PromptTokens+est.CompletionTokens)); err != nil {
		return Response{}, err
	}
	// The budget may have run out while this call queued.
	if err := s.checkBudget(); err != nil {
		return Response{}, err
	}
	if err := s.beforeFirstCall(ctx); err != nil {
		return Response{}, err
	}
	stats := &callStats{}
	ctx = withCallStats(ctx, stats)
	var resp Response
	var err error
	if p.Schema == nil {
		resp, err = s.chat(ctx, p, p.Messages, nil)
	} else {
		resp, err = s.structured(ctx, p)
	}
	resp.Usage.Retries = int(stats.retries.Load())
	return resp, err
}

func (s *Stack) checkBudget() error {
	if s.cfg.BudgetUSD <= 0 {
		return nil
	}
	if spent := s.spent(); spent >= s.cfg.BudgetUSD {
		return fmt.Errorf("%w: spent $%.4f of $%.4f", ErrBudgetExceeded, spent, s.cfg.BudgetUSD)
	}
	return nil
}

// structured asks for JSON matching p.Schema, falling back from strict
// json_schema to json_object to a prompted schema as the server rejects
// each, and repairs one invalid answer.
func (s *Stack) structured(ctx context.Context, p callParams) (Response, error) {
	var total Usage
	var msgs []Message
	var resp Response
	for {
		mode := s.format.Load()
		msgs = schemaMessages(mode, p.Messages, p.Schema)
		var err error
		resp, err = s.chat(ctx, p, msgs, responseFormat(mode, p.Schema))
		total.Add(resp.Usage)
		if err != nil && mode < formatPrompted && rejectsFormat(err) {
			if s.format.CompareAndSwap(mode, mode+1) {
				s.log.Warn("llm: endpoint rejects structured output; falling back",
					"from", formatNames[mode], "to", formatNames[mode+1], "err", s.redact(err))
			}
			continue
		}
		if err != nil {
			return Response{Usage: total}, err
		}
		break
	}
	content := extractJSON(resp.Content)
	verr := s.schemas.validate(p.Schema, []byte(content))
	if verr == nil {
		resp.Content, resp.Usage = content, total
		return resp, nil
	}
	repair := append(msgs[:len(msgs):len(msgs)],
		Message{Role: "assistant", Content: resp.Content},
		Message{Role: "user", Content: "That answer is invalid: " + verr.Error() +
			". Reply again with only the corrected JSON document, matching the schema exactly."})
	resp, err := s.chat(ctx, p, repair, responseFormat(s.format.Load(), p.Schema))
	total.Add(resp.Usage)
	if err != nil {
		return Response{Usage: total}, err
	}
	content = extractJSON(resp.Content)
	if err := s.schemas.validate(p.Schema, []byte(content)); err != nil {
		return Response{Usage: total}, fmt.Errorf("%w after one repair: %w", ErrMalformed, err)
	}
	resp.Content, resp.Usage = content, total
	return resp, nil
}

func schemaMessages(mode int32, msgs []Message, schema *Schema) []Message {
	if mode == formatJSONSchema {
		return msgs
	}
	instruction := "Answer with only a JSON document (no prose, no code fences) that matches this JSON Schema:\n" + string(schema.JSON)
	out := make([]Message, 0, len(msgs)+1)
	if len(msgs) > 0 && msgs[0].Role == "system" {
		out = append(out, Message{Role: "system", Content: msgs[0].Content + "\n\n" + instruction})
		return append(out, msgs[1:]...)
	}
	out = append(out, Message{Role: "system", Content: instruction})
	return append(out, msgs...)
}

func responseFormat(mode int32, schema *Schema) *openai.ChatCompletionResponseFormat {
	switch mode {
	case formatJSONSchema:
		return &openai.ChatCompletionResponseFormat{
			Type: openai.ChatCompletionResponseFormatTypeJSONSchema,
			JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{
				Name: schema.Name, Schema: schema.JSON, Strict: true,
			},
		}
	case formatJSONObject:
		return &openai.ChatCompletionResponseFormat{Type: openai.ChatCompletionResponseFormatTypeJSONObject}
	}
	return nil
}

// chat makes one chat completion.
func (s *Stack) chat(ctx context.Context, p callParams, msgs []Message, format *openai.ChatCompletionResponseFormat) (Response, error) {
	return s.chatWith(ctx, s.client, p, msgs, format)
}

// chatWith makes one chat completion through client.
func (s *Stack) chatWith(ctx context.Context, client *openai.Client, p callParams, msgs []Message, format *openai.ChatCompletionResponseFormat) (Response, error) {
	creq := openai.ChatCompletionRequest{
		Model:               p.Model,
		Messages:            make([]openai.ChatCompletionMessage, len(msgs)),
		MaxCompletionTokens: p.MaxTokens,
		Seed:                p.Seed,
		ResponseFormat:      format,
	}
	for i, m := range msgs {
		creq.Messages[i] = openai.ChatCompletionMessage{Role: m.Role, Content: m.Content}
	}
	if t := p.Temperature; t != nil {
		creq.Temperature = float32(max(*t, greedyTemperature))
	}
	reasoning := isReasoningModel(p.Model)
	if reasoning {
		// These models refuse any temperature but their own; go-openai
		// rejects such requests before sending them.
		creq.Temperature = 0
	}
	if !reasoning && s.legacyTokens.Load() {
		//lint:ignore SA1019 deprecated by OpenAI, but the only name servers that refuse max_completion_tokens know
		creq.MaxCompletionTokens, creq.MaxTokens = 0, p.MaxTokens
	}
	out, err := client.CreateChatCompletion(ctx, creq)
	if err != nil && creq.MaxCompletionTokens > 0 && !reasoning && refusesMaxCompletionTokens(err) {
		if s.legacyTokens.CompareAndSwap(false, true) {
			s.log.Warn("llm: endpoint refuses max_completion_tokens; sending max_tokens instead", "err", s.redact(err))
		}
		return s.chatWith(ctx, client, p, msgs, format)
	}
	if err != nil {
		return Response{}, s.classify(err, p.Model)
	}
	model := out.Model
	if model == "" {
		model = p.Model
	}
	u := Usage{PromptTokens: out.Usage.PromptTokens, CompletionTokens: out.Usage.CompletionTokens}
	u.CostUSD = s.cost(p.Model, model, u.PromptTokens, u.CompletionTokens)
	if len(out.Choices) == 0 {
		return Response{Model: model, Usage: u}, fmt.Errorf("%w: the answer has no choices", ErrMalformed)
	}
	return Response{Content: out.Choices[0].Message.Content, Model: model, Usage: u}, nil
}

func isReasoningModel(model string) bool {
	for _, prefix := range []string{"o1", "o3", "o4", "gpt-5", "gpt-6"} {
		if strings.HasPrefix(model, prefix) {
			return true
		}
	}
	return false
}

func (s *Stack) cost(configured, answered string, prompt, completion int) float64 {
	p, ok := s.cfg.price(configured)
	if !ok {
		p, ok = s.cfg.price(answered)
	}
	if !ok {
		if _, seen := s.warned.LoadOrStore(configured, true); !seen {
			s.log.Warn("llm: no price for model; its cost counts as 0 (set prices in the provider config)", "model", configured)
		}
		return 0
	}
	return p.Cost(prompt, completion)
}

// Estimate is what req would cost without the cache, for --dry-run:
// prompt tokens ≈ characters/4, completion tokens = max_tokens or 256.
func (s *Stack) Estimate(req Request) Usage {
	chars := 0
	for _, m := range req.Messages {
		chars += len(m.Content)
	}
	prompt := ceilDiv(chars, 4)
	if req.Schema != nil {
		prompt += ceilDiv(len(req.Schema.JSON), 4)
	}
	completion := DefaultCompletionTokens
	if req.MaxTokens > 0 {
		completion = req.MaxTokens
	} else if s.cfg.MaxTokens > 0 {
		completion = s.cfg.MaxTokens
	}
	u := Usage{Calls: 1, PromptTokens: prompt, CompletionTokens: completion}
	model := s.cfg.Model
	if req.Model != "" {
		model = req.Model
	}
	if p, ok := s.cfg.price(model); ok {
		u.CostUSD = p.Cost(prompt, completion)
	}
	return u
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// classify maps endpoint errors onto the package sentinels; the ones that
// stop the run name the endpoint and the model.
func (s *Stack) classify(err error, model string) error {
	status, code, _ := errorDetails(err)
	where := func() string {
		return fmt.Sprintf("%s (base URL %s); model %s (%s)", s.cfg.BaseURL, From(s.cfg.Sources.BaseURL), model, From(s.cfg.Sources.Model))
	}
	switch {
	case unreachable(err):
		return fmt.Errorf("%w: %s: %w", ErrUnreachable, where(), err)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return fmt.Errorf("%w: %s answered %d (key from %s): %w", ErrAuth, where(), status, s.cfg.APIKeyEnv, err)
	case status == http.StatusNotFound:
		return fmt.Errorf("%w: %s answered 404 (a wrong base URL, or a model it does not serve): %w", ErrNotFound, where(), err)
	case code == "insufficient_quota":
		return fmt.Errorf("%w: %w", ErrQuota, err)
	}
	return fmt.Errorf("llm: chat completion: %w", err)
}

func errorDetails(err error) (status int, code, message string) {
	var apiErr *openai.APIError
	if errors.As(err, &apiErr) {
		code, _ = apiErr.Code.(string)
		if code == "" {
			code = apiErr.Type
		}
		msg := apiErr.Message
		if apiErr.Param != nil {
			msg += " " + *apiErr.Param
		}
		return apiErr.HTTPStatusCode, code, msg
	}
	var reqErr *openai.RequestError
	if errors.As(err, &reqErr) {
		return reqErr.HTTPStatusCode, "", string(reqErr.Body)
	}
	return 0, "", ""
}

// refusesMaxCompletionTokens tells a server that does not know the
// max_completion_tokens parameter (it wants max_tokens) from other bad
// requests.
func refusesMaxCompletionTokens(err error) bool {
	status, _, msg := errorDetails(err)
	return (status == http.StatusBadRequest || status == http.StatusUnprocessableEntity) &&
		strings.Contains(msg, "max_completion_tokens")
}

// rejectsFormat tells a server that does not support the requested
// response_format from other bad requests.
func rejectsFormat(err error) bool {
	status, _, msg := errorDetails(err)
	if status != http.StatusBadRequest && status != http.StatusUnprocessableEntity {
		return false
	}
	msg = strings.ToLower(msg)
	for _, hint := range []string{"response_format", "json_schema", "json_object", "unsupported", "not supported"} {
		if strings.Contains(msg, hint) {
			return true
		}
	}
	return false
}

// redact keeps the API key out of error text, whatever the server echoed.
func (s *Stack) redact(err error) error {
	if err == nil || s.apiKey == "" || !strings.Contains(err.Error(), s.apiKey) {
		return err
	}
	return &redactedError{err: err, key: s.apiKey}
}

type redactedError struct {
	err error
	key string
}

func (e *redactedError) Error() string { return strings.ReplaceAll(e.err.Error(), e.key, "[redacted]") }
func (e *redactedError) Unwrap() error { return e.err }

package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// PreflightTimeout bounds the run's preflight request, whatever the
// timeout; a preflight that times out only warns.
const PreflightTimeout = 20 * time.Second

// Check is one preflight item.
type Check struct {
	Name string
	OK   bool
	// Critical checks stop a run when they fail; the others only degrade
	// it (the stack falls back, or the run is not reproducible).
	Critical bool
	Detail   string
	// Err is the failure, wrapping the package's sentinels.
	Err error
}

// Preflight is the outcome of the checks, in order.
type Preflight struct {
	// Endpoint names the URL, the model and where each came from.
	Endpoint string
	Checks   []Check
}

// Err is the first critical failure, or nil.
func (p Preflight) Err() error {
	for _, c := range p.Checks {
		if c.Critical && !c.OK {
			return fmt.Errorf("llm preflight: %s: %w", c.Name, c.Err)
		}
	}
	return nil
}

// PreflightSchemaName names the preflight's schema, so fakes can tell its
// requests from a run's.
const PreflightSchemaName = "recloop_preflight"

// preflightSchema is the structured answer the preflight asks for.
var preflightSchema = &Schema{Name: PreflightSchemaName, JSON: json.RawMessage(
	`{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"],"additionalProperties":false}`)}

// Preflight checks the endpoint without retries, the cache or the budget:
// reachable, authorised, model exists, JSON-schema output honoured, seed
// accepted, latency. Its calls are not counted in Usage.
func (s *Stack) Preflight(ctx context.Context) Preflight {
	out := Preflight{Endpoint: s.cfg.Describe()}
	add := func(name string, critical bool, err error, format string, args ...any) {
		c := Check{Name: name, OK: err == nil, Critical: critical, Detail: fmt.Sprintf(format, args...), Err: s.redact(err)}
		if err != nil {
			c.Detail = s.redact(err).Error()
		}
		out.Checks = append(out.Checks, c)
	}
	// The scenario's own timeout: a local server may take long to load the
	// model for its first answer.
	timeout, err := s.cfg.TimeoutDuration()
	if err != nil {
		timeout = DefaultTimeout
	}
	client := openai.NewClientWithConfig(s.clientConfig(&headerDoer{next: &http.Client{Timeout: timeout}, project: s.cfg.ProjectID}))

	// The models list, where the server has one: it tells reachable and
	// authorised apart from the model's own problems.
	models, listErr := client.ListModels(ctx)
	if unreachable(listErr) {
		err := s.classify(listErr, s.cfg.Model)
		add("reachable", true, err, "")
		for _, name := range []string{"authorised", "model exists", "json schema", "seed", "latency"} {
			add(name, name != "json schema" && name != "seed" && name != "latency", err, "")
			out.Checks[len(out.Checks)-1].Detail = "not checked: the endpoint is unreachable"
		}
		return out
	}

	// One plain completion: authorised, model, latency.
	p := s.params(Request{Role: "preflight", Messages: []Message{{Role: "user", Content: `Reply with the word "ok".`}}, MaxTokens: s.preflightTokens()})
	p.Seed = nil
	start := time.Now()
	_, chatErr := s.chatWith(ctx, client, p, p.Messages, nil)
	latency := time.Since(start)
	status, _, _ := errorDetails(chatErr)
	if chatErr != nil && status == 0 && unreachable(chatErr) {
		add("reachable", true, chatErr, "")
	} else {
		add("reachable", true, nil, "%s answered", s.cfg.BaseURL)
	}
	switch {
	case errors.Is(chatErr, ErrAuth):
		add("authorised", true, chatErr, "")
	default:
		add("authorised", true, nil, "key from %s accepted", s.cfg.APIKeyEnv)
	}
	listed := listErr == nil && hasModel(models, s.cfg.Model)
	switch {
	case chatErr == nil && listed:
		add("model exists", true, nil, "%s answered, and /models lists it", s.cfg.Model)
	case chatErr == nil:
		add("model exists", true, nil, "%s answered", s.cfg.Model)
	case errors.Is(chatErr, ErrAuth):
		add("model exists", true, chatErr, "")
		out.Checks[len(out.Checks)-1].Detail = "not checked: not authorised"
	default:
		add("model exists", true, chatErr, "")
	}
	if chatErr != nil {
		for _, name := range []string{"json schema", "seed", "latency"} {
			add(name, false, chatErr, "")
			out.Checks[len(out.Checks)-1].Detail = "not checked: the model did not answer"
		}
		return out
	}

	// Structured output, strict json_schema, as the run asks for it first.
	sp := p
	sp.Schema = preflightSchema
	sp.Messages = []Message{{Role: "user", Content: `Answer {"ok": true}.`}}
	resp, err := s.chatWith(ctx, client, sp, sp.Messages, responseFormat(formatJSONSchema, preflightSchema))
	switch {
	case err != nil && rejectsFormat(err):
		add("json schema", false, err, "")
		out.Checks[len(out.Checks)-1].Detail = "the endpoint rejects response_format json_schema; the run falls back to json_object or prompted JSON: " + s.redact(err).Error()
	case err != nil:
		add("json schema", false, err, "")
	default:
		if verr := s.schemas.validate(preflightSchema, []byte(strings.TrimSpace(resp.Content))); verr != nil {
			add("json schema", false, fmt.Errorf("%w: the answer ignores the schema (%v): %.80q", ErrMalformed, verr, resp.Content), "")
		} else {
			add("json schema", false, nil, "strict json_schema answer validated")
		}
	}

	// Seed.
	seeded := p
	seed := 42
	if s.cfg.Seed != nil {
		seed = *s.cfg.Seed
	}
	seeded.Seed = &seed
	if _, err := s.chatWith(ctx, client, seeded, seeded.Messages, nil); err != nil {
		add("seed", false, err, "")
	} else {
		add("seed", false, nil, "seed %d accepted", seed)
	}
	add("latency", false, nil, "%s for a short completion", latency.Round(time.Millisecond))
	return out
}

func (s *Stack) preflightTokens() int {
	if isReasoningModel(s.cfg.Model) {
		return 0
	}
	return 16
}

func hasModel(list openai.ModelsList, model string) bool {
	for _, m := range list.Models {
		if m.ID == model {
			return true
		}
	}
	return false
}

// preflightGate runs the run's preflight once, before the first call that
// goes to the network: a fully cached or replayed run sends nothing.
type preflightGate struct {
	armed atomic.Bool
	mu    sync.Mutex
	done  bool
	err   error
}

// ArmPreflight makes the stack check the endpoint (one strict json_schema
// call without retries) before its first call that reaches the network, and
// fail that call and every later one if the endpoint is unreachable, refuses
// the key or answers 404. The runner arms it before round 1; config
// preflight: false leaves it disarmed.
func (s *Stack) ArmPreflight() {
	if s.cfg.Preflight == nil || *s.cfg.Preflight {
		s.gate.armed.Store(true)
	}
}

// beforeFirstCall runs the armed preflight the first time it is called and
// returns its fatal error, every time. A cancelled check is tried again.
func (s *Stack) beforeFirstCall(ctx context.Context) error {
	g := &s.gate
	if !g.armed.Load() {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done {
		return g.err
	}
	err := s.quickPreflight(ctx)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	g.done, g.err = true, err
	return err
}

// quickPreflight is one strict json_schema call without retries. It fails
// only for what no retry mends (unreachable, not authorised, 404); a
// rejected or ignored schema is a warning, as the stack falls back.
func (s *Stack) quickPreflight(ctx context.Context) error {
	timeout := PreflightTimeout
	if t, err := s.cfg.TimeoutDuration(); err == nil && t < timeout {
		timeout = t
	}
	client := openai.NewClientWithConfig(s.clientConfig(&headerDoer{next: &http.Client{Timeout: timeout}, project: s.cfg.ProjectID}))
	p := s.params(Request{Role: "preflight", Messages: []Message{{Role: "user", Content: `Answer {"ok": true}.`}}, MaxTokens: s.preflightTokens()})
	p.Schema, p.Seed = preflightSchema, nil
	resp, err := s.chatWith(ctx, client, p, p.Messages, responseFormat(formatJSONSchema, preflightSchema))
	switch {
	case errors.Is(err, ErrUnreachable), errors.Is(err, ErrAuth), errors.Is(err, ErrNotFound):
		return fmt.Errorf("llm preflight before round 1: %w", err)
	case err != nil && rejectsFormat(err):
		s.log.Warn("llm preflight: the endpoint rejects json_schema output; answers fall back to json_object or prompted JSON",
			"endpoint", s.cfg.Describe(), "err", s.redact(err))
	case err != nil:
		s.log.Warn("llm preflight failed; the run goes on and retries", "endpoint", s.cfg.Describe(), "err", s.redact(err))
	default:
		if verr := s.schemas.validate(preflightSchema, []byte(strings.TrimSpace(resp.Content))); verr != nil {
			s.log.Warn("llm preflight: the answer ignores the JSON schema; invalid answers will be repaired once", "endpoint", s.cfg.Describe(), "err", verr)
		}
	}
	return nil
}

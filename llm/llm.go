// Package llm is recloop's only door to language models: an OpenAI-compatible
// client with structured output, retries, rate limits, a response cache,
// usage accounting and a budget. Nothing outside this package sees go-openai
// types.
package llm

import (
	"context"
	"encoding/json"
	"errors"
)

// Sentinel errors callers branch on.
var (
	// ErrBudgetExceeded: the run's budget_usd is spent; stop gracefully.
	ErrBudgetExceeded = errors.New("llm: budget exceeded")
	// ErrReplayMiss: cache mode replay and the call is not in the cache.
	ErrReplayMiss = errors.New("llm: cache miss in replay mode")
	// ErrMalformed: the answer did not parse or validate, even after repair.
	ErrMalformed = errors.New("llm: malformed answer")
	// ErrAuth: the endpoint refused the credentials (never retried).
	ErrAuth = errors.New("llm: authentication failed")
	// ErrQuota: the account has no quota left (never retried).
	ErrQuota = errors.New("llm: insufficient quota")
)

// Role is who is asking, for accounting: persona, judge or recommender.
type Role string

const (
	RolePersona     Role = "persona"
	RoleJudge       Role = "judge"
	RoleRecommender Role = "recommender"
)

// Message is one chat message. Role is "system", "user" or "assistant".
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Schema asks for structured output: Name names it for the endpoint, JSON is
// a JSON Schema (draft 2020-12 subset that OpenAI's strict mode accepts).
// Build one from a Go type with SchemaFor.
type Schema struct {
	Name string          `json:"name"`
	JSON json.RawMessage `json:"schema"`
}

// Request is one completion request.
type Request struct {
	Role Role
	// Subject is who the call is about (a persona id), for per-subject usage.
	Subject  string
	Messages []Message
	// Schema, when set, makes Content a JSON document valid against it.
	Schema *Schema
	// Replicate distinguishes repeated plays of the same persona; it is part
	// of the cache key and of the seed sent to the endpoint.
	Replicate int
	// MaxTokens overrides the provider's max_tokens when > 0.
	MaxTokens int
	// Model overrides the configured model for this call ("" keeps it):
	// a second model plays one role (the users of a conversation) on the
	// same client, so its calls share the budget, the cache and the usage.
	Model string
}

// Usage is what one call (or a sum of calls) cost.
type Usage struct {
	Calls            int     `json:"calls"`
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	CostUSD          float64 `json:"cost_usd"`
	CacheHits        int     `json:"cache_hits"`
	Retries          int     `json:"retries"`
	Errors           int     `json:"errors"`
}

// Add accumulates o into u.
func (u *Usage) Add(o Usage) {
	u.Calls += o.Calls
	u.PromptTokens += o.PromptTokens
	u.CompletionTokens += o.CompletionTokens
	u.CostUSD += o.CostUSD
	u.CacheHits += o.CacheHits
	u.Retries += o.Retries
	u.Errors += o.Errors
}

// Response is one completion.
type Response struct {
	// Content is the answer text; with a Schema, a validated JSON document.
	Content string
	// Model is the model that answered.
	Model string
	// Usage is this call's cost (zero tokens and cost for a cache hit,
	// with CacheHits = 1).
	Usage Usage
	// Cached reports that the answer came from the cache.
	Cached bool
}

// Client completes requests. Implementations are safe for concurrent use.
type Client interface {
	Complete(ctx context.Context, req Request) (Response, error)
}

// Package recommenders defines the Recommender interface, the registry of
// named implementations, and the built-ins.
package recommenders

import (
	"context"
	"errors"
	"log/slog"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/llm"
)

// ErrUnknown is returned for a recommender name nobody registered.
var ErrUnknown = errors.New("recommenders: unknown recommender")

// Recommender produces slates and learns from feedback.
//
// The simulator calls Recommend concurrently for many users within a round,
// against state frozen at the round's start, and then calls Observe once with
// the round's feedback in a fixed order. Implementations therefore need
// Recommend to be safe for concurrent use, but Observe is never concurrent
// with anything.
type Recommender interface {
	Recommend(ctx context.Context, req Request) (Slate, error)
	Observe(ctx context.Context, feedback []Feedback) error
}

// Resetter is implemented by recommenders that can forget everything they
// learned, for isolation between runs.
type Resetter interface {
	Reset(ctx context.Context) error
}

// Closer is implemented by recommenders that hold resources.
type Closer interface {
	Close() error
}

// Request asks for a slate for one user in one round.
type Request struct {
	User  string `json:"user"`
	Round int    `json:"round"`
	K     int    `json:"k"`
	// History is what the recommender may see of the user: the seed history
	// and every item the user consumed, oldest first.
	History []HistoryItem `json:"history"`
	// Context carries free-form request context (for example a search query).
	Context map[string]string `json:"context,omitempty"`
}

// HistoryItem is one consumed item. Round is -1 for seed history.
type HistoryItem struct {
	Item   string  `json:"item"`
	Round  int     `json:"round"`
	Rating float64 `json:"rating,omitempty"`
}

// Slate is a ranked list of recommended items.
type Slate struct {
	Items []Scored `json:"items"`
}

// Scored is one recommended item with its score and a short explanation.
type Scored struct {
	Item        string  `json:"item"`
	Score       float64 `json:"score"`
	Explanation string  `json:"explanation,omitempty"`
}

// Feedback is what one user did with one shown item.
type Feedback struct {
	User    string  `json:"user"`
	Round   int     `json:"round"`
	Item    string  `json:"item"`
	Rank    int     `json:"rank"`
	Clicked bool    `json:"clicked"`
	Rating  float64 `json:"rating,omitempty"`
	// Stage, Dwell and Bounced are set when the scenario declares a funnel:
	// how far down it the clicked item went (1 = the click), its
	// completion fraction, and whether the click was a quick exit (a
	// negative signal).
	Stage   int     `json:"stage,omitempty"`
	Dwell   float64 `json:"dwell,omitempty"`
	Bounced bool    `json:"bounced,omitempty"`
}

// Env is what a factory gets besides its parameters.
type Env struct {
	Catalog *catalog.Catalog
	// Interactions is the prior interaction log (may be empty).
	Interactions []catalog.Interaction
	// Seed is derived from the scenario seed and the variant name.
	Seed uint64
	// Variant is the variant's name, for logs and explanations.
	Variant string
	// LLM is the language-model client for recommenders that call one
	// (llmrank); nil when the scenario configures none.
	LLM llm.Client
	// Dir resolves relative file parameters (the scenario's directory).
	Dir string
	// Logger receives what recommenders report while they run (a child
	// process's stderr, a fallback slate); nil discards it.
	Logger *slog.Logger
}

// Log is env.Logger, or a logger that discards everything when that is nil.
func (env Env) Log() *slog.Logger {
	if env.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return env.Logger
}

// Factory builds a recommender from validated parameters. ctx bounds the
// build: external recommenders start a process or contact a service and
// check it speaks the protocol before they return.
type Factory func(ctx context.Context, env Env, params config.Params) (Recommender, error)

var registry = config.NewRegistry[Factory]("recommender")

// Register makes a recommender available by spec.Name. It panics on a
// duplicate name, as database/sql does, because that is a programming error.
func Register(spec config.Spec, factory Factory) { registry.Register(spec, factory) }

// Lookup returns the spec of a registered recommender, or of a composition
// such as mmr(itemknn) (the outer wrapper's parameters; see Resolve for the
// nested inner ones).
func Lookup(name string) (config.Spec, bool) { return lookupComposed(name) }

// Names lists the registered recommenders, sorted.
func Names() []string { return registry.Names() }

// New builds a registered recommender or a composition such as
// calibrated(explore(itemknn)). params must come from Resolve, or from the
// spec's Resolve or Defaults (then inner layers get their defaults).
func New(ctx context.Context, name string, env Env, params config.Params) (Recommender, error) {
	layers, err := parseName(name)
	if err != nil {
		return nil, err
	}
	return newComposed(ctx, layers, env, params)
}

// Package judges scores the explanations recommenders give: a deterministic
// grounding judge that checks every claim against the data (free, offline,
// always on) and LLM judges that grade explanations against a rubric.
// Judges read trajectories and write verdict records; they never run the
// simulator, so a saved run can be judged again.
package judges

import (
	"context"
	"errors"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/llm"
)

// ErrUnknown is returned for a judge name nobody registered.
var ErrUnknown = errors.New("judges: unknown judge")

// Case is one explanation in its context: what a judge sees.
type Case struct {
	Variant string
	Round   int
	Persona string
	// PersonaSummary is the persona in a sentence or two (its description,
	// or its name and stated interests).
	PersonaSummary string
	Interests      catalog.Taste
	// History is what the recommender could see: seed history and
	// consumption before this round, oldest first.
	History []HistoryItem
	// Item is the explained item (catalog index ItemIndex).
	Item      *catalog.Item
	ItemIndex int
	Rank      int
	// Slate lists the ids shown together with the item, in rank order.
	Slate       []string
	Explanation string
}

// HistoryItem is one item in a persona's visible history.
type HistoryItem struct {
	Item   string
	Title  string
	Rating float64
}

// Verdict is a judge's assessment of one Case.
type Verdict struct {
	Judge string
	// Scores maps a rubric dimension to a 1–5 score.
	Scores map[string]float64
	Reason string
	// Violations are the claims that the data contradicts (grounding judge).
	Violations []Violation
	// Model and Samples record how an LLM judge reached the verdict.
	Model   string
	Samples int
}

// Violation is one claim the data does not support.
type Violation struct {
	// Kind is "title", "category", "attribute" or "number".
	Kind string `json:"kind"`
	// Phrase is the offending text, as written in the explanation.
	Phrase string `json:"phrase"`
	Detail string `json:"detail"`
}

// Judge scores one explanation. Implementations are safe for concurrent use.
type Judge interface {
	Judge(ctx context.Context, c Case) (Verdict, error)
}

// Pairwise is implemented by judges that can compare two variants'
// explanations of the same item for the same persona.
type Pairwise interface {
	Compare(ctx context.Context, a, b Case) (PairVerdict, error)
}

// PairVerdict is a blinded comparison asked in both orders.
type PairVerdict struct {
	// Winner is "a", "b" or "tie" after both orders.
	Winner string
	// PositionBias is set when the two orders disagreed.
	PositionBias bool
	Reason       string
}

// Env is what a judge factory gets besides its parameters.
type Env struct {
	Catalog *catalog.Catalog
	LLM     llm.Client
	Rubric  Rubric
	Seed    uint64
	// Dir resolves relative file parameters (the scenario's directory).
	Dir string
}

// Factory builds a judge from validated parameters.
type Factory func(env Env, params config.Params) (Judge, error)

var registry = config.NewRegistry[Factory]("judge")

// Register makes a judge available by spec.Name.
func Register(spec config.Spec, f Factory) { registry.Register(spec, f) }

// Lookup returns a judge's spec.
func Lookup(name string) (config.Spec, bool) { return registry.Lookup(name) }

// Names lists the registered judges.
func Names() []string { return registry.Names() }

// New builds a registered judge; parameters missing from params take their
// defaults.
func New(name string, env Env, params config.Params) (Judge, error) {
	spec, f, ok := registry.Factory(name)
	if !ok {
		return nil, ErrUnknown
	}
	full := spec.Defaults()
	for k, v := range params {
		full[k] = v
	}
	return f(env, full)
}

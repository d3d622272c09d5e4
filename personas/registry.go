package personas

import (
	"errors"
	"fmt"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/llm"
)

// ErrUnknownBehaviour is returned for a behaviour name nobody registered.
var ErrUnknownBehaviour = errors.New("personas: unknown behaviour")

// BehaviourEnv is what a behaviour factory gets besides its parameters.
type BehaviourEnv struct {
	Catalog *catalog.Catalog
	Seed    uint64
	// LLM is the client for behaviours played by a language model; nil when
	// the scenario configures none.
	LLM llm.Client
	// Dir resolves relative file parameters (the scenario's directory).
	Dir string
	// Engagement is the scenario's funnel, bounce threshold and search;
	// off (no funnel) unless the scenario declares one.
	Engagement Engagement
	// Taste is a learned taste model held in memory (recloop fidelity);
	// when nil, the utility model reads its taste_model file, if any.
	Taste *TasteModel
}

// BehaviourFactory builds a behaviour from validated parameters.
type BehaviourFactory func(env BehaviourEnv, params config.Params) (Behaviour, error)

var behaviours = config.NewRegistry[BehaviourFactory]("behaviour")

// RegisterBehaviour makes a behaviour available by spec.Name. It panics on a
// duplicate name, because that is a programming error.
func RegisterBehaviour(spec config.Spec, f BehaviourFactory) { behaviours.Register(spec, f) }

// LookupBehaviour returns the spec of a registered behaviour.
func LookupBehaviour(name string) (config.Spec, bool) { return behaviours.Lookup(name) }

// BehaviourNames lists the registered behaviours, sorted.
func BehaviourNames() []string { return behaviours.Names() }

// NewBehaviour builds a registered behaviour. params should come from the
// spec's Resolve; parameters missing from it take their defaults.
func NewBehaviour(name string, env BehaviourEnv, params config.Params) (Behaviour, error) {
	spec, factory, ok := behaviours.Factory(name)
	if !ok {
		return nil, fmt.Errorf("%w: %q (known: %v)", ErrUnknownBehaviour, name, BehaviourNames())
	}
	full := spec.Defaults()
	for k, v := range params {
		full[k] = v
	}
	return factory(env, full)
}

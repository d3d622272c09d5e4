package personas

import (
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
)

// ErrUnknownBehaviour is returned for a behaviour name nobody registered.
var ErrUnknownBehaviour = errors.New("personas: unknown behaviour")

// BehaviourFactory builds a behaviour from validated parameters.
type BehaviourFactory func(cat *catalog.Catalog, seed uint64, params config.Params) (Behaviour, error)

type behaviourReg struct {
	spec    config.Spec
	factory BehaviourFactory
}

var (
	behavioursMu sync.RWMutex
	behaviours   = map[string]behaviourReg{}
)

// RegisterBehaviour makes a behaviour available by spec.Name. It panics on a
// duplicate name, because that is a programming error.
func RegisterBehaviour(spec config.Spec, f BehaviourFactory) {
	behavioursMu.Lock()
	defer behavioursMu.Unlock()
	if _, dup := behaviours[spec.Name]; dup {
		panic("personas: RegisterBehaviour called twice for " + spec.Name)
	}
	behaviours[spec.Name] = behaviourReg{spec: spec, factory: f}
}

// LookupBehaviour returns the spec of a registered behaviour.
func LookupBehaviour(name string) (config.Spec, bool) {
	behavioursMu.RLock()
	defer behavioursMu.RUnlock()
	r, ok := behaviours[name]
	return r.spec, ok
}

// BehaviourNames lists the registered behaviours, sorted.
func BehaviourNames() []string {
	behavioursMu.RLock()
	defer behavioursMu.RUnlock()
	names := make([]string, 0, len(behaviours))
	for n := range behaviours {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// NewBehaviour builds a registered behaviour. params should come from the
// spec's Resolve; parameters missing from it take their defaults.
func NewBehaviour(name string, cat *catalog.Catalog, seed uint64, params config.Params) (Behaviour, error) {
	behavioursMu.RLock()
	r, ok := behaviours[name]
	behavioursMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %q (known: %v)", ErrUnknownBehaviour, name, BehaviourNames())
	}
	full := r.spec.Defaults()
	for k, v := range params {
		full[k] = v
	}
	return r.factory(cat, seed, full)
}

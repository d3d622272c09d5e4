package config

import (
	"slices"
	"sync"
)

// Registry maps component names to their spec and factory, as database/sql
// maps driver names to drivers. F is the component's factory type.
type Registry[F any] struct {
	kind string
	mu   sync.RWMutex
	m    map[string]registered[F]
}

type registered[F any] struct {
	spec    Spec
	factory F
}

// NewRegistry returns an empty registry; kind ("recommender") names the
// components in panics.
func NewRegistry[F any](kind string) *Registry[F] {
	return &Registry[F]{kind: kind, m: map[string]registered[F]{}}
}

// Register makes a component available by spec.Name. It panics on a
// duplicate name, because that is a programming error.
func (r *Registry[F]) Register(spec Spec, factory F) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.m[spec.Name]; dup {
		panic("config: " + r.kind + " " + spec.Name + " registered twice")
	}
	r.m[spec.Name] = registered[F]{spec: spec, factory: factory}
}

// Lookup returns a component's spec.
func (r *Registry[F]) Lookup(name string) (Spec, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.m[name]
	return e.spec, ok
}

// Factory returns a component's spec and factory.
func (r *Registry[F]) Factory(name string) (Spec, F, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.m[name]
	return e.spec, e.factory, ok
}

// Names lists the registered components, sorted.
func (r *Registry[F]) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.m))
	for n := range r.m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

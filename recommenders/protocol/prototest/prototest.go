// Package prototest checks messages against the protocol's JSON Schemas,
// for the tests of the adapters and of recommenders that speak the
// protocol.
package prototest

import (
	"bytes"
	"fmt"
	"maps"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/recommenders"
	"github.com/recloop/recloop/recommenders/protocol"
)

var (
	once     sync.Once
	compiled map[string]*jsonschema.Schema
	errLoad  error
)

func load() {
	compiled = map[string]*jsonschema.Schema{}
	c := jsonschema.NewCompiler()
	for _, name := range protocol.SchemaNames {
		data, err := protocol.Schema(name)
		if err != nil {
			errLoad = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			errLoad = fmt.Errorf("schema %s: %w", name, err)
			return
		}
		if err := c.AddResource(name+".schema.json", doc); err != nil {
			errLoad = fmt.Errorf("schema %s: %w", name, err)
			return
		}
	}
	for _, name := range protocol.SchemaNames {
		s, err := c.Compile(name + ".schema.json")
		if err != nil {
			errLoad = fmt.Errorf("schema %s: %w", name, err)
			return
		}
		compiled[name] = s
	}
}

// Validate checks one encoded message against the named schema (one of
// protocol.SchemaNames).
func Validate(name string, data []byte) error {
	once.Do(load)
	if errLoad != nil {
		return errLoad
	}
	s, ok := compiled[name]
	if !ok {
		return fmt.Errorf("prototest: no schema %q", name)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("prototest: %s: not JSON: %w", name, err)
	}
	if err := s.Validate(inst); err != nil {
		return fmt.Errorf("prototest: %s: %w", name, err)
	}
	return nil
}

// SchemaFor names the schema of a message the host sends, by its type.
func SchemaFor(msgType string) string {
	switch msgType {
	case protocol.TypeRecommend:
		return "recommend_request"
	case protocol.TypeHealth:
		return "health_request"
	case protocol.TypeChat:
		return "chat_request"
	}
	return msgType
}

// Catalog is a small catalog for adapter tests.
//
//	id  categories  popularity  release
//	a   sci-fi      50          0
//	b   sci-fi      40          0
//	c   drama       30          0
//	d   drama       20          0
//	e   comedy      10          2
func Catalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.New([]catalog.Item{
		{ID: "a", Title: "Alpha", Categories: []string{"sci-fi"}, Popularity: 50},
		{ID: "b", Title: "Bravo", Categories: []string{"sci-fi"}, Popularity: 40},
		{ID: "c", Title: "Charlie", Categories: []string{"drama"}, Popularity: 30},
		{ID: "d", Title: "Delta", Categories: []string{"drama"}, Popularity: 20},
		{ID: "e", Title: "Echo", Categories: []string{"comedy"}, Popularity: 10, ReleaseRound: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// Request asks for a slate of 2 for a user who consumed a.
var Request = recommenders.Request{User: "u", Round: 0, K: 2, History: []recommenders.HistoryItem{{Item: "a", Round: -1}}}

// Build resolves params (raw over base) against spec, builds an adapter
// with factory under the test's context and closes it when the test ends.
func Build(t testing.TB, spec config.Spec, factory recommenders.Factory, env recommenders.Env, base, raw map[string]any) (*protocol.Adapter, error) {
	t.Helper()
	all := maps.Clone(base)
	maps.Copy(all, raw)
	p, errs := spec.Resolve(nil, "", all)
	if len(errs) > 0 {
		t.Fatal(errs.Err())
	}
	r, err := factory(t.Context(), env, p)
	if err != nil {
		return nil, err
	}
	a := r.(*protocol.Adapter)
	t.Cleanup(func() { _ = a.Close() })
	return a, nil
}

// Package prototest checks messages against the protocol's JSON Schemas,
// for the tests of the adapters and of recommenders that speak the
// protocol.
package prototest

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

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
	}
	return msgType
}

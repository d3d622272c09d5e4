package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/sashabaranov/go-openai/jsonschema"
)

// ErrSchema: the document does not match the schema (or the schema is unusable).
var ErrSchema = errors.New("llm: schema violation")

// SchemaFor derives a strict JSON Schema from the Go type T. Fields without
// omitempty are required; `enum:"a,b"` and `description:"…"` tags carry over.
func SchemaFor[T any](name string) (*Schema, error) {
	var zero T
	def, err := jsonschema.GenerateSchemaForType(zero)
	if err != nil {
		return nil, fmt.Errorf("llm: schema %s: %w", name, err)
	}
	raw, err := json.Marshal(def)
	if err != nil {
		return nil, fmt.Errorf("llm: schema %s: %w", name, err)
	}
	return &Schema{Name: name, JSON: raw}, nil
}

// schemaNode is the subset of JSON Schema that GenerateSchemaForType emits.
type schemaNode struct {
	Type                 string                 `json:"type"`
	Enum                 []any                  `json:"enum"`
	Properties           map[string]*schemaNode `json:"properties"`
	Required             []string               `json:"required"`
	AdditionalProperties json.RawMessage        `json:"additionalProperties"`
	Items                *schemaNode            `json:"items"`
	Nullable             bool                   `json:"nullable"`
	Ref                  string                 `json:"$ref"`
	Defs                 map[string]*schemaNode `json:"$defs"`
	AnyOf                []*schemaNode          `json:"anyOf"`
}

type validator struct {
	defs  map[string]*schemaNode
	depth int
}

// maxSchemaDepth bounds $ref recursion on self-referencing schemas.
const maxSchemaDepth = 64

// Validate checks doc against schema: one JSON value, no trailing data, every
// constraint of the supported subset (type, enum, properties, required,
// additionalProperties, items, $ref into $defs, anyOf, nullable). The error
// names the JSON path of the first violation, e.g. `$.items[2].score`.
func Validate(schema *Schema, doc []byte) error {
	if schema == nil {
		return fmt.Errorf("%w: no schema", ErrSchema)
	}
	var root schemaNode
	if err := json.Unmarshal(schema.JSON, &root); err != nil {
		return fmt.Errorf("%w: schema %s: %v", ErrSchema, schema.Name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("%w: not JSON: %v", ErrSchema, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: trailing data after the JSON value", ErrSchema)
	}
	val := validator{defs: root.Defs}
	if err := val.check(&root, v, "$"); err != nil {
		return fmt.Errorf("%w: %v", ErrSchema, err)
	}
	return nil
}

func (val *validator) check(s *schemaNode, v any, path string) error {
	if s.Ref != "" {
		target, ok := val.defs[strings.TrimPrefix(s.Ref, "#/$defs/")]
		if !ok || !strings.HasPrefix(s.Ref, "#/$defs/") {
			return fmt.Errorf("%s: unresolvable $ref %q", path, s.Ref)
		}
		if val.depth >= maxSchemaDepth {
			return fmt.Errorf("%s: nesting deeper than %d", path, maxSchemaDepth)
		}
		val.depth++
		defer func() { val.depth-- }()
		return val.check(target, v, path)
	}
	if v == nil && s.Nullable {
		return nil
	}
	if len(s.AnyOf) > 0 {
		for _, alt := range s.AnyOf {
			if val.check(alt, v, path) == nil {
				return nil
			}
		}
		return fmt.Errorf("%s: matches none of the anyOf alternatives", path)
	}
	if err := checkType(s.Type, v, path); err != nil {
		return err
	}
	if len(s.Enum) > 0 && !inEnum(s.Enum, v) {
		return fmt.Errorf("%s: %s is not one of %s", path, jsonText(v), jsonText(s.Enum))
	}
	switch x := v.(type) {
	case map[string]any:
		return val.checkObject(s, x, path)
	case []any:
		if s.Items == nil {
			return nil
		}
		for i, e := range x {
			if err := val.check(s.Items, e, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	}
	return nil
}

func (val *validator) checkObject(s *schemaNode, obj map[string]any, path string) error {
	for _, name := range s.Required {
		if _, ok := obj[name]; !ok {
			return fmt.Errorf("%s: missing required property %q", path, name)
		}
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var extra *schemaNode
	closed := false
	if ap := bytes.TrimSpace(s.AdditionalProperties); len(ap) > 0 {
		switch string(ap) {
		case "false":
			closed = true
		case "true":
		default:
			extra = new(schemaNode)
			if err := json.Unmarshal(ap, extra); err != nil {
				return fmt.Errorf("%s: bad additionalProperties in schema: %v", path, err)
			}
		}
	}
	for _, k := range keys {
		sub := path + "." + k
		if prop, ok := s.Properties[k]; ok {
			if err := val.check(prop, obj[k], sub); err != nil {
				return err
			}
			continue
		}
		if closed {
			return fmt.Errorf("%s: property %q is not allowed", path, k)
		}
		if extra != nil {
			if err := val.check(extra, obj[k], sub); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkType(typ string, v any, path string) error {
	ok := true
	switch typ {
	case "":
		return nil
	case "object":
		_, ok = v.(map[string]any)
	case "array":
		_, ok = v.([]any)
	case "string":
		_, ok = v.(string)
	case "boolean":
		_, ok = v.(bool)
	case "null":
		ok = v == nil
	case "number":
		n, isNum := v.(json.Number)
		_, err := strconv.ParseFloat(string(n), 64)
		ok = isNum && err == nil
	case "integer":
		// Only integer literals that fit 64 bits: 2.0 or 1e3 would pass JSON
		// Schema but fail to decode into a Go int field.
		n, isNum := v.(json.Number)
		_, err := strconv.ParseInt(string(n), 10, 64)
		ok = isNum && err == nil
	default:
		return fmt.Errorf("%s: schema type %q is not supported", path, typ)
	}
	if !ok {
		return fmt.Errorf("%s: expected %s, got %s", path, typ, jsonText(v))
	}
	return nil
}

func inEnum(enum []any, v any) bool {
	got := jsonText(v)
	for _, e := range enum {
		if jsonText(e) == got {
			return true
		}
	}
	return false
}

// jsonText renders v for error messages, cut short so a huge answer cannot
// flood the repair prompt.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	const maxLen = 80
	if len(b) > maxLen {
		return string(b[:maxLen]) + "…"
	}
	return string(b)
}

// extractJSON strips what chat models wrap around a JSON answer when they are
// only prompted for it: surrounding whitespace and ```json fences.
func extractJSON(content string) string {
	s := strings.TrimSpace(content)
	if rest, ok := strings.CutPrefix(s, "```"); ok {
		if nl := strings.IndexByte(rest, '\n'); nl >= 0 {
			rest = rest[nl+1:]
		}
		s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "```"))
	}
	return s
}

package llm

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	jsv "github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"github.com/sashabaranov/go-openai/jsonschema"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
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

// Validate checks doc against schema: one JSON value, no trailing data, and
// JSON Schema (draft 2020-12) with two additions for answers that are
// decoded into Go values: integers must be integer literals that fit 64
// bits and numbers must fit a float64, and the OpenAPI keyword `nullable`
// (which go-openai's schema generator emits) admits null. The error names
// the JSON path of the first violation, e.g. `$.items[2].score`.
//
// Validate compiles the schema on every call; a Stack compiles each schema
// once.
func Validate(schema *Schema, doc []byte) error {
	return new(schemaCache).validate(schema, doc)
}

// schemaCache holds compiled schemas by their JSON text. It is safe for
// concurrent use; the zero value is ready.
type schemaCache struct {
	mu sync.Mutex
	m  map[string]*compiledSchema
}

type compiledSchema struct {
	once sync.Once
	sch  *jsv.Schema
	err  error
}

func (c *schemaCache) validate(schema *Schema, doc []byte) error {
	if schema == nil {
		return fmt.Errorf("%w: no schema", ErrSchema)
	}
	sch, err := c.compiled(schema)
	if err != nil {
		return err
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
	err = sch.Validate(v)
	if err == nil {
		return nil
	}
	var verr *jsv.ValidationError
	if !errors.As(err, &verr) {
		return fmt.Errorf("%w: %v", ErrSchema, err)
	}
	return fmt.Errorf("%w: %s", ErrSchema, firstViolation(verr, v))
}

// compiled compiles schema the first time its JSON text is seen; a schema
// that does not compile keeps failing with the same error.
func (c *schemaCache) compiled(schema *Schema) (*jsv.Schema, error) {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*compiledSchema{}
	}
	entry, ok := c.m[string(schema.JSON)]
	if !ok {
		entry = new(compiledSchema)
		c.m[string(schema.JSON)] = entry
	}
	c.mu.Unlock()
	entry.once.Do(func() {
		entry.sch, entry.err = compileSchema(schema.JSON)
		if entry.err != nil {
			entry.err = fmt.Errorf("%w: schema %s: %v", ErrSchema, schema.Name, entry.err)
		}
	})
	return entry.sch, entry.err
}

// schemaURL names the one resource each compiler holds.
const schemaURL = "urn:recloop:llm-schema"

func compileSchema(raw []byte) (*jsv.Schema, error) {
	doc, err := jsv.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	c := jsv.NewCompiler()
	c.DefaultDraft(jsv.Draft2020)
	// The schema is all there is: a $ref must not reach files or the network.
	c.UseLoader(jsv.SchemeURLLoader{})
	c.AssertVocabs()
	c.RegisterVocabulary(goNumbersVocabulary)
	if err := c.AddResource(schemaURL, applyNullable(doc)); err != nil {
		return nil, err
	}
	return c.Compile(schemaURL)
}

// Keywords whose values are one subschema, a map of subschemas or a list of
// subschemas: where applyNullable looks for nested schemas.
var (
	subschemaKeywords = []string{"items", "additionalProperties", "not", "if", "then", "else",
		"contains", "propertyNames", "unevaluatedItems", "unevaluatedProperties", "additionalItems"}
	subschemaMapKeywords  = []string{"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
	subschemaListKeywords = []string{"anyOf", "allOf", "oneOf", "prefixItems", "items"}
	// resourceKeywords stay on the outer schema when applyNullable wraps one,
	// so that $refs into $defs still resolve.
	resourceKeywords = []string{"$schema", "$id", "$defs", "definitions"}
)

// applyNullable rewrites every subschema {…, "nullable": true} as
// {"anyOf": [{"type": "null"}, {…}]}: null is valid whatever else the
// subschema says, as the OpenAPI keyword means. JSON Schema itself ignores
// the keyword.
func applyNullable(s any) any {
	obj, ok := s.(map[string]any)
	if !ok {
		return s
	}
	for _, k := range subschemaKeywords {
		if sub, ok := obj[k]; ok {
			obj[k] = applyNullable(sub)
		}
	}
	for _, k := range subschemaMapKeywords {
		if subs, ok := obj[k].(map[string]any); ok {
			for name, sub := range subs {
				subs[name] = applyNullable(sub)
			}
		}
	}
	for _, k := range subschemaListKeywords {
		if subs, ok := obj[k].([]any); ok {
			for i, sub := range subs {
				subs[i] = applyNullable(sub)
			}
		}
	}
	if nullable, _ := obj["nullable"].(bool); !nullable {
		return obj
	}
	delete(obj, "nullable")
	outer := map[string]any{}
	for _, k := range resourceKeywords {
		if v, ok := obj[k]; ok {
			outer[k] = v
			delete(obj, k)
		}
	}
	outer["anyOf"] = []any{map[string]any{"type": "null"}, obj}
	return outer
}

// goNumbersVocabulary holds answers to what encoding/json can decode: 2.0
// and 1e3 are integers to JSON Schema but fail to decode into a Go int, and
// 1e400 is a number that no float64 holds.
var goNumbersVocabulary = &jsv.Vocabulary{
	URL: "urn:recloop:vocab:go-numbers",
	Compile: func(_ *jsv.CompilerContext, obj map[string]any) (jsv.SchemaExt, error) {
		var types []any
		switch t := obj["type"].(type) {
		case string:
			types = []any{t}
		case []any:
			types = t
		}
		var g goNumbers
		g.integer = slices.Contains(types, any("integer"))
		g.number = slices.Contains(types, any("number"))
		if !g.integer && !g.number {
			return nil, nil
		}
		return g, nil
	},
}

// goNumbers checks a number of a schema whose type allows integers or
// numbers (the type keyword has checked its JSON type already).
type goNumbers struct{ integer, number bool }

func (g goNumbers) Validate(ctx *jsv.ValidatorContext, v any) {
	n, ok := v.(json.Number)
	if !ok {
		return
	}
	want := "integer"
	var err error
	if g.number {
		want = "number"
		_, err = strconv.ParseFloat(string(n), 64)
	} else {
		_, err = strconv.ParseInt(string(n), 10, 64)
	}
	if err == nil {
		return
	}
	ctx.AddError(&goNumberKind{want: want, got: n})
}

// goNumberKind is the violation goNumbers reports.
type goNumberKind struct {
	want string
	got  json.Number
}

func (*goNumberKind) KeywordPath() []string { return []string{"type"} }

func (k *goNumberKind) LocalizedString(*message.Printer) string {
	return fmt.Sprintf("expected %s, got %s", k.want, k.got)
}

var englishPrinter = message.NewPrinter(language.English)

// firstViolation describes one leaf of the error tree: the first by instance
// path, so the same invalid answer always gets the same message (the
// validator walks objects in map order).
func firstViolation(verr *jsv.ValidationError, doc any) string {
	var leaves []*jsv.ValidationError
	var walk func(e *jsv.ValidationError)
	walk = func(e *jsv.ValidationError) {
		switch e.ErrorKind.(type) {
		case *kind.AnyOf:
			// Nullable values (see applyNullable) fail as "not null, and
			// not what else was allowed": the second half is the news.
			if rest := nonNullAlternatives(e.Causes); len(rest) == 1 {
				walk(rest[0])
				return
			}
			// Every alternative's own failure would only confuse.
			leaves = append(leaves, e)
			return
		case *kind.OneOf:
			leaves = append(leaves, e)
			return
		}
		if len(e.Causes) == 0 {
			leaves = append(leaves, e)
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(verr)
	type described struct {
		key []string
		msg string
	}
	all := make([]described, len(leaves))
	for i, e := range leaves {
		path, value := locate(doc, e.InstanceLocation)
		key := e.InstanceLocation
		if k, ok := e.ErrorKind.(*kind.AdditionalProperties); ok {
			// Ordered as if reported at the first such property, as a
			// property's own violations are.
			key = append(slices.Clip(key), slices.Min(k.Properties))
		}
		all[i] = described{key: key, msg: path + ": " + violation(e.ErrorKind, value)}
	}
	first := slices.MinFunc(all, func(a, b described) int {
		return cmp.Or(slices.CompareFunc(a.key, b.key, comparePathToken), strings.Compare(a.msg, b.msg))
	})
	return first.msg
}

// nonNullAlternatives drops the failures of alternatives that only allow null.
func nonNullAlternatives(causes []*jsv.ValidationError) []*jsv.ValidationError {
	return slices.DeleteFunc(slices.Clone(causes), func(e *jsv.ValidationError) bool {
		t, ok := e.ErrorKind.(*kind.Type)
		return ok && len(e.Causes) == 0 && slices.Equal(t.Want, []string{"null"})
	})
}

// comparePathToken orders array indices numerically and keys as strings.
func comparePathToken(a, b string) int {
	i, errA := strconv.Atoi(a)
	j, errB := strconv.Atoi(b)
	if errA == nil && errB == nil {
		return cmp.Compare(i, j)
	}
	return strings.Compare(a, b)
}

// locate follows an instance location through doc and returns its path
// written as $.a.b[2] and the value there.
func locate(doc any, loc []string) (string, any) {
	var sb strings.Builder
	sb.WriteString("$")
	v := doc
	for _, tok := range loc {
		switch x := v.(type) {
		case []any:
			i, _ := strconv.Atoi(tok)
			sb.WriteString("[" + tok + "]")
			if i >= 0 && i < len(x) {
				v = x[i]
			}
		case map[string]any:
			sb.WriteString("." + tok)
			v = x[tok]
		default:
			sb.WriteString("." + tok)
		}
	}
	return sb.String(), v
}

// violation words one error kind in the terms of the repair prompt.
func violation(k jsv.ErrorKind, value any) string {
	switch k := k.(type) {
	case *kind.Type:
		return fmt.Sprintf("expected %s, got %s", strings.Join(k.Want, " or "), jsonText(value))
	case *kind.Enum:
		return fmt.Sprintf("%s is not one of %s", jsonText(value), jsonText(k.Want))
	case *kind.Required:
		if len(k.Missing) == 1 {
			return fmt.Sprintf("missing required property %q", k.Missing[0])
		}
		return "missing required properties " + quoteAll(k.Missing)
	case *kind.AdditionalProperties:
		names := slices.Sorted(slices.Values(k.Properties))
		if len(names) == 1 {
			return fmt.Sprintf("property %q is not allowed", names[0])
		}
		return "properties " + quoteAll(names) + " are not allowed"
	case *kind.AnyOf:
		return "matches none of the anyOf alternatives"
	case *kind.FalseSchema:
		return "no value is allowed here"
	}
	return k.LocalizedString(englishPrinter)
}

func quoteAll(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = strconv.Quote(n)
	}
	return strings.Join(quoted, ", ")
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

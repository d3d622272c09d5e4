package config

import (
	"encoding"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder fills a Go value from a parsed yaml.Node tree the way yaml.v3
// would, but walks the tree itself so that every unknown field and every
// value of the wrong type is reported at its own node, with its line,
// column and dotted path. (yaml.v3's own decoder reports both only as text,
// and (*yaml.Node).Decode does not check for unknown fields at all.)
//
// Scalars, and values whose type decodes itself (yaml.Unmarshaler), are
// handed to yaml.v3 one node at a time, so their conversions are yaml.v3's.
type decoder struct {
	doc *Doc
	// expanded counts the nodes decoded, aliases followed; beyond limit the
	// document is aliasing itself into an explosion ("billion laughs") and
	// decoding stops.
	expanded, limit int
	stopped         bool
	// expanding holds the anchored nodes being decoded, to stop an alias
	// inside one that refers to it.
	expanding map[*yaml.Node]bool
}

// aliasGrowth bounds how many times its own size a document may grow by
// following aliases; an anchor reused in many places stays far below it.
const aliasGrowth = 10

func decodeDoc(doc *Doc, v any) {
	top := doc.Root
	if top.Kind == yaml.DocumentNode && len(top.Content) > 0 {
		top = top.Content[0]
	}
	d := &decoder{doc: doc, limit: aliasGrowth*countNodes(top) + 10000, expanding: map[*yaml.Node]bool{}}
	d.decode(top, top, "", reflect.ValueOf(v).Elem())
}

func countNodes(n *yaml.Node) int {
	c := 1
	for _, k := range n.Content {
		c += countNodes(k)
	}
	return c
}

func (d *decoder) report(at *yaml.Node, path, format string, args ...any) {
	d.doc.errs = append(d.doc.errs, &Error{File: d.doc.File, Line: at.Line, Column: at.Column, Field: path, Msg: fmt.Sprintf(format, args...)})
}

// typeError says that n cannot become a t, in yaml.v3's words.
func (d *decoder) typeError(n, at *yaml.Node, path string, t reflect.Type) {
	tag := n.ShortTag()
	value := ""
	if tag != "!!seq" && tag != "!!map" {
		value = n.Value
		if len(value) > 10 {
			value = value[:7] + "..."
		}
		value = " `" + value + "`"
	}
	d.report(at, path, "cannot unmarshal %s%s into %s", tag, value, t)
}

// decode fills v from n. at is the node errors about v are reported at: the
// key for a mapping's value (where the user wrote the field's name), n
// itself otherwise.
func (d *decoder) decode(n, at *yaml.Node, path string, v reflect.Value) {
	if !d.grow(1, at, path) {
		return
	}
	if n.Kind == yaml.AliasNode {
		if d.expanding[n.Alias] {
			d.report(at, path, "anchor %q refers to itself", n.Value)
			return
		}
		n = n.Alias
	}
	if n.Anchor != "" {
		d.expanding[n] = true
		defer delete(d.expanding, n)
	}
	if decodesItself(v.Type()) {
		d.scalar(n, at, path, v)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if n.ShortTag() == "!!null" {
			v.SetZero()
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, at, path, v.Elem())
	case reflect.Struct:
		d.structure(n, at, path, v)
	case reflect.Slice:
		d.sequence(n, at, path, v)
	case reflect.Map:
		d.mapping(n, at, path, v)
	case reflect.Interface:
		// A value of any type (component parameters) is yaml.v3's to
		// build. Its repeated keys, which yaml.v3 reports only as text,
		// are reported here instead, and the value is then left out. Its
		// nodes count against the limit; yaml.v3 guards the aliases
		// inside it itself.
		if d.grow(countNodes(n), at, path) && !d.repeatedKeys(n, path) {
			d.scalar(n, at, path, v)
		}
	default:
		d.scalar(n, at, path, v)
	}
}

// grow counts n more values decoded and reports whether decoding may go on.
func (d *decoder) grow(n int, at *yaml.Node, path string) bool {
	if d.stopped {
		return false
	}
	if d.expanded += n; d.expanded > d.limit {
		d.stopped = true
		d.report(at, path, "the document expands to too many values through its aliases")
	}
	return !d.stopped
}

var (
	unmarshalerType     = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	timeType            = reflect.TypeFor[time.Time]()
)

// decodesItself reports whether yaml.v3 decodes t by a method of t's
// (yaml.Unmarshaler, encoding.TextUnmarshaler) or as a timestamp, rather
// than field by field.
func decodesItself(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return t == timeType || p.Implements(unmarshalerType) || (t.Kind() == reflect.Struct && p.Implements(textUnmarshalerType))
}

// scalar lets yaml.v3 decode n into v. A type error about a plain value is
// the node's own, so it is reported in yaml.v3's words at n's place. Other
// errors come from a type that decodes itself or from deep inside a value of
// any type (an explicit tag that does not fit, say); they are reported as
// they are, at n's place: yaml.v3 gives them only as text.
func (d *decoder) scalar(n, at *yaml.Node, path string, v reflect.Value) {
	err := n.Decode(v.Addr().Interface())
	if err == nil {
		d.checkNumber(n, at, path, v)
		return
	}
	var te *yaml.TypeError
	plain := v.Kind() != reflect.Interface && !decodesItself(v.Type())
	switch {
	case plain && errors.As(err, &te):
		d.typeError(n, at, path, v.Type())
	case errors.As(err, &te):
		for _, msg := range te.Errors {
			d.report(at, path, "%s", msg)
		}
	default:
		d.report(at, path, "%v", err)
	}
}

func (d *decoder) structure(n, at *yaml.Node, path string, v reflect.Value) {
	if n.ShortTag() == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.typeError(n, at, path, v.Type())
		return
	}
	fields := fieldsOf(v.Type())
	for _, kv := range d.pairs(n, path) {
		key, value := kv[0], kv[1]
		field := Join(path, key.Value)
		index, ok := fields[key.Value]
		if !ok {
			d.report(key, field, "unknown field")
			continue
		}
		d.decode(value, key, field, v.FieldByIndex(index))
	}
}

// fieldsOf maps the YAML names of t's fields to their indexes as yaml.v3
// names them: the yaml tag's name, else the field's name in lower case;
// "-" and unexported fields are left out, and ",inline" structs lend their
// fields.
func fieldsOf(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(","+opts+",", ",inline,") && f.Type.Kind() == reflect.Struct {
			for k, index := range fieldsOf(f.Type) {
				out[k] = append([]int{i}, index...)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = []int{i}
	}
	return out
}

// sequence decodes the elements. An element that fails stays, as its zero
// value, so that the indexes of the elements after it stay the document's
// and later checks locate their errors at the right element. An empty
// element (~) of a type that has no null is left out, as yaml.v3 does.
func (d *decoder) sequence(n, at *yaml.Node, path string, v reflect.Value) {
	if n.ShortTag() == "!!null" {
		v.SetZero()
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.typeError(n, at, path, v.Type())
		return
	}
	t := v.Type()
	out := reflect.MakeSlice(t, 0, len(n.Content))
	for i, el := range n.Content {
		if resolved(el).ShortTag() == "!!null" && !nullable(t.Elem()) {
			continue
		}
		e := reflect.New(t.Elem()).Elem()
		d.decode(el, el, Index(path, i), e)
		out = reflect.Append(out, e)
	}
	v.Set(out)
}

func resolved(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode {
		return n.Alias
	}
	return n
}

// nullable reports whether yaml.v3 decodes null into a t (as its zero).
func nullable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Interface, reflect.Pointer, reflect.Map, reflect.Slice:
		return true
	}
	return false
}

func (d *decoder) mapping(n, at *yaml.Node, path string, v reflect.Value) {
	if n.ShortTag() == "!!null" {
		v.SetZero()
		return
	}
	if n.Kind != yaml.MappingNode {
		d.typeError(n, at, path, v.Type())
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	t := v.Type()
	for _, kv := range d.pairs(n, path) {
		key, value := kv[0], kv[1]
		field := Join(path, key.Value)
		k, e := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
		d.decode(key, key, field, k)
		d.decode(value, key, field, e)
		v.SetMapIndex(k, e)
	}
}

// pairs lists a mapping's keys and values with merge keys (<<: *anchor)
// expanded in place of the merge key: the merged pairs come first, so the
// mapping's own keys override them, as yaml.v3 has it. A key the mapping
// itself repeats is reported.
func (d *decoder) pairs(n *yaml.Node, path string) [][2]*yaml.Node {
	var merged, own [][2]*yaml.Node
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		if isMerge(key) {
			merged = append(merged, d.merged(key, value, path)...)
			continue
		}
		if first, dup := seen[key.Value]; dup && key.Kind == yaml.ScalarNode {
			d.report(key, Join(path, key.Value), "mapping key %q already defined at line %d", key.Value, first.Line)
			continue
		}
		seen[key.Value] = key
		own = append(own, [2]*yaml.Node{key, value})
	}
	return append(merged, own...)
}

func isMerge(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Value == "<<" && n.ShortTag() == "!!merge"
}

// merged are the pairs a merge key brings: one mapping's, or those of each
// mapping of a sequence in turn.
func (d *decoder) merged(key, value *yaml.Node, path string) [][2]*yaml.Node {
	maps := []*yaml.Node{value}
	if value.Kind == yaml.SequenceNode {
		maps = value.Content
	}
	var out [][2]*yaml.Node
	for _, m := range maps {
		if m.Kind == yaml.AliasNode {
			m = m.Alias
		}
		switch {
		case m.Kind != yaml.MappingNode:
			d.report(key, path, "a merge (<<) takes a mapping or a sequence of mappings")
			continue
		case d.expanding[m]:
			d.report(key, path, "a merge (<<) takes in the mapping it is part of")
			continue
		case !d.grow(len(m.Content)/2, key, path):
			return out
		}
		d.expanding[m] = true
		out = append(out, d.pairs(m, path)...)
		delete(d.expanding, m)
	}
	return out
}

// repeatedKeys reports every key repeated within a mapping under n, and
// whether there was one.
func (d *decoder) repeatedKeys(n *yaml.Node, path string) bool {
	found := false
	switch n.Kind {
	case yaml.MappingNode:
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, value := n.Content[i], n.Content[i+1]
			field := Join(path, key.Value)
			if first, dup := seen[key.Value]; dup && key.Kind == yaml.ScalarNode && !isMerge(key) {
				d.report(key, field, "mapping key %q already defined at line %d", key.Value, first.Line)
				found = true
			}
			seen[key.Value] = key
			found = d.repeatedKeys(value, field) || found
		}
	case yaml.SequenceNode:
		for i, el := range n.Content {
			found = d.repeatedKeys(el, Index(path, i)) || found
		}
	}
	return found
}

// checkNumber reports numbers yaml.v3 decodes without complaint but a
// configuration must not hold: a fraction in an integer field (which
// yaml.v3 truncates), and a number with a fraction that is not finite or
// beyond MaxMagnitude (.nan, .inf, 1e308), in a float field or anywhere in
// a value of any type (component parameters).
func (d *decoder) checkNumber(n, at *yaml.Node, path string, v reflect.Value) {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if f, ok := floatValue(resolved(n)); ok && (f != math.Trunc(f) || math.IsInf(f, 0)) {
			d.report(at, path, "must be a whole number, got %s", resolved(n).Value)
		}
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); !finite(f) {
			d.report(at, path, "must be a finite number between -%g and %g, got %s", MaxMagnitude, MaxMagnitude, resolved(n).Value)
		}
	case reflect.Interface:
		d.finiteUnder(n, at, path, 0)
	}
}

// finiteUnder reports every float under n that is not finite or beyond
// MaxMagnitude, at its own key. yaml.v3 guards the aliases inside a value
// of any type; depth stops a walk around an alias cycle.
func (d *decoder) finiteUnder(n, at *yaml.Node, path string, depth int) {
	if depth > 100 {
		return
	}
	n = resolved(n)
	switch n.Kind {
	case yaml.ScalarNode:
		if f, ok := floatValue(n); ok && !finite(f) {
			d.report(at, path, "must be a finite number between -%g and %g, got %s", MaxMagnitude, MaxMagnitude, n.Value)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i]
			d.finiteUnder(n.Content[i+1], key, Join(path, key.Value), depth+1)
		}
	case yaml.SequenceNode:
		for i, el := range n.Content {
			d.finiteUnder(el, el, Index(path, i), depth+1)
		}
	}
}

// floatValue is the value of a scalar that YAML resolves to a float.
func floatValue(n *yaml.Node) (float64, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!float" {
		return 0, false
	}
	var f float64
	if err := n.Decode(&f); err != nil {
		return 0, false
	}
	return f, true
}

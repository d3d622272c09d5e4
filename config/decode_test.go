package config

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// shape has one field of every kind the decoder walks.
type shape struct {
	Name   string             `yaml:"name"`
	Count  int                `yaml:"count"`
	Ratio  *float64           `yaml:"ratio"`
	Wait   time.Duration      `yaml:"wait"`
	Tags   []string           `yaml:"tags"`
	Weight map[string]float64 `yaml:"weight"`
	Params map[string]any     `yaml:"params"`
	Parts  []part             `yaml:"parts"`
	Check  checked            `yaml:"check"`
	// Children nest shapes to any depth, as aliases can.
	Children []shape `yaml:"children"`
	Skip     string  `yaml:"-"`
	//lint:ignore U1000 an unexported field the decoder must not fill; the test shows it does not
	hidden int
}

type part struct {
	ID    string `yaml:"id"`
	Level int    `yaml:"level"`
}

// checked decodes itself and refuses anything but "ok".
type checked string

func (c *checked) UnmarshalYAML(n *yaml.Node) error {
	if n.Value != "ok" {
		return errors.New(`want "ok"`)
	}
	*c = checked(n.Value)
	return nil
}

func TestParseDecodesLikeYAMLv3(t *testing.T) {
	input := `name: demo
count: 3
ratio: 0.5
wait: 2s
tags: [a, b]
weight: {x: 1, y: 2.5}
params: {k: 3, inner: {lambda: 0.2}}
base: &base {level: 2}
parts:
  - id: p
    <<: *base
  - <<: *base
    id: q
    level: 4
check: ok
`
	// base is not a field of shape: strip it for yaml.v3's reference decode
	// and expect it as the one unknown field.
	var got shape
	doc := Parse("s.yaml", []byte(input), &got)
	errs := doc.Errors()
	if len(errs) != 1 || errs[0].Error() != "s.yaml:8:1: base: unknown field" {
		t.Fatalf("errors %v", errs)
	}
	var want shape
	if err := yaml.Unmarshal([]byte(input), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n%+v\nyaml.v3 decodes\n%+v", got, want)
	}
	if got.Parts[0].Level != 2 || got.Parts[1].Level != 4 || got.Params["inner"].(map[string]any)["lambda"] != 0.2 {
		t.Errorf("merges or nested parameters decoded wrongly: %+v", got)
	}
}

func TestParseLocatesEveryProblem(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{"wrong scalar type", "count: many\n", []string{"s.yaml:1:1: count: cannot unmarshal !!str `many` into int"}},
		{"long value shortened as yaml.v3 does", "count: a-very-long-word\n",
			[]string{"s.yaml:1:1: count: cannot unmarshal !!str `a-very-...` into int"}},
		{"mapping for a scalar", "name: {a: 1}\n", []string{"s.yaml:1:1: name: cannot unmarshal !!map into string"}},
		{"scalar for a mapping", "weight: 3\n", []string{"s.yaml:1:1: weight: cannot unmarshal !!int `3` into map[string]float64"}},
		{"scalar for a list", "parts: none\n", []string{"s.yaml:1:1: parts: cannot unmarshal !!str `none` into []config.part"}},
		{"every bad element", "tags: [a, [b]]\nweight:\n  x: heavy\n  y: 2\nparts:\n  - {id: p, level: high}\n  - {id: q, colour: red}\n",
			[]string{
				"s.yaml:1:11: tags[1]: cannot unmarshal !!seq into string",
				"s.yaml:3:3: weight.x: cannot unmarshal !!str `heavy` into float64",
				"s.yaml:6:13: parts[0].level: cannot unmarshal !!str `high` into int",
				"s.yaml:7:13: parts[1].colour: unknown field",
			}},
		{"bad duration", "wait: soon\n", []string{"s.yaml:1:1: wait: cannot unmarshal !!str `soon` into time.Duration"}},
		{"a type that decodes itself", "check: nope\n", []string{`s.yaml:1:1: check: want "ok"`}},
		{"tagged field names only", "skip: x\nhidden: 1\n", []string{"s.yaml:1:1: skip: unknown field", "s.yaml:2:1: hidden: unknown field"}},
		{"repeated key", "name: a\ncount: 1\nname: b\n", []string{`s.yaml:3:1: name: mapping key "name" already defined at line 1`}},
		{"repeated parameter", "params:\n  k: 1\n  inner: {a: 1, a: 2}\n", []string{`s.yaml:3:17: params.inner.a: mapping key "a" already defined at line 3`}},
		{"merge of a scalar", "parts:\n  - <<: 3\n", []string{"s.yaml:2:5: parts[0]: a merge (<<) takes a mapping or a sequence of mappings"}},
		{"top level of the wrong kind", "- a\n", []string{"s.yaml:1:1: cannot unmarshal !!seq into config.shape"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s shape
			errs := Parse("s.yaml", []byte(tt.input), &s).Errors()
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestParseStopsRunawayAliases(t *testing.T) {
	// Each level holds the one before nine times: 9⁸ shapes at the last.
	var b strings.Builder
	b.WriteString("children:\n  - &l0 {name: x}\n")
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&b, "  - &l%d {children: [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]}\n", i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	var s shape
	errs := Parse("s.yaml", []byte(b.String()), &s).Errors()
	if len(errs) != 1 || !strings.Contains(errs.Error(), "too many values through its aliases") {
		t.Errorf("errors %v", errs)
	}

	// An anchor that contains itself, by alias and by merge.
	for _, tt := range []struct{ input, want string }{
		{"children:\n  - &p {children: [*p]}\n", `s.yaml:2:20: children[0].children[0]: anchor "p" refers to itself`},
		{"parts:\n  - &p {id: a, <<: *p}\n", "s.yaml:2:16: parts[0]: a merge (<<) takes in the mapping it is part of"},
	} {
		var s shape
		if errs := Parse("s.yaml", []byte(tt.input), &s).Errors(); errs.Error() != tt.want {
			t.Errorf("%q: got %v, want %s", tt.input, errs, tt.want)
		}
	}
}

func TestSyntaxErrorIsYAMLv3sOwn(t *testing.T) {
	var s shape
	errs := Parse("bad.yaml", []byte("name: [unclosed\n"), &s).Errors()
	if len(errs) != 1 || errs[0].Error() != "bad.yaml: yaml: line 1: did not find expected ',' or ']'" {
		t.Errorf("errors %v", errs)
	}
}

// FuzzParse checks the decoder against yaml.v3's own: a document yaml.v3
// decodes strictly without an error decodes here to the same value without
// an error, and no document makes the decoder panic. The one difference on
// purpose: yaml.v3 skips a null key (~: 1) of a struct without a word;
// here it is an unknown field.
func FuzzParse(f *testing.F) {
	f.Add([]byte("name: demo\ncount: 3\nparts: [{id: a, level: 1}]\nparams: {k: 1}\n"))
	f.Add([]byte("base: &b {level: 2}\nparts: [{<<: *b, id: x}]\n"))
	f.Add([]byte("children: [&c {name: a}, {children: [*c, *c]}]\nweight: {x: 1}\n"))
	f.Add([]byte("ratio: ~\ntags: ~\nwait: 1s\ncheck: ok\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var got shape
		doc := Parse("f.yaml", data, &got)
		var want shape
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&want); err != nil || doc.Root == nil || hasNullKey(doc.Root) {
			return
		}
		if errs := doc.Errors(); len(errs) > 0 {
			t.Fatalf("yaml.v3 decodes %q, Parse reports %v", data, errs)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: decoded\n%+v\nyaml.v3 decodes\n%+v", data, got, want)
		}
	})
}

func hasNullKey(n *yaml.Node) bool {
	for i, c := range n.Content {
		if n.Kind == yaml.MappingNode && i%2 == 0 && c.ShortTag() == "!!null" || hasNullKey(c) {
			return true
		}
	}
	return false
}

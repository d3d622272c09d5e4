package llm

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

type testInner struct {
	Score int    `json:"score"`
	Note  string `json:"note,omitempty"`
}

type testAnswer struct {
	Choice  int         `json:"choice"`
	Reason  string      `json:"reason"`
	Mood    string      `json:"mood" enum:"happy,bored"`
	Weight  float64     `json:"weight"`
	Done    bool        `json:"done"`
	Tags    []string    `json:"tags"`
	Details []testInner `json:"details"`
}

func testSchema(t testing.TB) *Schema {
	t.Helper()
	s, err := SchemaFor[testAnswer]("answer")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSchemaForIsStrict(t *testing.T) {
	s := testSchema(t)
	var root map[string]any
	if err := json.Unmarshal(s.JSON, &root); err != nil {
		t.Fatal(err)
	}
	if root["type"] != "object" || root["additionalProperties"] != false {
		t.Errorf("root = %v, want a closed object", root)
	}
	req, _ := root["required"].([]any)
	if len(req) != 7 {
		t.Errorf("required = %v, want all 7 fields", req)
	}
	if s.Name != "answer" {
		t.Errorf("name = %q", s.Name)
	}
}

func TestValidate(t *testing.T) {
	s := testSchema(t)
	const ok = `{"choice":2,"reason":"r","mood":"happy","weight":0.5,"done":true,"tags":["a"],"details":[{"score":1}]}`
	tests := []struct {
		name, doc string
		wantErr   string // substring; empty means valid
	}{
		{"valid", ok, ""},
		{"integer written as 2.0", strings.Replace(ok, `"choice":2`, `"choice":2.0`, 1), "$.choice: expected integer"},
		{"number out of range", strings.Replace(ok, `"weight":0.5`, `"weight":1e400`, 1), "$.weight: expected number"},
		{"optional nested field present", strings.Replace(ok, `{"score":1}`, `{"score":1,"note":"n"}`, 1), ""},
		{"missing required", strings.Replace(ok, `"choice":2,`, ``, 1), `missing required property "choice"`},
		{"extra property", strings.Replace(ok, `"done":true`, `"done":true,"x":1`, 1), `$: property "x" is not allowed`},
		{"extra properties", strings.Replace(ok, `"done":true`, `"done":true,"x":1,"a":2`, 1), `$: properties "a", "x" are not allowed`},
		// The first violation by path, whatever order the validator found them in.
		{"first of several", `{"weight":"w","choice":"c","reason":"r","mood":"happy","done":true,"tags":[],"details":[]}`, `$.choice: expected integer, got "c"`},
		{"integer too big for int64", strings.Replace(ok, `"choice":2`, `"choice":9223372036854775808`, 1), "$.choice: expected integer"},
		{"fraction for integer", strings.Replace(ok, `"choice":2`, `"choice":2.5`, 1), "$.choice: expected integer"},
		{"string for number", strings.Replace(ok, `"weight":0.5`, `"weight":"0.5"`, 1), "$.weight: expected number"},
		{"enum", strings.Replace(ok, `"happy"`, `"sad"`, 1), `$.mood: "sad" is not one of`},
		{"array item type", strings.Replace(ok, `["a"]`, `["a",3]`, 1), "$.tags[1]: expected string"},
		{"nested via $ref", strings.Replace(ok, `{"score":1}`, `{"score":"1"}`, 1), "$.details[0].score: expected integer"},
		{"nested missing", strings.Replace(ok, `{"score":1}`, `{}`, 1), `$.details[0]: missing required property "score"`},
		{"bool type", strings.Replace(ok, `"done":true`, `"done":"yes"`, 1), "$.done: expected boolean"},
		{"not an object", `[1]`, "$: expected object"},
		{"null root", `null`, "$: expected object"},
		{"not JSON", `{"choice":`, "not JSON"},
		{"trailing data", ok + ` {}`, "trailing data"},
		{"empty", ``, "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(s, []byte(tt.doc))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("want error containing %q, got valid", tt.wantErr)
			case tt.wantErr != "" && (!strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrSchema)):
				t.Fatalf("error %q, want it to contain %q and wrap ErrSchema", err, tt.wantErr)
			}
		})
	}
}

func TestValidateSchemaFeatures(t *testing.T) {
	tests := []struct {
		name, schema, doc string
		valid             bool
	}{
		{"nullable accepts null", `{"type":"string","nullable":true}`, `null`, true},
		{"not nullable", `{"type":"string"}`, `null`, false},
		{"anyOf second branch", `{"anyOf":[{"type":"string"},{"type":"null"}]}`, `null`, true},
		{"anyOf none", `{"anyOf":[{"type":"string"},{"type":"null"}]}`, `1`, false},
		{"open object", `{"type":"object","properties":{}}`, `{"a":1}`, true},
		{"additionalProperties schema ok", `{"type":"object","additionalProperties":{"type":"integer"}}`, `{"a":1}`, true},
		{"additionalProperties schema bad", `{"type":"object","additionalProperties":{"type":"integer"}}`, `{"a":"x"}`, false},
		{"unresolvable ref", `{"$ref":"#/$defs/Nope"}`, `{}`, false},
		{"self-reference bounded", `{"$ref":"#/$defs/A","$defs":{"A":{"$ref":"#/$defs/A"}}}`, `{}`, false},
		{"unknown type", `{"type":"date"}`, `"x"`, false},
		{"no loading of other documents", `{"$ref":"file:///dev/null"}`, `{}`, false},
		{"nullable through $ref", `{"type":"object","properties":{"a":{"$ref":"#/$defs/A","nullable":true}},"$defs":{"A":{"type":"integer"}}}`, `{"a":null}`, true},
		{"nullable root keeps $defs", `{"$ref":"#/$defs/A","nullable":true,"$defs":{"A":{"type":"integer"}}}`, `null`, true},
		{"nullable enum", `{"type":"string","enum":["a"],"nullable":true}`, `null`, true},
		{"nullable enum other", `{"type":"string","enum":["a"],"nullable":true}`, `"b"`, false},
		{"nullable items", `{"type":"array","items":{"type":"integer","nullable":true}}`, `[1,null]`, true},
		{"not nullable", `{"type":"string","nullable":false}`, `null`, false},
		{"integer in a type list", `{"type":["integer","null"]}`, `2.0`, false},
		{"number in a type list", `{"type":["number","string"]}`, `2.5`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(&Schema{Name: "s", JSON: json.RawMessage(tt.schema)}, []byte(tt.doc))
			if (err == nil) != tt.valid {
				t.Fatalf("valid = %v, want %v (err %v)", err == nil, tt.valid, err)
			}
		})
	}
}

func TestValidateMessages(t *testing.T) {
	tests := []struct{ name, schema, doc, want string }{
		{"nullable reports the other type",
			`{"type":"object","properties":{"a":{"type":"integer","nullable":true}}}`, `{"a":"x"}`,
			`llm: schema violation: $.a: expected integer, got "x"`},
		{"anyOf", `{"anyOf":[{"type":"string"},{"type":"integer"}]}`, `true`,
			`llm: schema violation: $: matches none of the anyOf alternatives`},
		{"object key that looks like an index", `{"type":"object","additionalProperties":{"type":"integer"}}`, `{"0":"x"}`,
			`llm: schema violation: $.0: expected integer, got "x"`},
		{"missing several", `{"type":"object","required":["b","a"]}`, `{}`,
			`llm: schema violation: $: missing required properties "b", "a"`},
		{"indices in numeric order", `{"type":"array","items":{"type":"integer"}}`, `[0,1,2,3,4,5,6,7,8,"nine","ten"]`,
			`llm: schema violation: $[9]: expected integer, got "nine"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(&Schema{Name: "s", JSON: json.RawMessage(tt.schema)}, []byte(tt.doc))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error %v, want %s", err, tt.want)
			}
		})
	}
}

func TestSchemaCacheCompilesOnce(t *testing.T) {
	var c schemaCache
	s := testSchema(t)
	same := &Schema{Name: "other name", JSON: s.JSON}
	first, err := c.compiled(s)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.compiled(same)
	if err != nil || again != first {
		t.Errorf("the same schema text compiled twice (%p, %p, %v)", first, again, err)
	}
	bad := &Schema{Name: "bad", JSON: json.RawMessage(`{"type":"date"}`)}
	for range 2 {
		if _, err := c.compiled(bad); !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), "schema bad") {
			t.Errorf("bad schema: err = %v, want ErrSchema naming the schema", err)
		}
	}
}

func TestSchemaCacheConcurrent(t *testing.T) {
	var c schemaCache
	s := testSchema(t)
	const ok = `{"choice":2,"reason":"r","mood":"happy","weight":0.5,"done":true,"tags":["a"],"details":[{"score":1}]}`
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			doc := ok
			if i%2 == 1 {
				doc = strings.Replace(ok, `"happy"`, `"sad"`, 1)
			}
			errs[i] = c.validate(s, []byte(doc))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if (err == nil) != (i%2 == 0) {
			t.Errorf("goroutine %d: err = %v", i, err)
		}
	}
}

func TestExtractJSON(t *testing.T) {
	tests := []struct{ in, want string }{
		{` {"a":1} `, `{"a":1}`},
		{"```json\n{\"a\":1}\n```", `{"a":1}`},
		{"```\n{\"a\":1}```", `{"a":1}`},
		{`plain`, `plain`},
	}
	for _, tt := range tests {
		if got := extractJSON(tt.in); got != tt.want {
			t.Errorf("extractJSON(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzValidate(f *testing.F) {
	s := testSchema(f)
	f.Add([]byte(`{"choice":2,"reason":"r","mood":"happy","weight":0.5,"done":true,"tags":["a"],"details":[{"score":1}]}`))
	f.Add([]byte(`{"choice":1e400}`))
	f.Add([]byte(`[[[[[]]]]]`))
	f.Add([]byte(`{"details":[{"score":-0}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		err := Validate(s, doc)
		if err == nil {
			var v testAnswer
			if uerr := json.Unmarshal(doc, &v); uerr != nil {
				t.Fatalf("valid by schema but does not decode into the type: %v", uerr)
			}
		} else if !errors.Is(err, ErrSchema) {
			t.Fatalf("error %v does not wrap ErrSchema", err)
		}
		// The repair prompt quotes the message: it must not depend on the
		// order the validator happened to walk the document in.
		if again := Validate(s, doc); fmt.Sprint(again) != fmt.Sprint(err) {
			t.Fatalf("second validation says %v, first said %v", again, err)
		}
	})
}

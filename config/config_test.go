package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

type sample struct {
	Name  string `yaml:"name"`
	Items []struct {
		ID    string  `yaml:"id"`
		Level float64 `yaml:"level"`
	} `yaml:"items"`
}

const sampleYAML = `name: demo
items:
  - id: a
    level: 0.5
  - id: b
    levl: 2
    colour: red
`

func TestParseReportsEveryUnknownFieldWithItsPlace(t *testing.T) {
	var s sample
	doc := Parse("s.yaml", []byte(sampleYAML), &s)
	got := doc.Errors().Err()
	if !errors.Is(got, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", got)
	}
	want := "s.yaml:6:5: items[1].levl: unknown field\ns.yaml:7:5: items[1].colour: unknown field"
	if got.Error() != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if s.Items[0].Level != 0.5 || s.Items[1].ID != "b" {
		t.Errorf("decoding stopped early: %+v", s)
	}
}

func TestAddLocatesDottedPaths(t *testing.T) {
	var s sample
	doc := Parse("s.yaml", []byte(sampleYAML), &s)
	doc.Add("items[0].level", "too low")
	doc.Add("items[1].missing", "falls back to the parent")
	doc.Add("nowhere.at.all", "falls back to the root")
	errs := doc.Errors()
	for i, want := range map[int]string{2: "s.yaml:4:5: items[0].level: too low", 3: "s.yaml:5:5: items[1].missing: falls back to the parent", 4: "s.yaml:1:1: nowhere.at.all: falls back to the root"} {
		if got := errs[i].Error(); got != want {
			t.Errorf("error %d = %q, want %q", i, got, want)
		}
	}
}

func TestSyntaxErrorHasALine(t *testing.T) {
	var s sample
	doc := Parse("bad.yaml", []byte("name: [unclosed\n"), &s)
	if doc.Root != nil || len(doc.Errors()) != 1 || !strings.HasPrefix(doc.Errors()[0].Error(), "bad.yaml:") {
		t.Fatalf("errors: %v", doc.Errors())
	}
	if doc := Parse("empty.yaml", nil, &s); doc.Errors().Err() == nil {
		t.Error("an empty file is accepted")
	}
}

func TestErrDropsRepeatsAtTheSameSpot(t *testing.T) {
	errs := Errors{
		{File: "b.yaml", Line: 3, Field: "x", Msg: "one"},
		{File: "a.yaml", Line: 9, Field: "y", Msg: "first"},
		{File: "a.yaml", Line: 9, Field: "y", Msg: "same spot"},
		{File: "a.yaml", Line: 2, Field: "z", Msg: "two"},
	}
	got := As(errs.Err())
	if len(got) != 3 || got[0].Line != 2 || got[1].Msg != "first" || got[2].File != "b.yaml" {
		t.Fatalf("got %v", got)
	}
	if (Errors{}).Err() != nil {
		t.Error("no errors is not nil")
	}
}

func TestSpecResolve(t *testing.T) {
	spec := Spec{Name: "thing", Params: []Param{
		{Name: "rate", Kind: Float, Default: 0.5, Min: AtLeast(0), Max: AtMost(1)},
		{Name: "k", Kind: Int, Default: 3, Min: AtLeast(1)},
		{Name: "mode", Kind: String, Default: "a", Enum: []string{"a", "b"}},
		{Name: "on", Kind: Bool, Default: true},
		{Name: "wait", Kind: Duration, Default: time.Second},
	}}
	p, errs := spec.Resolve(nil, "params", map[string]any{"rate": 1, "k": 4.0, "wait": "250ms"})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	r := p.Reader("thing")
	if r.Float("rate") != 1 || r.Int("k") != 4 || r.String("mode") != "a" || !r.Bool("on") || r.Duration("wait") != 250*time.Millisecond || r.Err() != nil {
		t.Errorf("resolved %v (%v)", p, r.Err())
	}
	_, errs = spec.Resolve(nil, "params", map[string]any{"rate": 1.5, "k": 2.5, "mode": "c", "on": "yes", "wait": "soon", "extra": 1})
	want := []string{
		"params.rate: must be between 0 and 1, got 1.5",
		"params.k: must be a whole number, got 2.5",
		`params.mode: must be one of a, b, got "c"`,
		"params.on: must be true or false, got yes",
		`params.wait: must be a duration such as 500ms or 2s, got "soon"`,
		`params.extra: unknown parameter for "thing" (known: rate, k, mode, on, wait)`,
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors: %v", len(errs), errs)
	}
	for i, w := range want {
		if errs[i].Error() != w {
			t.Errorf("error %d = %q, want %q", i, errs[i], w)
		}
	}
	if md := spec.Markdown(); !strings.Contains(md, "| `rate` | float | `0.5` | 0 to 1 |") {
		t.Errorf("markdown:\n%s", md)
	}
}

func TestRegistry(t *testing.T) {
	r := NewRegistry[func() int]("widget")
	r.Register(Spec{Name: "b"}, func() int { return 2 })
	r.Register(Spec{Name: "a", Summary: "first"}, func() int { return 1 })
	if got := r.Names(); len(got) != 2 || got[0] != "a" {
		t.Fatalf("names %v", got)
	}
	if spec, f, ok := r.Factory("a"); !ok || spec.Summary != "first" || f() != 1 {
		t.Fatal("factory a")
	}
	if _, ok := r.Lookup("c"); ok {
		t.Fatal("found an unregistered name")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a duplicate registration did not panic")
		}
	}()
	r.Register(Spec{Name: "a"}, nil)
}

func TestParamReaderReportsEveryBadRead(t *testing.T) {
	p := Params{"k": 3, "rate": 0.5, "inner": Params{"window": 7}}
	r := p.Reader("thing")
	if k, inner := r.Int("k"), r.Params("inner"); k != 3 || inner["window"] != 7 {
		t.Fatalf("k %d, inner %v", k, inner)
	}
	if r.Err() != nil {
		t.Fatalf("good reads failed: %v", r.Err())
	}
	// A misspelt name and a wrong type both give the zero value and an
	// error naming the parameter and the component; neither stops the
	// reads after it.
	if got := r.Int("kk"); got != 0 {
		t.Errorf("misspelt name read %d", got)
	}
	if got := r.Int("rate"); got != 0 {
		t.Errorf("float read as int gave %d", got)
	}
	if got := r.Float("rate"); got != 0.5 {
		t.Errorf("rate %v after failed reads", got)
	}
	err := r.Err()
	if !errors.Is(err, ErrParam) || errors.Is(err, ErrInvalid) {
		t.Fatalf("err %v: want ErrParam and not ErrInvalid", err)
	}
	want := "config: parameter \"kk\" of thing: no such parameter (it has inner, k, rate)\n" +
		"config: parameter \"rate\" of thing: holds float64 0.5, want int"
	if err.Error() != want {
		t.Errorf("got\n%s\nwant\n%s", err, want)
	}
}

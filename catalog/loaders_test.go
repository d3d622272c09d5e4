package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/recloop/recloop/config"
)

// fixtureItems is what every catalog.* fixture holds, after normalisation.
var fixtureItems = []Item{
	{
		ID: "m1", Title: "Space Cowboys, Redux",
		Categories: []string{"sci-fi", "western"}, Tags: []string{"space", "frontier"},
		Description: "Old pilots fly once more.", Popularity: 30,
		Embedding:  []float32{1, 0},
		Attributes: map[string]any{"year": 2000, "studio": "Malpaso"},
	},
	{
		ID: "m2", Title: "Heist Night",
		Categories: []string{"crime"}, Tags: []string{"heist", "noir"},
		Popularity: 10, Embedding: []float32{0.6, 0.8},
		Attributes: map[string]any{"year": 1999},
	},
	{
		ID: "m3", Title: "Tomorrow's Robot",
		Categories: []string{"sci-fi"}, Tags: []string{"robots"},
		ReleaseRound: 3, New: true, Embedding: []float32{0, 1},
		Attributes: map[string]any{"studio": "Nova"},
	},
}

func TestLoadEveryFormat(t *testing.T) {
	for _, name := range []string{"catalog.yaml", "catalog.json", "catalog_object.json", "catalog.jsonl", "catalog.csv"} {
		t.Run(name, func(t *testing.T) {
			c, err := Load(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Items(), fixtureItems) {
				t.Errorf("items =\n%#v\nwant\n%#v", c.Items(), fixtureItems)
			}
			// p = 30/40, 10/40 and, for the zero prior, 5/45 after renormalising:
			// priors 30, 10, 5 → sum 45.
			for i, want := range []float64{30.0 / 45, 10.0 / 45, 5.0 / 45} {
				if got := c.PopularityShare(i); !approxEqual(got, want) {
					t.Errorf("p(%d) = %v, want %v", i, got, want)
				}
			}
		})
	}
}

func approxEqual(a, b float64) bool { return a-b < 1e-12 && b-a < 1e-12 }

func TestLoadReportsEveryBadRecord(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"bad.yaml", []string{
			"testdata/bad.yaml:3:5: items[0].popularity: must be a finite number ≥ 0, got -1",
			"testdata/bad.yaml:4:5: items[1].id: is required",
			`testdata/bad.yaml:5:5: items[2].id: "a" is used more than once (first at line 2)`,
			"testdata/bad.yaml:6:5: items[2].colour: unknown field",
			"testdata/bad.yaml:8:5: items[3].release_round: must be ≥ 0, got -2",
			"testdata/bad.yaml:9:5: items[3].popularity: cannot unmarshal !!str `lots` into float64",
			"testdata/bad.yaml:12:5: items[4].embedding: has 2 dimensions, but the one at line 7 has 3",
		}},
		{"bad.json", []string{
			"testdata/bad.json:3: items[0].popularity: must be a finite number ≥ 0, got -1",
			"testdata/bad.json:4: items[1].id: is required",
			`testdata/bad.json:6: items[2].id: "a" is used more than once (first at line 3)`,
			"testdata/bad.json:7: items[2].colour: unknown field",
			"testdata/bad.json:9: items[3].release_round: must be ≥ 0, got -2",
			"testdata/bad.json:10: items[3].popularity: must be a number, not a JSON string",
			"testdata/bad.json:12: items[5].embedding: has 3 dimensions, but the one at line 11 has 2",
			`testdata/bad.json:14: version: unknown field (a catalog object has only "items")`,
		}},
		{"bad.jsonl", []string{
			"testdata/bad.jsonl:1: popularity: must be a finite number ≥ 0, got -1",
			"testdata/bad.jsonl:2: id: is required",
			"testdata/bad.jsonl:3: colour: unknown field",
			`testdata/bad.jsonl:3: id: "a" is used more than once (first at line 1)`,
			"testdata/bad.jsonl:4: popularity: must be a number, not a JSON string",
			"testdata/bad.jsonl:4: release_round: must be ≥ 0, got -2",
			"testdata/bad.jsonl:6: invalid JSON: invalid character 'o' in literal null (expecting 'u')",
			"testdata/bad.jsonl:7: unexpected data after the JSON object",
		}},
		{"bad.csv", []string{
			"testdata/bad.csv:2: popularity: must be a finite number ≥ 0, got -1",
			"testdata/bad.csv:3: id: is required",
			`testdata/bad.csv:4: id: "a" is used more than once (first at line 2)`,
			`testdata/bad.csv:5: popularity: "lots" is not a number`,
			`testdata/bad.csv:5: new: "maybe" is not true or false`,
			`testdata/bad.csv:5: embedding: value 1 ("x") is not a number`,
			"testdata/bad.csv:5: release_round: must be ≥ 0, got -2",
			`testdata/bad.csv:7: invalid CSV: extraneous or missing " in quoted-field`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := Load(filepath.Join("testdata", tt.file))
			assertErrorLines(t, err, tt.want)
		})
	}
}

func assertErrorLines(t *testing.T, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("errors =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, config.ErrInvalid) {
		t.Errorf("%v does not match ErrInvalid", err)
	}
}

func TestLoadSmallCases(t *testing.T) {
	tests := []struct {
		name, file, data string
		want             []string // error lines; nil means it loads
	}{
		{"yaml without items", "x.yaml", "items: []\n", []string{"x.yaml: the file has no items"}},
		{"yaml unknown top-level field", "x.yaml", "items:\n  - id: a\nversion: 2\n", []string{"x.yaml:3:1: version: unknown field"}},
		{"yaml syntax", "x.yaml", "items:\n\t- id: a\n", []string{"x.yaml: yaml: line 2: found character that cannot start any token"}},
		{"yaml one-line item", "x.yaml", "items:\n  - {id: a, popularity: x}\n", []string{"x.yaml:2:13: items[0].popularity: cannot unmarshal !!str `x` into float64"}},
		{"json empty", "x.json", "", []string{"x.json:1: invalid JSON: unexpected end of file"}},
		{"json scalar", "x.json", "42", []string{`x.json:1: a JSON catalog is an array of items or an object {"items": [...]}`}},
		{"json items not a list", "x.json", `{"items": 3}`, []string{"x.json:1: items: must be an array of items"}},
		{"json item not an object", "x.json", "[\n  {\"id\": \"a\"},\n  7\n]", []string{"x.json:3: items[1]: must be an object, not a JSON number"}},
		{"json trailing data", "x.json", `[{"id": "a"}] []`, []string{"x.json:1: unexpected data after the catalog"}},
		{"json truncated", "x.json", "[\n{\"id\": \"a\"},\n", []string{"x.json:3: invalid JSON: unexpected end of file"}},
		{"json attribute numbers", "x.json", `[{"id": "a", "attributes": {"n": 3, "f": 2.5, "l": [1, 1.5], "m": {"k": 2}}}]`, nil},
		{"jsonl not an object", "x.jsonl", "[1]\n", []string{"x.jsonl:1: must be an object, not a JSON array"}},
		{"jsonl id of the wrong type", "x.jsonl", `{"id": 5}`, []string{"x.jsonl:1: id: must be a string, not a JSON number"}},
		{"jsonl list of the wrong type", "x.jsonl", `{"id": "a", "tags": [1]}`, []string{"x.jsonl:1: tags: must be a string, not a JSON number"}},
		{"jsonl only blank lines", "x.jsonl", "\n\n", []string{"x.jsonl: the file has no items"}},
		{"csv empty", "x.csv", "", []string{"x.csv:1: the file is empty; the first row must be a header"}},
		{"csv without id column", "x.csv", "title,year\nA,1\n", []string{"x.csv:1: the header has no id column (want id,title,categories,tags,description,popularity,release_round,new,embedding, plus any attribute columns)"}},
		{"csv repeated column", "x.csv", "id,ID,year\na,b,1\n", []string{"x.csv:1: ID: column 2 repeats column 1 (id)"}},
		{"csv unnamed column", "x.csv", "id,,year\na,b,1\n", []string{"x.csv:1: column 2 has no name"}},
		{"csv short row", "x.csv", "id,title\na,A\nb\n", []string{"x.csv:3: the row has 1 cells, the header has 2"}},
		{"csv header only", "x.csv", "id,title\n", []string{"x.csv: the file has no items"}},
		{"unknown extension", "x.txt", "", []string{"catalog: unsupported file format: x.txt (want .yaml, .yml, .json, .jsonl or .csv)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tt.file)
			if err := os.WriteFile(path, []byte(tt.data), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			got := strings.Split(strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""), "\n")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestJSONAttributesMatchYAML(t *testing.T) {
	items, err := parseJSONItems("x.json", []byte(`[{"id": "a", "attributes": {"n": 3, "f": 2.5, "l": [1, 1.5], "m": {"k": 2}}}]`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"n": 3, "f": 2.5, "l": []any{1, 1.5}, "m": map[string]any{"k": 2}}
	if !reflect.DeepEqual(items[0].Attributes, want) {
		t.Errorf("attributes = %#v, want %#v", items[0].Attributes, want)
	}
}

func TestCSVAttributeTypes(t *testing.T) {
	tests := []struct {
		cell string
		want any
	}{
		{"1995", 1995},
		{"-3", -3},
		{"2.5", 2.5},
		{"1e3", 1000.0},
		{"true", true},
		{"FALSE", false},
		{"NaN", "NaN"},
		{"Inf", "Inf"},
		{"Malpaso", "Malpaso"},
	}
	for _, tt := range tests {
		if got := inferAttribute(tt.cell); got != tt.want {
			t.Errorf("inferAttribute(%q) = %#v, want %#v", tt.cell, got, tt.want)
		}
	}
}

func TestLoadCapsTheProblemList(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,popularity\n")
	for i := range 60 {
		fmt.Fprintf(&b, "i%d,-1\n", i)
	}
	_, err := parseCSVItems("many.csv", strings.NewReader(b.String()))
	errs := config.As(err)
	if len(errs) != maxProblems+1 {
		t.Fatalf("got %d errors, want %d", len(errs), maxProblems+1)
	}
	if got, want := errs[maxProblems-1].Error(), "many.csv:51: popularity: must be a finite number ≥ 0, got -1"; got != want {
		t.Errorf("50th error = %q, want %q", got, want)
	}
	if got, want := errs[maxProblems].Error(), "many.csv: … and 10 more problems"; got != want {
		t.Errorf("last error = %q, want %q", got, want)
	}
}

func TestJSONLLineTooLong(t *testing.T) {
	line := `{"id": "a", "description": "` + strings.Repeat("x", maxLineBytes) + `"}`
	_, err := parseJSONLItems("long.jsonl", strings.NewReader("{\"id\": \"b\"}\n"+line+"\n"))
	if err == nil || err.Error() != "long.jsonl:2: line is longer than 64 MiB" {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want ErrNotExist", err)
	}
}

var wantInteractions = []Interaction{
	{User: "u1", Item: "i1", Rating: 5, Timestamp: 100},
	{User: "u1", Item: "i2", Rating: 0, Timestamp: 100},
	{User: "u2", Item: "i1", Rating: 4, Timestamp: 200},
}

func TestLoadInteractions(t *testing.T) {
	for _, name := range []string{"interactions.csv", "interactions.jsonl"} {
		t.Run(name, func(t *testing.T) {
			got, err := LoadInteractions(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, wantInteractions) {
				t.Errorf("got %v, want %v", got, wantInteractions)
			}
		})
	}
}

func TestLoadInteractionsErrors(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"bad_interactions.csv", []string{
			"testdata/bad_interactions.csv:2: item: is required",
			`testdata/bad_interactions.csv:3: rating: "x" is not a number`,
			`testdata/bad_interactions.csv:3: timestamp: "y" is not a whole number`,
			"testdata/bad_interactions.csv:3: user: is required",
			"testdata/bad_interactions.csv:4: rating: must be a finite number",
		}},
		{"bad_interactions.jsonl", []string{
			"testdata/bad_interactions.jsonl:1: stars: unknown field",
			"testdata/bad_interactions.jsonl:2: user: must be a string, not a JSON number",
			"testdata/bad_interactions.jsonl:3: item: is required",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := LoadInteractions(filepath.Join("testdata", tt.file))
			assertErrorLines(t, err, tt.want)
		})
	}
	if _, err := LoadInteractions("x.yaml"); !errors.Is(err, ErrFormat) {
		t.Errorf("LoadInteractions(x.yaml) = %v, want ErrFormat", err)
	}
	_, err := parseCSVInteractions("h.csv", strings.NewReader("rating,timestamp\n4,1\n"))
	assertErrorLines(t, err, []string{
		"h.csv:1: the header has no user column (want user,item,rating,timestamp)",
		"h.csv:1: the header has no item column (want user,item,rating,timestamp)",
	})
}

func TestInterningSharesStrings(t *testing.T) {
	got, err := parseCSVInteractions("x.csv", strings.NewReader("user,item\nu1,i1\nu1,i2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if unsafe.StringData(got[0].User) != unsafe.StringData(got[1].User) {
		t.Errorf("the two rows hold separate copies of user id %q", got[0].User)
	}
}

// fuzzItemParser seeds f with fixture files and checks that parse never
// panics and that whatever it accepts, New accepts too.
func fuzzItemParser(f *testing.F, fixtures []string, parse func([]byte) ([]Item, error)) {
	for _, name := range fixtures {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		items, err := parse(data)
		if err != nil || len(items) == 0 {
			return
		}
		if _, err := New(items); err != nil {
			t.Fatalf("the parser accepted items New rejects: %v", err)
		}
	})
}

func FuzzCSVCatalog(f *testing.F) {
	f.Add([]byte("id,embedding\na,1|2\nb,3 4\n"))
	f.Add([]byte("id\n\"a\"\"b\"\n"))
	fuzzItemParser(f, []string{"catalog.csv", "bad.csv"}, func(data []byte) ([]Item, error) {
		return parseCSVItems("f.csv", bytes.NewReader(data))
	})
}

func FuzzJSONLCatalog(f *testing.F) {
	f.Add([]byte(`{"id": "a", "attributes": {"x": [1, {"y": 2.5}]}}`))
	fuzzItemParser(f, []string{"catalog.jsonl", "bad.jsonl"}, func(data []byte) ([]Item, error) {
		return parseJSONLItems("f.jsonl", bytes.NewReader(data))
	})
}

func FuzzJSONCatalog(f *testing.F) {
	fuzzItemParser(f, []string{"catalog.json", "catalog_object.json", "bad.json"}, func(data []byte) ([]Item, error) {
		return parseJSONItems("f.json", data)
	})
}

func FuzzYAMLCatalog(f *testing.F) {
	fuzzItemParser(f, []string{"catalog.yaml", "bad.yaml"}, func(data []byte) ([]Item, error) {
		return parseYAMLItems("f.yaml", data)
	})
}

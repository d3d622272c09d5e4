package judges

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestDefaultRubric(t *testing.T) {
	r := DefaultRubric()
	var names []string
	for _, d := range r.Dimensions {
		names = append(names, d.Name)
		if len(d.Anchors) != 5 || d.Description == "" {
			t.Errorf("%s: %d anchors, description %q", d.Name, len(d.Anchors), d.Description)
		}
	}
	if want := []string{Relevance, Specificity, Faithfulness, Helpfulness}; !reflect.DeepEqual(names, want) {
		t.Errorf("dimensions %v, want %v", names, want)
	}
	r.Dimensions[0].Anchors[1] = "changed"
	r.Dimensions[1].Name = "changed"
	if again := DefaultRubric(); again.Dimensions[0].Anchors[1] == "changed" || again.Dimensions[1].Name == "changed" {
		t.Error("a caller changed the default rubric")
	}
}

const overrideYAML = `name: strict
dimensions:
  - name: faithfulness
    description: Zero tolerance.
    anchors: {1: any invented claim, 2: b, 3: c, 4: d, 5: nothing invented}
  - name: tone
    description: Is it friendly?
    anchors: {1: rude, 2: curt, 3: neutral, 4: warm, 5: delightful}
`

func TestParseRubricAndMerge(t *testing.T) {
	o, errs := ParseRubric("strict.yaml", []byte(overrideYAML))
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	m := DefaultRubric().Merge(o)
	var names []string
	for _, d := range m.Dimensions {
		names = append(names, d.Name)
	}
	// Base order, faithfulness replaced in place, then the new tone.
	if want := []string{Relevance, Specificity, Faithfulness, Helpfulness, "tone"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("merged %v, want %v", names, want)
	}
	if m.Name != "strict" || m.Dimensions[2].Anchors[1] != "any invented claim" || m.Dimensions[4].Anchors[5] != "delightful" {
		t.Errorf("merged %+v", m)
	}
	if DefaultRubric().Dimensions[2].Description == "Zero tolerance." {
		t.Error("merge changed the base")
	}
	if kept := DefaultRubric().Merge(Rubric{}); kept.Name != "default" || len(kept.Dimensions) != 4 {
		t.Errorf("merging nothing: %+v", kept)
	}
}

func TestParseRubricErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"unknown field", "dimensions:\n  - name: a\n    description: d\n    anchor: {}\n",
			// The misspelt anchors are also reported missing: all problems at once.
			[]string{"r.yaml:2:5: dimensions[0].anchors: missing anchor(s) 1, 2, 3, 4, 5", "r.yaml:4:5: dimensions[0].anchor: unknown field"}},
		{"no dimensions", "name: x\n", []string{"r.yaml:1:1: dimensions: a rubric needs at least one dimension"}},
		{"bad names and anchors", `dimensions:
  - name: Tone
    description: d
    anchors: {1: a, 2: b, 3: c, 4: d, 5: e}
  - name: tone_2
    description: d
    anchors: {1: a, 2: b, 3: c, 4: d, 5: e}
  - name: ok
    description: ""
    anchors: {1: a, 2: " ", 3: c, 4: d, 5: e, 6: f}
  - name: ok
    description: d
    anchors: {0: a, 1: b}
`, []string{
			`r.yaml:2:5: dimensions[0].name: "Tone" must be lower-case letters and underscores`,
			`r.yaml:5:5: dimensions[1].name: "tone_2" must be lower-case letters and underscores`,
			`r.yaml:9:5: dimensions[2].description: a dimension needs a description`,
			`r.yaml:10:21: dimensions[2].anchors.2: anchor 2 needs a description`,
			`r.yaml:10:47: dimensions[2].anchors.6: anchors are scores 1 to 5, got 6`,
			`r.yaml:11:5: dimensions[3].name: "ok" repeats dimensions[2]`,
			`r.yaml:13:5: dimensions[3].anchors: missing anchor(s) 2, 3, 4, 5`,
			`r.yaml:13:15: dimensions[3].anchors.0: anchors are scores 1 to 5, got 0`,
		}},
		{"anchor not a number", "dimensions:\n  - name: a\n    description: d\n    anchors: {one: a}\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := ParseRubric("r.yaml", []byte(tt.yaml))
			if len(errs) == 0 {
				t.Fatal("accepted")
			}
			if tt.want == nil {
				return
			}
			errs.Sort()
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestLoadRubric(t *testing.T) {
	path := filepath.Join(t.TempDir(), "strict.yaml")
	if err := os.WriteFile(path, []byte(overrideYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	if r, errs := LoadRubric(path); len(errs) != 0 || len(r.Dimensions) != 2 {
		t.Fatalf("%+v %v", r, errs)
	}
	if _, errs := LoadRubric(filepath.Join(t.TempDir(), "missing.yaml")); len(errs) != 1 {
		t.Errorf("missing file: %v", errs)
	}
}

func FuzzParseRubric(f *testing.F) {
	f.Add([]byte(overrideYAML))
	f.Add(defaultRubricYAML)
	f.Add([]byte("dimensions: [{name: a, anchors: {1: x}}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, errs := ParseRubric("f.yaml", data)
		if len(errs) > 0 {
			return
		}
		for _, d := range r.Dimensions {
			if len(d.Anchors) != 5 || !dimensionName.MatchString(d.Name) {
				t.Fatalf("accepted %+v", d)
			}
		}
	})
}

package judges

import (
	"bytes"
	"flag"
	"os"
	"testing"
)

// The flag is not named "update" so that it cannot clash with the golden
// files' flag of this package's other tests.
var updateDocs = flag.Bool("update-docs", false, "rewrite the generated part of docs/judges-grounding.md")

const (
	groundingDocsPath  = "../docs/judges-grounding.md"
	groundingDocsBegin = "<!-- BEGIN GENERATED: go test ./judges -run TestGroundingDocs -update-docs -->\n"
	groundingDocsEnd   = "<!-- END GENERATED -->\n"
)

// TestGroundingDocs keeps the default rubric and the grounding judge's
// parameters in the docs equal to rubrics/default.yaml and the spec.
func TestGroundingDocs(t *testing.T) {
	spec, _ := Lookup(GroundingName)
	gen := "### Parameters\n\n#" + spec.Markdown() + "\n### Default rubric\n\n" + DefaultRubric().Markdown()
	doc, err := os.ReadFile(groundingDocsPath)
	if err != nil {
		t.Fatal(err)
	}
	begin := bytes.Index(doc, []byte(groundingDocsBegin))
	end := bytes.Index(doc, []byte(groundingDocsEnd))
	if begin < 0 || end < begin {
		t.Fatalf("%s lacks the generated-section markers", groundingDocsPath)
	}
	if string(doc[begin+len(groundingDocsBegin):end]) == gen {
		return
	}
	if !*updateDocs {
		t.Fatalf("%s is out of date; run go test ./judges -run TestGroundingDocs -update-docs", groundingDocsPath)
	}
	out := append(append(append([]byte{}, doc[:begin+len(groundingDocsBegin)]...), gen...), doc[end:]...)
	if err := os.WriteFile(groundingDocsPath, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

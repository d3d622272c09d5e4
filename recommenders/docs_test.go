package recommenders

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated part of docs/recommenders.md")

const (
	docsPath   = "../docs/recommenders.md"
	docsBegin  = "<!-- BEGIN GENERATED: go test ./recommenders -run TestDocs -update -->\n"
	docsEnd    = "<!-- END GENERATED -->\n"
	docsHeader = "### Parameters\n\n"
)

// TestDocsParameterTables keeps the parameter tables in the docs equal to
// the specs the code validates YAML with.
func TestDocsParameterTables(t *testing.T) {
	var gen strings.Builder
	gen.WriteString(docsHeader)
	for _, b := range builtins {
		if _, ok := registry.Lookup(b.name); ok {
			gen.WriteString("#" + specOf(t, b.name).Markdown() + "\n")
		}
	}
	for _, name := range Wrappers() {
		spec, _ := LookupWrapper(name)
		gen.WriteString("#" + spec.Markdown() + "\n")
	}
	doc, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	begin := bytes.Index(doc, []byte(docsBegin))
	end := bytes.Index(doc, []byte(docsEnd))
	if begin < 0 || end < begin {
		t.Fatalf("%s lacks the generated-section markers", docsPath)
	}
	current := string(doc[begin+len(docsBegin) : end])
	if current == gen.String() {
		return
	}
	if !*update {
		t.Fatalf("%s is out of date; run go test ./recommenders -run TestDocs -update", docsPath)
	}
	out := append(append(append([]byte{}, doc[:begin+len(docsBegin)]...), gen.String()...), doc[end:]...)
	if err := os.WriteFile(docsPath, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

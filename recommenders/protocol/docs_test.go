package protocol_test

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/recloop/recloop/recommenders/execrec"
	"github.com/recloop/recloop/recommenders/httprec"
)

var update = flag.Bool("update", false, "rewrite the generated adapter section of docs/recommenders.md")

const (
	docsPath  = "../../docs/recommenders.md"
	docsBegin = "<!-- BEGIN GENERATED: go test ./recommenders/protocol -run TestDocs -update -->\n"
	docsEnd   = "<!-- END GENERATED -->\n"
)

// TestDocsAdapterTables keeps the adapters' parameter tables in the docs
// equal to the specs that validate the YAML.
func TestDocsAdapterTables(t *testing.T) {
	var gen strings.Builder
	gen.WriteString("### Adapter parameters\n\n")
	for _, spec := range []string{httprec.Spec.Markdown(), execrec.Spec.Markdown()} {
		gen.WriteString("#" + spec + "\n")
	}
	doc, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	begin := bytes.Index(doc, []byte(docsBegin))
	if begin < 0 {
		t.Fatalf("%s lacks the adapter section's begin marker", docsPath)
	}
	end := bytes.Index(doc[begin:], []byte(docsEnd))
	if end < 0 {
		t.Fatalf("%s lacks the adapter section's end marker", docsPath)
	}
	end += begin
	if string(doc[begin+len(docsBegin):end]) == gen.String() {
		return
	}
	if !*update {
		t.Fatalf("%s is out of date; run go test ./recommenders/protocol -run TestDocs -update", docsPath)
	}
	out := append(append(append([]byte{}, doc[:begin+len(docsBegin)]...), gen.String()...), doc[end:]...)
	if err := os.WriteFile(docsPath, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

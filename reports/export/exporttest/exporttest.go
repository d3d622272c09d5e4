// Package exporttest checks recloop export's output against the JSON
// Schemas published in docs/schemas, for the tests of every package that
// exports.
package exporttest

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// SchemaPath is the published schema of a JSON format's lines.
func SchemaPath(t testing.TB, format string) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("exporttest: cannot locate the module")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "docs", "schemas", "export-"+format+".schema.json")
}

// ValidateLines checks that data is whole lines and that each line is
// valid against the format's schema; it returns the number of lines.
func ValidateLines(t testing.TB, format string, data []byte) int {
	t.Helper()
	path := SchemaPath(t, format)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(path, doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(data) == 0 || data[len(data)-1] != '\n' {
		t.Fatalf("%s output does not end in a whole line", format)
	}
	lines := bytes.Split(data[:len(data)-1], []byte("\n"))
	bad := 0
	for i, line := range lines {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(line))
		if err != nil {
			t.Fatalf("%s line %d is not JSON: %v", format, i+1, err)
		}
		if err := schema.Validate(inst); err != nil {
			if bad++; bad > 3 {
				t.Fatalf("%s: more lines are invalid", format)
			}
			t.Errorf("%s line %d: %.2000v\n%.500s", format, i+1, err, line)
		}
	}
	return len(lines)
}

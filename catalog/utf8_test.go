package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recloop/recloop/config"
)

// TestInvalidUTF8IsLocated: a catalog that is not UTF-8 is an error that
// names the file, the line, and the field or column, whatever its format.
func TestInvalidUTF8IsLocated(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content, want string
	}{
		{"c.yaml", "items:\n  - id: a\n    title: \"caf\xe9\"\n    categories: [drama]\n", "c.yaml:3:16: items[0].title: invalid UTF-8"},
		{"c.json", "[{\"id\": \"a\",\n \"title\": \"caf\xe9\"}]", "c.json:2:15: items[0].title: invalid UTF-8"},
		{"c.jsonl", "{\"id\":\"a\",\"title\":\"ok\"}\n{\"id\":\"b\",\"title\":\"caf\xe9\"}\n", "c.jsonl:2: title: invalid UTF-8"},
		{"d.jsonl", "{\"id\":\"b\",\"title\":\"t\",\"attributes\":{\"studio\":\"caf\xe9\"}}\n", "d.jsonl:1: attributes.studio: invalid UTF-8"},
		{"c.csv", "id,title,category\na,ok,drama\nb,caf\xe9,comedy\n", "c.csv:3: title: invalid UTF-8"},
	} {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path)
		if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestLoadRefusesWhatIsNotARegularFile: /dev/zero (or a FIFO) hung the
// loader; it is refused before it is opened.
func TestLoadRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	zero := filepath.Join(dir, "zero.jsonl")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Skipf("no symlinks: %v", err)
	}
	if _, err := Load(zero); !errors.Is(err, config.ErrNotRegular) {
		t.Errorf("Load(/dev/zero) = %v, want ErrNotRegular", err)
	}
}

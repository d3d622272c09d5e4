package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNumbersAConfigMayNotHold: yaml.v3 truncates a fraction in an
// integer field and decodes .nan, .inf and 1e308 into floats without a
// word; the decoder reports each at its own line and field.
func TestNumbersAConfigMayNotHold(t *testing.T) {
	for _, tc := range []struct {
		yaml, want string
	}{
		{"count: 2.5", "f.yaml:1:1: count: must be a whole number, got 2.5"},
		{"parts:\n  - {level: 1.5}", "f.yaml:2:6: parts[0].level: must be a whole number, got 1.5"},
		{"count: -.inf", "f.yaml:1:1: count: must be a whole number, got -.inf"},
		{"ratio: .nan", "f.yaml:1:1: ratio: must be a finite number between -1e+12 and 1e+12, got .nan"},
		{"ratio: -.inf", "f.yaml:1:1: ratio: must be a finite number"},
		{"weight: {a: 1e308}", "f.yaml:1:10: weight.a: must be a finite number"},
		{"params: {a: {b: [1, .inf]}}", "f.yaml:1:21: params.a.b[1]: must be a finite number"},
		{"params: {a: 1e13}", "f.yaml:1:10: params.a: must be a finite number"},
	} {
		var v shape
		err := Parse("f.yaml", []byte(tc.yaml), &v).Errors().Err()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.yaml, err, tc.want)
		}
	}
	for _, ok := range []string{"count: 2.0", "count: 1e3", "ratio: 1e12", "ratio: -0.5", "weight: {a: 3}", "params: {a: 1.5, b: x, c: .nan_not}", "name: .nan"} {
		var v shape
		if err := Parse("f.yaml", []byte(ok), &v).Errors().Err(); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}

// TestInvalidUTF8Located: the error names the line, the column and the
// field of the first byte that is not UTF-8.
func TestInvalidUTF8Located(t *testing.T) {
	for _, tc := range []struct {
		yaml, want string
	}{
		{"name: caf\xe9", "f.yaml:1:10: name: invalid UTF-8 (byte 0xe9)"},
		{"tags:\n  - ok\n  - \"\xff\"", "f.yaml:3:6: tags[1]: invalid UTF-8 (byte 0xff)"},
		{"parts:\n  - id: x\n    level: 1 # \xc3\x28", "f.yaml:3:16: parts[0].level: invalid UTF-8"},
	} {
		var v shape
		err := Parse("f.yaml", []byte(tc.yaml), &v).Errors().Err()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

func TestReadFileRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.yaml")
	if err := os.WriteFile(small, []byte("name: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if data, err := ReadFile(small, 100); err != nil || string(data) != "name: x\n" {
		t.Fatalf("ReadFile(small) = %q, %v", data, err)
	}
	if _, err := ReadFile(small, 4); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the limit: %v, want ErrTooLarge", err)
	}
	if _, err := ReadFile(dir, 100); !errors.Is(err, ErrNotRegular) {
		t.Errorf("directory: %v, want ErrNotRegular", err)
	}
	if _, err := ReadFile("/dev/zero", 100); err != nil && !errors.Is(err, ErrNotRegular) && !os.IsNotExist(err) {
		t.Errorf("/dev/zero: %v, want ErrNotRegular", err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := mkfifo(fifo); err == nil {
		if _, err := OpenFile(fifo, 100); !errors.Is(err, ErrNotRegular) {
			t.Errorf("FIFO: %v, want ErrNotRegular", err)
		}
	}
	if _, err := ReadFile(filepath.Join(dir, "missing"), 100); !os.IsNotExist(err) {
		t.Errorf("missing: %v, want a not-exist error", err)
	}
}

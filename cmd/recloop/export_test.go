package main

import (
	"bytes"
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recloop/recloop/reports/export/exporttest"
	"github.com/recloop/recloop/runner"
)

const exportScenario = `
name: tiny-export
seed: 3
rounds: 2
slate_size: 3
catalog:
  synthetic: {items: 60}
personas:
  population:
    - {archetype: cinephile, count: 4}
variants:
  - {name: popular, recommender: popular}
  - {name: content, recommender: content}
`

func TestExportCommand(t *testing.T) {
	dir := t.TempDir()
	scenario := writeFile(t, dir, "tiny.yaml", exportScenario)
	run := filepath.Join(dir, "run")
	if code, _, stderr := cli(t, context.Background(), "run", "--quiet", "--out", run, scenario); code != runner.ExitOK {
		t.Fatalf("run: %d %s", code, stderr)
	}
	code, stdout, stderr := cli(t, context.Background(), "export", run, "--to", "segment")
	want := filepath.Join(run, "export", "segment.jsonl")
	if code != runner.ExitOK || !strings.Contains(stdout, "wrote "+want) {
		t.Fatalf("export: exit %d\n%s\n%s", code, stdout, stderr)
	}
	exporttest.ValidateLines(t, "segment", readFile(t, filepath.Dir(want), filepath.Base(want)))

	// A date is its UTC midnight.
	for _, start := range []string{"2026-01-02", "2026-01-02T00:00:00Z"} {
		if code, _, stderr := cli(t, context.Background(), "export", "--to", "mixpanel", "--start", start, "--round-every", "12h", "--out", filepath.Join(dir, start+".ndjson"), run); code != runner.ExitOK {
			t.Fatalf("export --start %s: %d %s", start, code, stderr)
		}
	}
	a, b := readFile(t, dir, "2026-01-02.ndjson"), readFile(t, dir, "2026-01-02T00:00:00Z.ndjson")
	if !bytes.Equal(a, b) || !bytes.Contains(a, []byte(`"time":1767312000000`)) || !bytes.Contains(a, []byte(`"time":1767355200000`)) {
		t.Error("--start as a date and as a time differ, or rounds are not 12h apart from 2026-01-02")
	}
	exporttest.ValidateLines(t, "mixpanel", a)

	before := dirListing(t, run)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"export", run}, "export needs --to (one of amplitude, mixpanel, parquet, segment)"},
		{[]string{"export", run, "--to", "csv"}, `unknown format "csv" (known: amplitude, mixpanel, parquet, segment)`},
		{[]string{"export", run, "--to", "segment", "--start", "yesterday"}, "want an RFC 3339 time"},
		{[]string{"export", run, "--to", "segment", "--round-every", "0s"}, "want a positive duration"},
		{[]string{"export", run, run, "--to", "segment"}, "export takes one run directory"},
		{[]string{"export", dir, "--to", "segment"}, "is not a recloop run directory"},
		{[]string{"export", run, "--to", "mixpanel", "--start", "2999-01-01"}, "Mixpanel /import refuses events after"},
		{[]string{"export", run, "--to", "amplitude", "--start", "1999-12-31"}, "Amplitude refuses events before 2000-01-01"},
	} {
		code, _, stderr := cli(t, context.Background(), tc.args...)
		if code != runner.ExitInvalid || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	if after := dirListing(t, run); after != before {
		t.Errorf("refused exports changed the run directory:\n%s\n%s", before, after)
	}
	if code, _, stderr := cli(t, context.Background(), "export", "-h"); code != runner.ExitOK || !strings.Contains(stderr, "-round-every duration") {
		t.Errorf("export -h: exit %d\n%s", code, stderr)
	}
}

func dirListing(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b.WriteString(path + " " + info.ModTime().String() + " " + info.Mode().String() + "\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

package runner_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/recloop/recloop/reports/export/exporttest"
	"github.com/recloop/recloop/runner"
	"github.com/recloop/recloop/trajectory"
)

const exportScenario = `name: export
seed: 5
rounds: 3
slate_size: 4
catalog:
  synthetic: {items: 80}
personas:
  population:
    - {archetype: cinephile, count: 3}
    - {archetype: scifi-geek, count: 3, segments: [geeks], id_prefix: g}
funnel: [play, complete]
engagement: {search: true}
variants:
  - {name: popular, recommender: popular}
  - {name: itemknn, recommender: itemknn}
`

var (
	exportNow   = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	exportStart = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
)

func exportRun(t *testing.T, dir, name string, opts runner.Options) string {
	t.Helper()
	path := filepath.Join(dir, "export.yaml")
	if err := os.WriteFile(path, []byte(exportScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	opts.Out = filepath.Join(dir, name)
	if _, err := runner.Run(context.Background(), path, opts); err != nil {
		t.Fatalf("run %s: %v", name, err)
	}
	return opts.Out
}

func exportTo(t *testing.T, run, format, out string) []byte {
	t.Helper()
	path, err := runner.Export(context.Background(), run, runner.ExportOptions{Format: format, Out: out, Start: exportStart, Now: func() time.Time { return exportNow }})
	if err != nil {
		t.Fatalf("export %s: %v", format, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// listing names every file of a directory with its size and time, to see
// that a command left it as it was.
func listing(t *testing.T, dir string) string {
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
		fmt.Fprintf(&b, "%s %d %s\n", path, info.Size(), info.ModTime())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var eventID = regexp.MustCompile(`"(?:messageId|insert_id|\$insert_id)":"([0-9a-f]{32})"`)

func TestExportFormats(t *testing.T) {
	dir := t.TempDir()
	run := exportRun(t, dir, "run", runner.Options{})
	before := listing(t, run)
	for _, format := range []string{"segment", "amplitude", "mixpanel"} {
		path, err := runner.Export(context.Background(), run, runner.ExportOptions{Format: format, Now: func() time.Time { return exportNow }})
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if want := filepath.Join(run, "export", format); !strings.HasPrefix(path, want+".") {
			t.Errorf("%s went to %s, want %s.*", format, path, want)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if n := exporttest.ValidateLines(t, format, data); n == 0 {
			t.Errorf("%s: nothing exported", format)
		}
		// The catalog is at hand: products have names.
		if !bytes.Contains(data, []byte(`"category":`)) || !bytes.Contains(data, []byte(`"Product Clicked"`)) {
			t.Errorf("%s lacks named products or clicks", format)
		}
		ids := eventID.FindAllSubmatch(data, -1)
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[string(id[1])] {
				t.Fatalf("%s: event id %s twice: the tool would drop one as a duplicate", format, id[1])
			}
			seen[string(id[1])] = true
		}
		if len(ids) == 0 {
			t.Errorf("%s: no event ids", format)
		}
		if again := exportTo(t, run, format, filepath.Join(dir, format+".again")); !bytes.Equal(again, exportTo(t, run, format, filepath.Join(dir, format+".once"))) {
			t.Errorf("%s: two exports differ", format)
		}
	}
	// Only export/ was added.
	after := listing(t, run)
	if withoutExport(after) != withoutExport(before) {
		t.Errorf("export changed the run directory:\nbefore\n%s\nafter\n%s", before, after)
	}

	// A rerun of the scenario exports the same events, ids included.
	rerun := exportRun(t, dir, "rerun", runner.Options{})
	for _, format := range []string{"segment", "mixpanel"} {
		if a, b := exportTo(t, run, format, filepath.Join(dir, "a."+format)), exportTo(t, rerun, format, filepath.Join(dir, "b."+format)); !bytes.Equal(a, b) {
			t.Errorf("%s: a rerun exports other events", format)
		}
	}

	// Without the scenario, products carry their ids only.
	rec := filepath.Join(rerun, "run.json")
	data, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	var record map[string]any
	if err := json.Unmarshal(data, &record); err != nil {
		t.Fatal(err)
	}
	record["scenario"] = filepath.Join(dir, "gone.yaml")
	data, _ = json.Marshal(record)
	if err := os.WriteFile(rec, data, 0o644); err != nil {
		t.Fatal(err)
	}
	bare := exportTo(t, rerun, "segment", filepath.Join(dir, "bare.jsonl"))
	exporttest.ValidateLines(t, "segment", bare)
	if bytes.Contains(bare, []byte(`"category":`)) || !bytes.Contains(bare, []byte(`"product_id":`)) {
		t.Error("an export without the catalog names products, or has none")
	}
}

// withoutExport is a run directory's listing without export/ and without
// the directory's own line, whose time changes with the new entry.
func withoutExport(listing string) string {
	var keep []string
	for _, line := range strings.SplitAfter(listing, "\n")[1:] {
		if !strings.Contains(line, string(filepath.Separator)+"export") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "")
}

func TestExportOfAMergedRunEqualsTheWholeRun(t *testing.T) {
	dir := t.TempDir()
	whole := exportRun(t, dir, "whole", runner.Options{})
	var shards []string
	for i := 1; i <= 2; i++ {
		shards = append(shards, exportRun(t, dir, fmt.Sprintf("shard%d", i), runner.Options{Shard: &trajectory.Shard{Index: i, Count: 2}}))
	}
	// A shard is refused, and left as it was.
	before := listing(t, shards[0])
	_, err := runner.Export(context.Background(), shards[0], runner.ExportOptions{Format: "segment"})
	if code := runner.ExitCode(err); code != runner.ExitInvalid || !strings.Contains(fmt.Sprint(err), "merge the shards first") {
		t.Errorf("export of a shard: exit %d: %v", code, err)
	}
	if after := listing(t, shards[0]); after != before {
		t.Errorf("a refused export changed the shard:\n%s\n%s", before, after)
	}
	merged := filepath.Join(dir, "merged")
	if _, err := runner.Merge(context.Background(), shards, runner.Options{Out: merged}); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"segment", "amplitude"} {
		a := exportTo(t, whole, format, filepath.Join(dir, "whole."+format))
		b := exportTo(t, merged, format, filepath.Join(dir, "merged."+format))
		if !bytes.Equal(a, b) {
			t.Errorf("%s: the merged run exports other events than the whole run", format)
		}
	}
}

func TestExportRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	run := exportRun(t, dir, "run", runner.Options{})
	partial := filepath.Join(dir, "partial")
	if err := os.MkdirAll(partial, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"run.json", "results.json", "trajectories.jsonl"} {
		data, err := os.ReadFile(filepath.Join(run, name))
		if err != nil {
			t.Fatal(err)
		}
		if name == "trajectories.jsonl" {
			lines := bytes.SplitAfter(bytes.TrimSpace(data), []byte("\n"))
			data = bytes.Join(lines[:len(lines)-1], nil) // no run_end
		}
		if err := os.WriteFile(filepath.Join(partial, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	notRun := t.TempDir()
	now := func() time.Time { return exportNow }
	for _, tc := range []struct {
		name, dir string
		opts      runner.ExportOptions
		want      string
	}{
		{"unknown format", run, runner.ExportOptions{Format: "csv"}, "known: amplitude, mixpanel, parquet, segment"},
		{"partial run", partial, runner.ExportOptions{Format: "segment"}, "partial"},
		{"not a run", notRun, runner.ExportOptions{Format: "segment"}, "not a recloop run directory"},
		{"future start", run, runner.ExportOptions{Format: "mixpanel", Start: exportNow, Now: now}, "Mixpanel /import refuses events after"},
		{"ancient start", run, runner.ExportOptions{Format: "amplitude", Start: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), Now: now}, "Amplitude refuses events before 2000"},
		{"negative round-every", run, runner.ExportOptions{Format: "segment", RoundEvery: -time.Hour}, "must be positive"},
		{"out among the run's files", run, runner.ExportOptions{Format: "segment", Out: filepath.Join(run, "trajectories.jsonl")}, "is inside the run directory"},
	} {
		before := listing(t, tc.dir)
		_, err := runner.Export(context.Background(), tc.dir, tc.opts)
		if code := runner.ExitCode(err); code != runner.ExitInvalid || !strings.Contains(fmt.Sprint(err), tc.want) {
			t.Errorf("%s: exit %d: %v; want exit 2 and %q", tc.name, code, err, tc.want)
		}
		if after := listing(t, tc.dir); after != before {
			t.Errorf("%s changed the directory:\nbefore\n%s\nafter\n%s", tc.name, before, after)
		}
	}
}

func TestDefaultExportStartIsInThePast(t *testing.T) {
	written := time.Date(2026, 12, 3, 15, 4, 5, 0, time.FixedZone("x", 3600))
	start := runner.DefaultExportStart(written, 3*runner.DefaultRoundEvery)
	if want := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC); !start.Equal(want) {
		t.Errorf("start %s, want %s", start, want)
	}
}

// Parquet is a directory of tables, written whole or not at all: a merged
// run's tables are the whole run's, byte for byte, and an --out that holds
// anything but an earlier export's tables is refused and left as it was.
func TestExportParquet(t *testing.T) {
	dir := t.TempDir()
	whole := exportRun(t, dir, "whole", runner.Options{})
	out, err := runner.Export(context.Background(), whole, runner.ExportOptions{Format: "parquet"})
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(whole, "export", "parquet"); out != want {
		t.Errorf("parquet went to %s, want %s", out, want)
	}
	tables, _ := filepath.Glob(filepath.Join(out, "*.parquet"))
	if len(tables) < 4 || !slices.Contains(tables, filepath.Join(out, "tracks.parquet")) {
		t.Fatalf("tables %v", tables)
	}
	// Again into the same directory: an earlier export is replaced.
	if _, err := runner.Export(context.Background(), whole, runner.ExportOptions{Format: "parquet"}); err != nil {
		t.Fatal(err)
	}
	var shards []string
	for i := 1; i <= 2; i++ {
		shards = append(shards, exportRun(t, dir, fmt.Sprintf("shard%d", i), runner.Options{Shard: &trajectory.Shard{Index: i, Count: 2}}))
	}
	merged := filepath.Join(dir, "merged")
	if _, err := runner.Merge(context.Background(), shards, runner.Options{Out: merged}); err != nil {
		t.Fatal(err)
	}
	mergedOut, err := runner.Export(context.Background(), merged, runner.ExportOptions{Format: "parquet", Out: filepath.Join(dir, "merged-parquet")})
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		a, _ := os.ReadFile(table)
		b, err := os.ReadFile(filepath.Join(mergedOut, filepath.Base(table)))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: the merged run's table differs from the whole run's", filepath.Base(table))
		}
	}
	precious := t.TempDir()
	if err := os.WriteFile(filepath.Join(precious, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := listing(t, precious)
	_, err = runner.Export(context.Background(), whole, runner.ExportOptions{Format: "parquet", Out: precious})
	if code := runner.ExitCode(err); code != runner.ExitInvalid || !strings.Contains(fmt.Sprint(err), "notes.txt") {
		t.Errorf("export over another directory: exit %d: %v", code, err)
	}
	if after := listing(t, precious); after != before {
		t.Errorf("a refused export changed the directory:\n%s\n%s", before, after)
	}
}

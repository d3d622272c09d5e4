package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/runner"
)

// hostileDir holds the hostile corpus of issue 15: one scenario per case,
// each naming, in "# want:" lines, what validate must say (or "ok" for a
// case validate accepts, which must then run to completion).
const hostileDir = "../../testdata/hostile"

// hang is how long a case may take before it counts as hung. It is far
// above what any case needs; it only turns a hang into a failure.
const hang = 2 * time.Minute

// maxAlloc bounds the memory one validate may allocate.
const maxAlloc = 1 << 30

// bounded runs the CLI as cli does, but turns a panic, a hang or an
// allocation beyond maxAlloc into a test failure.
func bounded(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	type result struct {
		code           int
		stdout, stderr string
		panicked       any
	}
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			r.panicked = recover()
			done <- r
		}()
		var stdout, stderr bytes.Buffer
		r.code = Main(ctx, args, strings.NewReader(""), &stdout, &stderr)
		r.stdout, r.stderr = stdout.String(), stderr.String()
	}()
	timer := time.NewTimer(hang + 30*time.Second)
	defer timer.Stop()
	select {
	case r := <-done:
		if r.panicked != nil {
			t.Fatalf("recloop %s panicked: %v", strings.Join(args, " "), r.panicked)
		}
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > maxAlloc {
			t.Errorf("recloop %s allocated %d MiB, above the bound of %d MiB", strings.Join(args, " "), grew>>20, maxAlloc>>20)
		}
		return r.code, r.stdout, r.stderr
	case <-timer.C:
		t.Fatalf("recloop %s hung", strings.Join(args, " "))
		return 0, "", ""
	}
}

// wants reads a case's "# want:" lines.
func wants(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range bytes.Split(data, []byte("\n")) {
		if w, ok := bytes.CutPrefix(line, []byte("# want: ")); ok {
			out = append(out, string(w))
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s has no # want: line", path)
	}
	return out
}

// TestHostileCorpus runs validate on every case of testdata/hostile: each
// is rejected with exit 2 and a message naming file, line and field, without
// a panic or a hang; a case validate accepts then runs to completion.
func TestHostileCorpus(t *testing.T) {
	cases, err := filepath.Glob(filepath.Join(hostileDir, "*.yaml"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no hostile cases in %s: %v", hostileDir, err)
	}
	for _, path := range cases {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".yaml"), func(t *testing.T) {
			want := wants(t, path)
			code, stdout, stderr := bounded(t, "validate", path)
			if want[0] == "ok" {
				if code != runner.ExitOK {
					t.Fatalf("validate: exit %d, want 0\n%s%s", code, stdout, stderr)
				}
				runToCompletion(t, path)
				return
			}
			if code != runner.ExitInvalid {
				t.Fatalf("validate: exit %d, want %d\n%s%s", code, runner.ExitInvalid, stdout, stderr)
			}
			for _, w := range want {
				if !strings.Contains(stderr, w) {
					t.Errorf("validate's message lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// runToCompletion runs a scenario validate accepted: it must end with the
// gates' verdict (exit 0 or 1), having written results.json and
// trajectories.jsonl, valid JSON throughout (so no NaN or Inf in them).
func runToCompletion(t *testing.T, path string) {
	t.Helper()
	out := t.TempDir()
	code, stdout, stderr := bounded(t, "run", "--out", out, path)
	if code != runner.ExitOK && code != runner.ExitGateFailed {
		t.Fatalf("run: exit %d, want 0 or 1\n%s%s", code, stdout, stderr)
	}
	data, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatalf("run wrote no results.json: %v", err)
	}
	if !json.Valid(data) {
		t.Errorf("results.json is not valid JSON")
	}
	lines, err := os.ReadFile(filepath.Join(out, "trajectories.jsonl"))
	if err != nil {
		t.Fatalf("run wrote no trajectories.jsonl: %v", err)
	}
	for i, line := range bytes.Split(bytes.TrimSpace(lines), []byte("\n")) {
		if !json.Valid(line) {
			t.Errorf("trajectories.jsonl:%d is not valid JSON: %.200s", i+1, line)
		}
	}
}

const hostileBase = `version: 1
name: hostile
seed: 1
rounds: 2
slate_size: 5
catalog:
  %s
personas:
  %s
variants:
  - name: a
    recommender: %s
`

// TestHostileGenerated covers the cases whose input cannot live in
// testdata: devices, FIFOs, files too large to commit (sparse, so they cost
// no disk) and a composition 100,000 wrappers deep.
func TestHostileGenerated(t *testing.T) {
	dir := t.TempDir()
	link := func(name, target string) string {
		p := filepath.Join(dir, name)
		if err := os.Symlink(target, p); err != nil {
			t.Skipf("no symlinks: %v", err)
		}
		return p
	}
	fifo := func(name string) string {
		p := filepath.Join(dir, name)
		if err := mkfifo(p); err != nil {
			t.Skipf("no FIFOs: %v", err)
		}
		return p
	}
	sparse := func(name string, size int64) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := f.Truncate(size); err != nil {
			t.Skipf("no sparse files: %v", err)
		}
		return p
	}
	scenario := func(name, catalog, personas, recommender string) string {
		return writeFile(t, dir, name, fmt.Sprintf(hostileBase, catalog, personas, recommender))
	}
	population := "population: [{archetype: cinephile, count: 3}]"
	synthetic := "synthetic: {items: 60}"
	deep := strings.Repeat("mmr(", 100000) + "popular" + strings.Repeat(")", 100000)

	for _, tc := range []struct {
		name     string
		scenario func() string
		want     []string
	}{
		{"scenario is /dev/zero", func() string { return link("zero-scenario.yaml", "/dev/zero") }, []string{"zero-scenario.yaml: cannot read scenario", "not a regular file"}},
		{"scenario is a FIFO", func() string { return fifo("fifo-scenario.yaml") }, []string{"fifo-scenario.yaml: cannot read scenario", "not a regular file"}},
		{"catalog is /dev/zero", func() string {
			link("zero.jsonl", "/dev/zero")
			return scenario("catalog-zero.yaml", "file: zero.jsonl", population, "popular")
		}, []string{"catalog-zero.yaml:7:3: catalog.file:", "not a regular file"}},
		{"catalog is a FIFO", func() string {
			fifo("fifo.csv")
			return scenario("catalog-fifo.yaml", "file: fifo.csv", population, "popular")
		}, []string{"catalog-fifo.yaml:7:3: catalog.file:", "not a regular file"}},
		{"catalog above the size limit", func() string {
			sparse("huge.jsonl", config.MaxDataBytes+1)
			return scenario("catalog-huge.yaml", "file: huge.jsonl", population, "popular")
		}, []string{"catalog-huge.yaml:7:3: catalog.file:", "file too large"}},
		{"persona file is /dev/zero", func() string {
			link("zero-personas.yaml", "/dev/zero")
			return scenario("personas-zero.yaml", synthetic, "files: [zero-personas.yaml]", "popular")
		}, []string{"personas-zero.yaml:9:11: personas.files[0]: cannot read persona file:", "not a regular file"}},
		{"persona file is a FIFO", func() string {
			fifo("fifo-personas.yaml")
			return scenario("personas-fifo.yaml", synthetic, "files: [fifo-personas.yaml]", "popular")
		}, []string{"personas-fifo.yaml:9:11: personas.files[0]: cannot read persona file:", "not a regular file"}},
		{"persona file above the size limit", func() string {
			sparse("huge-personas.yaml", config.MaxYAMLBytes+1)
			return scenario("personas-huge.yaml", synthetic, "files: [huge-personas.yaml]", "popular")
		}, []string{"personas-huge.yaml:9:11: personas.files[0]: cannot read persona file:", "file too large"}},
		{"composition 100,000 deep", func() string {
			return scenario("deep.yaml", synthetic, population, deep)
		}, []string{"deep.yaml:12:5: variants[0].recommender:", "nests more than 16 wrappers, the limit"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := bounded(t, "validate", tc.scenario())
			if code != runner.ExitInvalid {
				t.Fatalf("validate: exit %d, want %d\n%s%s", code, runner.ExitInvalid, stdout, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("validate's message lacks %q:\n%s", w, stderr)
				}
			}
			if len(stderr) > 4096 {
				t.Errorf("validate's message is %d bytes long; it should not repeat the input", len(stderr))
			}
		})
	}
}

package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"text/template"

	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/scenarios"
)

// initFiles are what `recloop init` writes: a scenario with a baseline and
// gates, a persona file of its own, and a CI workflow.
var initFiles = []struct {
	path    string
	content func() string
}{
	{"recloop/scenario.yaml", initScenario},
	{"recloop/personas.yaml", func() string { return initPersonas }},
	{".github/workflows/recloop.yml", func() string { return initWorkflow }},
}

var initCommand = command{
	name:    "init",
	summary: "scaffold a scenario, personas and a GitHub Actions workflow in the current directory (--shards n: a sharded workflow)",
	run: func(_ context.Context, env *cliEnv, args []string) error {
		fs := newFlagSet(env, "init", "")
		force := fs.Bool("force", false, "overwrite files that exist")
		shards := fs.Int("shards", 0, "write only "+shardedWorkflowPath+", which runs the scenario in `n` shards (1–256) and merges them")
		scenario := fs.String("scenario", "recloop/scenario.yaml", "with --shards: the scenario the workflow runs, relative to the repository root")
		out := fs.String("out", "out", "with --shards: the directory the workflow writes the shards (out/shard-i) and the merged run (out/merged) under")
		if _, err := parseFlags(fs, args); err != nil {
			return err
		}
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if set["shards"] {
			return initSharded(env, shardedWorkflow{Shards: *shards, Scenario: *scenario, Out: *out}, *force)
		}
		if set["scenario"] || set["out"] {
			return usageError{err: errors.New("--scenario and --out go with --shards")}
		}
		for _, f := range initFiles {
			if _, err := os.Stat(f.path); err == nil && !*force {
				return usageError{err: fmt.Errorf("%s exists; use --force to overwrite it", f.path)}
			}
		}
		for _, f := range initFiles {
			if err := writeInitFile(f.path, f.content()); err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "wrote %s\n", f.path)
		}
		fmt.Fprintln(env.stdout, "\nNext: recloop run recloop/scenario.yaml   (then edit the variants to point at your recommender)")
		return nil
	},
}

func writeInitFile(name, content string) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, []byte(content), 0o644)
}

// shardedWorkflowPath is where `recloop init --shards n` writes its workflow.
const shardedWorkflowPath = ".github/workflows/recloop-sharded.yml"

// maxShards is GitHub Actions' limit on the jobs of one matrix.
const maxShards = 256

//go:embed templates/sharded.yml.tmpl
var shardedTemplateText string

// The template's delimiters are [[ ]]: a workflow is full of ${{ }}.
var shardedTemplate = template.Must(template.New("sharded").Delims("[[", "]]").Parse(shardedTemplateText))

// shardedWorkflow is what the sharded workflow is made of.
type shardedWorkflow struct {
	Shards   int
	Scenario string
	Out      string
	// Version is the recloop the workflow installs: this one when it is a
	// release, else latest.
	Version string
}

// Matrix is the shard numbers, 1 to Shards, as a YAML flow sequence.
func (w shardedWorkflow) Matrix() string {
	nums := make([]string, w.Shards)
	for i := range nums {
		nums[i] = strconv.Itoa(i + 1)
	}
	return "[" + strings.Join(nums, ", ") + "]"
}

// workflowPath matches the paths that go into a workflow as they are: plain
// YAML scalars and shell words alike.
var workflowPath = regexp.MustCompile(`^[A-Za-z0-9_.][A-Za-z0-9_./-]*$`)

func initSharded(env *cliEnv, w shardedWorkflow, force bool) error {
	if w.Shards < 1 || w.Shards > maxShards {
		return usageError{err: fmt.Errorf("--shards %d: want 1 to %d (a GitHub Actions matrix holds at most %d jobs)", w.Shards, maxShards, maxShards)}
	}
	for _, p := range []struct{ flag, path string }{{"--scenario", w.Scenario}, {"--out", w.Out}} {
		if !workflowPath.MatchString(p.path) || strings.Contains(p.path, "..") {
			return usageError{err: fmt.Errorf("%s %q: want a path inside the repository, relative to its root, of letters, digits and . _ - /", p.flag, p.path)}
		}
	}
	w.Scenario, w.Out = path.Clean(w.Scenario), path.Clean(w.Out)
	if _, err := os.Stat(shardedWorkflowPath); err == nil && !force {
		return usageError{err: fmt.Errorf("%s exists; use --force to overwrite it", shardedWorkflowPath)}
	}
	w.Version = installVersion()
	var b strings.Builder
	if err := shardedTemplate.Execute(&b, w); err != nil {
		return err
	}
	if err := writeInitFile(shardedWorkflowPath, b.String()); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "wrote %s: %d shard jobs run %s, a merge job combines them into %s/merged\n", shardedWorkflowPath, w.Shards, w.Scenario, w.Out)
	if _, err := os.Stat(w.Scenario); err != nil {
		if _, builtin := scenarios.Builtin(w.Scenario); !builtin {
			fmt.Fprintf(env.stdout, "note: %s does not exist here yet (recloop init scaffolds recloop/scenario.yaml)\n", w.Scenario)
		}
	}
	fmt.Fprintf(env.stdout, "The scenario needs at least %d independent worlds (variants × replicates × cells), and each shard 1/%d of your LLM rate limits (docs/ci.md).\n", w.Shards, w.Shards)
	return nil
}

// installVersion is the version of recloop a generated workflow installs:
// this build's, when go install can fetch it, else latest.
func installVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && strings.HasPrefix(bi.Main.Version, "v") && !strings.Contains(bi.Main.Version, "+") {
		return bi.Main.Version
	}
	return "latest"
}

// initScenario is the quickstart, made the user's own: it adds their
// persona file and writes to out/recloop.
func initScenario() string {
	data, ok := scenarios.Builtin("quickstart")
	if !ok {
		panic(errors.New("the quickstart scenario is not embedded"))
	}
	s := string(data)
	s = strings.Replace(s, "# The built-in demo: `make demo` runs it, offline, in seconds.", "# Your recloop scenario, scaffolded by `recloop init` from the quickstart.", 1)
	s = strings.Replace(s, "name: quickstart", "name: recloop", 1)
	s = strings.Replace(s, "personas:\n  population:", "personas:\n  files: [personas.yaml]\n  population:", 1)
	s = strings.Replace(s, "  dir: out/quickstart", "  dir: out/recloop", 1)
	s = strings.Replace(s, "\ninconclusive:", "\n"+bandGates()+"inconclusive:", 1)
	return s
}

// bandGates offers a gate per reference band, commented out: the bands are
// rough industry ranges (docs/metrics.md), a starting point to adopt one by
// one, not a bar every product must clear. A band's lower edge becomes the
// gate (being above a typical range rarely blocks a release); a band open
// below (latency) gives its upper edge.
func bandGates() string {
	var b strings.Builder
	b.WriteString("  # Gates from typical industry ranges (rough; docs/metrics.md gives sources).\n")
	b.WriteString("  # Uncomment the ones your product should meet.\n")
	for _, band := range metrics.DefaultBands() {
		if band.Low != nil {
			fmt.Fprintf(&b, "  # - {name: \"%s at least the typical %g\", check: \"%s[*] >= %g\"}\n", band.Metric, *band.Low, band.Metric, *band.Low)
			continue
		}
		if band.High != nil {
			fmt.Fprintf(&b, "  # - {name: \"%s at most the typical %g\", check: \"%s[*] <= %g\"}\n", band.Metric, *band.High, band.Metric, *band.High)
		}
	}
	return b.String()
}

const initPersonas = `# Your own personas (docs/personas.md). They take part alongside the
# population sampled from the built-in archetypes in scenario.yaml.
personas:
  - id: my-first-persona
    name: Alex
    description: >
      Alex watches a film most evenings, loves clever science fiction and
      twisty thrillers, and drops a service that keeps pushing the same
      blockbusters.
    interests:
      categories: {sci-fi: 0.9, thriller: 0.6}
      tags: {time-travel: 0.7, twist-ending: 0.5}
    latent_interests:
      categories: {documentary: 0.6}
      tags: {science: 0.5}
    traits: {activity: 0.7, conformity: 0.2, curiosity: 0.6, pickiness: 0.6}
    history_size: 8
    segments: [my-segment]
`

const initWorkflow = `# Rehearse recommender changes on every pull request (docs/ci.md).
name: recloop
on:
  pull_request:
  push:
    branches: [main]
jobs:
  recloop:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-go@v5
        with:
          go-version: "1.26"
      - name: Cache LLM answers
        uses: actions/cache@v4
        with:
          path: .recloop-cache
          key: recloop-llm-${{ hashFiles('recloop/**') }}
          restore-keys: recloop-llm-
      - name: Install recloop
        run: go install github.com/recloop/recloop/cmd/recloop@latest
      - name: Run the scenario (exit 1 when a gate fails)
        run: recloop run recloop/scenario.yaml
      - name: Post the verdict
        if: always()
        run: cat out/recloop/summary.md >> "$GITHUB_STEP_SUMMARY"
      - name: Upload the report
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: recloop-report
          path: out/recloop/
`

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
	summary: "scaffold a scenario, personas and a GitHub Actions workflow in the current directory",
	run: func(_ context.Context, env *cliEnv, args []string) error {
		fs := newFlagSet(env, "init", "")
		force := fs.Bool("force", false, "overwrite files that exist")
		if _, err := parseFlags(fs, args); err != nil {
			return err
		}
		for _, f := range initFiles {
			if _, err := os.Stat(f.path); err == nil && !*force {
				return usageError{err: fmt.Errorf("%s exists; use --force to overwrite it", f.path)}
			}
		}
		for _, f := range initFiles {
			if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(f.path, []byte(f.content()), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "wrote %s\n", f.path)
		}
		fmt.Fprintln(env.stdout, "\nNext: recloop run recloop/scenario.yaml   (then edit the variants to point at your recommender)")
		return nil
	},
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

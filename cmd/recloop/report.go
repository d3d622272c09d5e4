package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/reports"
	"github.com/recloop/recloop/scenarios"
)

var reportCommand = command{
	name:    "report",
	summary: "render report.html again from a run directory's saved results, without simulating",
	run:     renderReport,
}

func renderReport(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "report", "<run-dir>")
	out := fs.String("out", "", "where to write the report (default: <run-dir>/report.html)")
	sample := fs.Int("personas", 0, fmt.Sprintf("personas in the drill-down, drawn with the run's seed (default %d)", reports.DefaultPersonaSample))
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usageError{err: errors.New("report takes one run directory")}
	}
	if *sample < 0 {
		return usageError{err: fmt.Errorf("--personas %d: want 0 or more", *sample)}
	}
	dir := pos[0]
	resultsPath := filepath.Join(dir, resultsFile)
	if _, err := os.Stat(resultsPath); err != nil {
		return usageError{err: fmt.Errorf("%s is not a recloop run directory: %w", dir, err)}
	}
	results, err := readResultsFile(resultsPath)
	if err != nil {
		return withExitCode(ExitInvalid, err)
	}
	opts := reports.RunDirOptions(dir)
	opts.PersonaSample = *sample
	opts.Titles = itemTitles(ctx, dir, results)
	path := *out
	if path == "" {
		path = filepath.Join(dir, reportFile)
	}
	if err := writeFileAtomic(path, func(w io.Writer) error { return reports.WriteHTML(w, results, opts) }); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "wrote %s\n", path)
	return nil
}

// itemTitles names items in the drill-down when the run's scenario still
// builds the catalog the run used (same number of items); otherwise the
// report shows item ids. The saved results alone always suffice.
func itemTitles(ctx context.Context, dir string, results *metrics.Results) func(string) string {
	info, err := readRunInfo(dir)
	if err != nil || info.Scenario == "" {
		return nil
	}
	plan, err := scenarios.Prepare(ctx, info.Scenario, scenarios.Options{})
	if err != nil {
		slog.Debug("report: item titles unavailable", "scenario", info.Scenario, "err", err)
		return nil
	}
	defer plan.Close()
	if plan.Catalog == nil || plan.Catalog.Len() != results.Items {
		return nil
	}
	return catalogTitles(plan.Catalog)
}

// catalogTitles names items by their titles, falling back to the id.
func catalogTitles(cat *catalog.Catalog) func(string) string {
	titles := make(map[string]string, cat.Len())
	for _, it := range cat.Items() {
		if it.Title != "" {
			titles[it.ID] = it.Title
		}
	}
	return func(id string) string {
		if t, ok := titles[id]; ok {
			return t
		}
		return id
	}
}

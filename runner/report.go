package runner

import (
	"context"
	"io"
	"log/slog"

	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/reports"
	"github.com/recloop/recloop/scenarios"
)

// ReportOptions say how a saved run's report is rendered again.
type ReportOptions struct {
	// Out is where the report goes (default: the run's report.html).
	Out string
	// PersonaSample is how many personas the drill-down shows (0: the default).
	PersonaSample int
	// Logger hears which sections were left out, and why (nil discards it).
	Logger *slog.Logger
}

// Report renders a run directory's report.html again from its saved
// results, without simulating, and returns the path it wrote.
func Report(ctx context.Context, path string, opts ReportOptions) (string, error) {
	dir := RunDir{Path: path}
	results, err := dir.ReadResults()
	if err != nil {
		return "", err
	}
	html := dir.HTMLOptions()
	html.PersonaSample, html.Logger = opts.PersonaSample, opts.Logger
	html.Titles = itemTitles(ctx, dir, results)
	out := opts.Out
	if out == "" {
		out = dir.Report()
	}
	return out, WriteFileAtomic(out, func(w io.Writer) error { return reports.WriteHTML(w, results, html) })
}

// itemTitles names items in the drill-down when the run's scenario still
// builds the catalog the run used (same number of items); otherwise the
// report shows item ids. The saved results alone always suffice.
func itemTitles(ctx context.Context, dir RunDir, results *metrics.Results) func(string) string {
	rec, err := dir.ReadRecord()
	if err != nil || rec.Scenario == "" {
		return nil
	}
	plan, err := scenarios.Prepare(ctx, rec.Scenario, scenarios.Options{})
	if err != nil {
		return nil
	}
	defer plan.Close()
	if plan.Catalog == nil || plan.Catalog.Len() != results.Items {
		return nil
	}
	return catalogTitles(plan.Catalog)
}

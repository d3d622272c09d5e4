package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/recloop/recloop/reports"
	"github.com/recloop/recloop/runner"
)

var reportCommand = command{
	name:    "report",
	summary: "render report.html again from a run directory's saved results, without simulating",
	run:     renderReport,
}

func renderReport(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "report", "<run-dir>")
	opts := runner.ReportOptions{Logger: env.log}
	fs.StringVar(&opts.Out, "out", "", "where to write the report (default: <run-dir>/report.html)")
	fs.IntVar(&opts.PersonaSample, "personas", 0, fmt.Sprintf("personas in the drill-down, drawn with the run's seed (default %d)", reports.DefaultPersonaSample))
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usageError{err: errors.New("report takes one run directory")}
	}
	if opts.PersonaSample < 0 {
		return usageError{err: fmt.Errorf("--personas %d: want 0 or more", opts.PersonaSample)}
	}
	path, err := runner.Report(ctx, pos[0], opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "wrote %s\n", path)
	return nil
}

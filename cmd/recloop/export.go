package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/recloop/recloop/reports/export"
	"github.com/recloop/recloop/runner"
)

var exportCommand = command{
	name:    "export",
	summary: "write a run's events for an analytics tool (Segment, Amplitude, Mixpanel), marked synthetic",
	run:     exportRun,
}

func exportRun(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "export", "<run-dir>")
	opts := runner.ExportOptions{}
	fs.StringVar(&opts.Format, "to", "", "the format: "+strings.Join(export.Names(), ", "))
	fs.StringVar(&opts.Out, "out", "", "the file to write (default: <run-dir>/export/<format>.<ext>)")
	start := fs.String("start", "", "the time of round 0, RFC 3339 or YYYY-MM-DD in UTC (default: the run's last round is the day before its trajectories were written)")
	fs.DurationVar(&opts.RoundEvery, "round-every", runner.DefaultRoundEvery, "the time between two rounds")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usageError{err: errors.New("export takes one run directory")}
	}
	if opts.Format == "" {
		return usageError{err: fmt.Errorf("export needs --to (one of %s)", strings.Join(export.Names(), ", "))}
	}
	if opts.RoundEvery <= 0 {
		return usageError{err: fmt.Errorf("--round-every %s: want a positive duration", opts.RoundEvery)}
	}
	if *start != "" {
		if opts.Start, err = parseStart(*start); err != nil {
			return usageError{err: err}
		}
	}
	path, err := runner.Export(ctx, pos[0], opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "wrote %s\n", path)
	return nil
}

// parseStart takes an RFC 3339 time or a date, which is its UTC midnight.
func parseStart(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--start %q: want an RFC 3339 time (2026-11-01T09:00:00Z) or a date (2026-11-01)", s)
}

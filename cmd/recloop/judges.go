package main

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/recloop/recloop/runner"
)

var judgesCommand = command{
	name:    "judges",
	summary: "judges calibrate --labels human.jsonl <scenario>: agreement of the scenario's judges with human labels",
	run: func(ctx context.Context, env *cliEnv, args []string) error {
		fs := newFlagSet(env, "judges", "calibrate --labels human.jsonl <scenario>")
		labelsPath := fs.String("labels", "", "human labels, one JSON object per line (docs/judges-llm.md)")
		minAlpha := fs.Float64("min-alpha", math.NaN(), "fail (exit 1) when any judge's α on any dimension is below this (default: the scenario's judges.min_agreement)")
		pos, err := parseFlags(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 2 || pos[0] != "calibrate" || *labelsPath == "" {
			fs.Usage()
			return usageError{err: errors.New("usage: recloop judges calibrate --labels human.jsonl <scenario>")}
		}
		cals, err := runner.Calibrate(ctx, pos[1], *labelsPath, *minAlpha, env.log)
		for _, c := range cals {
			fmt.Fprintf(env.stdout, "judge %s against %d human labels:\n", c.Judge, c.Labels)
			fmt.Fprintf(env.stdout, "  %-14s %5s %8s %8s %8s %8s\n", "dimension", "n", "alpha", "kappa", "MAD", "bias")
			for _, d := range c.Dimensions {
				fmt.Fprintf(env.stdout, "  %-14s %5d %8s %8s %8.3f %+8.3f\n", d.Dimension, d.N, runner.Statistic(d.Alpha), runner.Statistic(d.Kappa), d.MAD, d.Bias)
			}
		}
		return err
	},
}

package main

import (
	"context"
	"errors"

	"github.com/recloop/recloop/runner"
)

var judgeCommand = command{
	name:    "judge",
	summary: "judge the explanations of a saved run again, without simulating it again",
	run: func(ctx context.Context, env *cliEnv, args []string) error {
		fs := newFlagSet(env, "judge", "<run-dir>")
		opts := runner.Options{Logger: env.log}
		fs.StringVar(&opts.Rubric, "rubric", "", "rubric YAML merged onto the default (replaces the scenario's)")
		fs.IntVar(&opts.Concurrency, "concurrency", 0, "judge calls in flight (default: the scenario's)")
		fs.StringVar(&opts.CacheMode, "cache", "", "LLM response cache mode: readwrite, replay or off")
		fs.StringVar(&opts.Baseline, "baseline", "", "results.json to compare with (default: the run's own --baseline)")
		quiet := fs.Bool("quiet", false, "print no table")
		pos, err := parseFlags(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			fs.Usage()
			return usageError{err: errors.New("judge takes one run directory")}
		}
		if !*quiet {
			opts.Observer = &progress{w: env.stderr}
		}
		out, err := runner.Rejudge(ctx, pos[0], opts)
		return printOutcome(env, out, err, *quiet)
	},
}

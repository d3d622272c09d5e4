package main

import (
	"context"
	"errors"

	"github.com/recloop/recloop/runner"
)

var mergeCommand = command{
	name:    "merge",
	summary: "combine the shards of a run (run --shard i/n) into the results of the whole run",
	run:     mergeShards,
}

func mergeShards(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "merge", "<shard-dir>...")
	opts := runner.Options{Logger: env.log}
	fs.StringVar(&opts.Out, "out", "", "output directory (default: the scenario's output.dir)")
	fs.IntVar(&opts.Concurrency, "concurrency", 0, "judge calls in flight (default: the scenario's)")
	quiet := fs.Bool("quiet", false, "print no table")
	fs.StringVar(&opts.Baseline, "baseline", "", "results.json of an earlier run of the same scenario to compare with, persona by persona")
	fs.StringVar(&opts.CacheMode, "cache", "", "LLM response cache mode for judging: readwrite, replay or off")
	fs.StringVar(&opts.Scenario, "scenario", "", "the scenario the shards ran, when the path their run.json names does not exist here")
	dirs, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(dirs) == 0 {
		fs.Usage()
		return usageError{err: errors.New("merge takes the shard directories")}
	}
	if !*quiet {
		opts.Observer = &progress{w: env.stderr}
	}
	out, err := runner.Merge(ctx, dirs, opts)
	return printOutcome(env, out, err, *quiet)
}

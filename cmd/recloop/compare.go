package main

import (
	"context"
	"errors"

	"github.com/recloop/recloop/reports"
	"github.com/recloop/recloop/runner"
)

var compareCommand = command{
	name:    "compare",
	summary: "compare two runs of the same scenario persona by persona: compare base/results.json new/results.json",
	run: func(_ context.Context, env *cliEnv, args []string) error {
		fs := newFlagSet(env, "compare", "<base/results.json> <new/results.json>")
		pos, err := parseFlags(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 2 {
			fs.Usage()
			return usageError{err: errors.New("compare takes two results.json files")}
		}
		cs, err := runner.Compare(pos[0], pos[1])
		if err != nil {
			return err
		}
		return reports.Comparisons(env.stdout, cs)
	},
}

package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/reports"
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
		base, err := readResultsFile(pos[0])
		if err != nil {
			return err
		}
		cand, err := readResultsFile(pos[1])
		if err != nil {
			return err
		}
		cs, err := metrics.CompareRuns(base, cand, 0, cand.Seed)
		if err != nil {
			return withExitCode(ExitInvalid, err)
		}
		return reports.Comparisons(env.stdout, cs)
	},
}

func readResultsFile(path string) (*metrics.Results, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := reports.ReadJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

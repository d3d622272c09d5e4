package main

import (
	"context"
	"errors"
	"fmt"
	"io"
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
		printComparisons(env.stdout, cs)
		return nil
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

// printComparisons lists each difference with its CI, marking those that
// are significant after Holm's correction.
func printComparisons(w io.Writer, cs []metrics.Comparison) {
	fmt.Fprintf(w, "%-10s %-26s %12s  %-28s %8s %10s\n", "variant", "metric", "new − base", "95% CI", "p (Holm)", "MDE")
	for _, c := range cs {
		mark := " "
		if p := float64(c.PHolm); c.PHolm.Defined() && p < 0.05 {
			mark = "*"
		}
		fmt.Fprintf(w, "%-10s %-26s %+12.4g  [%+.4g, %+.4g]%s %8.3g %10.3g\n", clip(c.Candidate, 10), clip(c.Metric, 26),
			float64(c.Diff), float64(c.CILow), float64(c.CIHigh), mark, float64(c.PHolm), float64(c.MDE))
	}
	fmt.Fprintln(w, "* significant at 0.05 after Holm's correction; CIs are paired bootstrap intervals over personas.")
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/recloop/recloop/fidelity"
	"github.com/recloop/recloop/runner"
)

var fidelityCommand = command{
	name:    "fidelity",
	summary: "check a behaviour model against the held-out part of a log, beside baselines (--fit fits the utility model)",
	run:     fidelityCmd,
}

func fidelityCmd(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "fidelity", "")
	opts := runner.FidelityOptions{Source: runner.LogSource{Logger: env.log}}
	addLogFlags(fs, &opts.Source)
	fs.StringVar(&opts.Behaviour, "behaviour", "", "YAML file with behaviour: {model: utility|llm, params: {...}} (default: the utility model's defaults with the taste model learned from the log)")
	fs.BoolVar(&opts.Fit, "fit", false, "fit the utility model's coefficients and taste model on the seed part, evaluate the fitted model, and write "+runner.FittedFile+" and "+runner.TasteFile)
	fs.StringVar(&opts.Out, "out", ".", "directory for "+runner.FidelityFile+" (and, with --fit, "+runner.FittedFile+" and "+runner.TasteFile+")")
	recs := fs.String("recommenders", strings.Join(fidelity.DefaultRecommenders, ","), "comma-separated recommenders ranked by the verdict check (fewer than two skips it)")
	baselines := fs.String("baselines", strings.Join(fidelity.DefaultBaselines, ","), "comma-separated recommenders that score the same probes as the simulator")
	fs.IntVar(&opts.Evaluation.Rounds, "rounds", 5, "simulated rounds of the verdict check")
	fs.IntVar(&opts.Evaluation.SlateSize, "slate", 10, "slate size of the verdict check")
	fs.StringVar(&opts.Dump, "dump", "", "write every probe (user, item, label, scores, popularity) to this JSON-lines file")
	fs.StringVar(&opts.Personas, "personas", "", "evaluate (and, with --fit, fit) the personas of this file (written by personas from-logs, perhaps edited) instead of fresh ones; the split still comes from the log")
	quiet := fs.Bool("quiet", false, "print no table")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	opts.Evaluation.Recommenders, opts.Evaluation.Baselines = splitList(*recs), splitList(*baselines)
	rep, err := runner.Fidelity(ctx, opts)
	if err != nil || *quiet {
		return err
	}
	if err := rep.WriteTable(env.stdout); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "\nwrote %s\n", filepath.Join(opts.Out, runner.FidelityFile))
	if opts.Fit {
		fmt.Fprintf(env.stdout, "wrote %s and %s\n", filepath.Join(opts.Out, runner.FittedFile), filepath.Join(opts.Out, runner.TasteFile))
	}
	if opts.Dump != "" {
		fmt.Fprintf(env.stdout, "wrote %s\n", opts.Dump)
	}
	return nil
}

func splitList(s string) []string {
	out := []string{}
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

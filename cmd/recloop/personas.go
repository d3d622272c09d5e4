package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/recloop/recloop/fidelity"
	"github.com/recloop/recloop/runner"
)

var personasCommand = command{
	name:    "personas",
	summary: "derive personas from an interaction log (personas from-logs)",
	run:     personasCmd,
}

func personasCmd(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 || args[0] != "from-logs" {
		fmt.Fprint(env.stderr, "Usage: recloop personas from-logs [flags]\n\nSubcommands:\n  from-logs  derive one persona per user (or a seeded sample) from a log\n")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return usageError{err: flag.ErrHelp, printed: true}
		}
		return usageError{err: errors.New("personas: want the subcommand from-logs"), printed: true}
	}
	return fromLogs(ctx, env, args[1:])
}

// addLogFlags adds the flags that say where a log comes from and how it is
// split, shared by personas from-logs and fidelity.
func addLogFlags(fs *flag.FlagSet, s *runner.LogSource) {
	fs.StringVar(&s.Log, "log", "", "interaction log (.csv with user,item,rating,timestamp columns, or .jsonl); needs --catalog")
	fs.StringVar(&s.Catalog, "catalog", "", "catalog file for --log (.yaml, .json, .jsonl or .csv)")
	fs.StringVar(&s.MovieLens, "movielens", "", "a MovieLens directory (ml-100k, ml-1m, ml-latest or ml-latest-small): catalog and log in one")
	fs.IntVar(&s.Derive.Sample, "sample", 0, "derive a seeded sample of this many users (0 = every user)")
	fs.Uint64Var(&s.Seed, "seed", 1, "seed of the sample and of every random draw")
	fs.StringVar(&s.Derive.Split, "split", fidelity.PerUser, "how the log is split: per-user (each user's most recent interactions held out) or global-time (everything after one moment held out)")
	fs.Float64Var(&s.Derive.HoldOut, "holdout", 0.2, "share held out: of each user's interactions (per-user), or of the whole log (global-time)")
	fs.IntVar(&s.Derive.MinInteractions, "min-interactions", 5, "skip users with fewer interactions")
	fs.StringVar(&s.LLMConfig, "llm", "", "YAML file with an LLM provider section (the keys of a scenario's llm:)")
}

func fromLogs(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "personas from-logs", "")
	opts := runner.FromLogsOptions{Source: runner.LogSource{Logger: env.log}, Stdout: env.stdout}
	addLogFlags(fs, &opts.Source)
	fs.StringVar(&opts.Out, "out", "personas.yaml", "persona file to write (- for standard output)")
	fs.StringVar(&opts.TasteModel, "taste-model", "", "taste model file to write beside the personas (default: the persona file's name with .taste.json; none with --out -)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	ds, taste, err := runner.FromLogs(ctx, opts)
	if err != nil || opts.Out == "-" {
		return err
	}
	fmt.Fprintf(env.stdout, "wrote %d personas to %s (%d skipped with fewer than %d interactions)\n",
		len(ds.Users), opts.Out, ds.Skipped, ds.Options.MinInteractions)
	if taste != "" {
		fmt.Fprintf(env.stdout, "wrote their taste model to %s\n", taste)
	}
	return nil
}

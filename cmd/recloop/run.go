package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/recloop/recloop/reports"
	"github.com/recloop/recloop/runner"
	"github.com/recloop/recloop/trajectory"
)

var runCommand = command{
	name:    "run",
	summary: "simulate a scenario and write results, trajectories and a report",
	run:     runScenario,
}

func runScenario(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "run", "<scenario.yaml | built-in name>")
	opts := runner.Options{Logger: env.log}
	fs.StringVar(&opts.Out, "out", "", "output directory (default: the scenario's output.dir)")
	fs.IntVar(&opts.Concurrency, "concurrency", 0, "personas decided in parallel (default: the scenario's, else one per CPU); never changes the results")
	quiet := fs.Bool("quiet", false, "print no progress and no table")
	fs.StringVar(&opts.Baseline, "baseline", "", "results.json of an earlier run of the same scenario to compare with, persona by persona")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile (go tool pprof) to this file")
	dry := fs.Bool("dry-run", false, "say how many LLM calls, tokens and dollars the run would take, and stop")
	fs.StringVar(&opts.CacheMode, "cache", "", "LLM response cache mode: readwrite, replay (a miss fails the run) or off (default: the scenario's)")
	fs.StringVar(&opts.UserModel, "user-model", "", "the language model that plays the users of a conversational scenario with LLM users, for one run (default: the scenario's conversation.user_model, else llm.model)")
	shardFlag := fs.String("shard", "", "run only shard `i/n` of the run's independent worlds (variants × replicates × cells); combine the shards with recloop merge")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usageError{err: errors.New("run takes exactly one scenario")}
	}
	if opts.Shard, err = parseShard(*shardFlag); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	plan, err := runner.Prepare(ctx, pos[0], opts)
	if err != nil {
		return err
	}
	defer plan.Close()
	if *dry {
		return dryRun(env.stdout, plan)
	}
	opts.Tool = "recloop " + toolVersion()
	if !*quiet {
		opts.Observer = &progress{w: env.stderr}
	}
	out, err := runner.RunPlan(ctx, plan, pos[0], opts)
	return printOutcome(env, out, err, *quiet)
}

// printOutcome prints the table and the verdict of whatever was written,
// then passes the run's error on.
func printOutcome(env *cliEnv, out *runner.Outcome, err error, quiet bool) error {
	if out == nil || quiet {
		return err
	}
	if s := out.Shard; s != nil {
		fmt.Fprintf(env.stdout, "wrote shard %d/%d to %s; when every shard is done: recloop merge --out <dir> <shard dirs…>\n", s.Index, s.Count, out.Dir.Path)
		return err
	}
	if terr := reports.Table(env.stdout, out.Results); terr != nil {
		return errors.Join(err, terr)
	}
	if len(out.Results.Gates) > 0 {
		fmt.Fprintln(env.stdout)
		if verr := reports.Verdict(env.stdout, out.Results); verr != nil {
			return errors.Join(err, verr)
		}
	}
	fmt.Fprintf(env.stdout, "\nwrote %s (%s)\n", out.Dir.Path, out.Elapsed.Round(time.Millisecond))
	return err
}

func parseShard(s string) (*trajectory.Shard, error) {
	if s == "" {
		return nil, nil
	}
	i, n, ok := strings.Cut(s, "/")
	index, err1 := strconv.Atoi(i)
	count, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || count < 1 || index < 1 || index > count {
		return nil, usageError{err: fmt.Errorf("--shard %q: want i/n with 1 ≤ i ≤ n, for example 2/4", s)}
	}
	return &trajectory.Shard{Index: index, Count: count}, nil
}

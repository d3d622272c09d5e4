package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/reports"
	"github.com/recloop/recloop/scenarios"
	"github.com/recloop/recloop/simulator"
	"github.com/recloop/recloop/trajectory"
)

const (
	junitFile        = "junit.xml"
	summaryFile      = "summary.md"
	resultsFile      = "results.json"
	trajectoriesFile = "trajectories.jsonl"
	verdictsFile     = "verdicts.jsonl"
	reportFile       = "report.html"
	runFile          = "run.json"
)

var runCommand = command{
	name:    "run",
	summary: "simulate a scenario and write results, trajectories and a report",
	run:     runScenario,
}

func runScenario(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "run", "<scenario.yaml | built-in name>")
	out := fs.String("out", "", "output directory (default: the scenario's output.dir)")
	concurrency := fs.Int("concurrency", 0, "personas decided in parallel (default: the scenario's, else one per CPU); never changes the results")
	quiet := fs.Bool("quiet", false, "print no progress and no table")
	previous := fs.String("baseline", "", "results.json of an earlier run of the same scenario to compare with, persona by persona")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile (go tool pprof) to this file")
	dry := fs.Bool("dry-run", false, "say how many LLM calls, tokens and dollars the run would take, and stop")
	cacheMode := fs.String("cache", "", "LLM response cache mode: readwrite, replay (a miss fails the run) or off (default: the scenario's)")
	shardFlag := fs.String("shard", "", "run only shard `i/n` of the run's independent worlds (variants × replicates × cells); combine the shards with recloop merge")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usageError{err: errors.New("run takes exactly one scenario")}
	}
	shard, err := parseShard(*shardFlag)
	if err != nil {
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
	plan, err := scenarios.Prepare(ctx, pos[0], scenarios.Options{CacheMode: *cacheMode})
	if err != nil {
		return err
	}
	defer plan.Close()
	if *dry {
		return dryRun(env.stdout, plan)
	}
	if shard != nil {
		if !plan.Scenario.WriteTrajectories() {
			return usageError{err: errors.New("--shard needs the trajectories (the scenario sets output.trajectories: false)")}
		}
		if units := simulator.Units(len(plan.Variants), plan.States); shard.Count > units {
			return usageError{err: fmt.Errorf("--shard %d/%d: %d shards for %d independent worlds (variants × replicates × cells); use at most %d, or declare more cells", shard.Index, shard.Count, shard.Count, units, units)}
		}
	}
	dir := plan.Scenario.OutputDir()
	if *out != "" {
		dir = *out
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}

	agg := metrics.NewAggregator(plan.Catalog, plan.Metrics)
	sinks := trajectory.Sinks{agg}
	closeTrajectories := func() error { return nil }
	if plan.Scenario.WriteTrajectories() {
		f, err := os.Create(filepath.Join(dir, trajectoriesFile))
		if err != nil {
			return fmt.Errorf("create trajectories file: %w", err)
		}
		defer f.Close()
		closeTrajectories = f.Close
		sinks = append(trajectory.Sinks{trajectory.NewWriter(f)}, sinks...)
	}

	cfg := plan.SimulatorConfig(*concurrency, "recloop "+toolVersion())
	cfg.Shard = shard
	start := time.Now()
	var prog *progress
	if !*quiet {
		what := ""
		if shard != nil {
			what = fmt.Sprintf(" (shard %d/%d of %d worlds)", shard.Index, shard.Count, simulator.Units(len(plan.Variants), plan.States))
		}
		fmt.Fprintf(env.stderr, "recloop: %s: %d personas × %d variants × %d rounds, slate %d, %d items%s\n",
			plan.Scenario.Name, len(plan.States), len(plan.Variants), cfg.Rounds, cfg.SlateSize, plan.Catalog.Len(), what)
		prog = newProgress(env.stderr, cfg.Rounds, plan.LLM)
		cfg.OnRound = prog.roundDone
	}
	_, simErr := simulator.Run(ctx, cfg, plan.Catalog, plan.States, plan.Variants, sinks)
	if prog != nil {
		prog.finish()
	}
	if simErr != nil && !errors.Is(simErr, simulator.ErrInterrupted) && !scenarios.StopsTheRun(simErr) {
		return simErr
	}
	if err := closeTrajectories(); err != nil {
		return fmt.Errorf("close trajectories file: %w", err)
	}
	if err := writeRunInfo(dir, pos[0]); err != nil {
		return err
	}
	if shard != nil {
		return finishShard(env, plan, dir, *shard, simErr, *quiet)
	}
	return finishRun(ctx, env, plan, dir, agg, simErr, finishOptions{
		concurrency: *concurrency, quiet: *quiet, previous: *previous, start: start,
		llm: llmUsage, counts: countRecommenders(plan),
	})
}

// finishOptions says how a simulated (or merged) run is completed.
type finishOptions struct {
	concurrency int
	quiet       bool
	previous    string // results.json to compare with, or ""
	start       time.Time
	// llm and counts are the accounting that lives in clients, not events:
	// from the live clients after a run, from the shards' records after a
	// merge.
	llm    func(*scenarios.Plan) *metrics.LLMUsage
	counts map[string]recommenderCounts
}

// finishRun judges the run, computes and writes every output, prints the
// table and the verdict, and turns the outcome into the exit code.
func finishRun(ctx context.Context, env *cliEnv, plan *scenarios.Plan, dir string, agg *metrics.Aggregator, simErr error, o finishOptions) error {
	var judgeErr error
	var agreement []metrics.JudgeAgreement
	var pairs []metrics.Pairwise
	if simErr == nil && plan.Scenario.WriteTrajectories() && len(plan.Judges) > 0 {
		agreement, judgeErr = judgeRun(ctx, env, plan, dir, o.concurrency, agg, o.quiet)
		if judgeErr == nil {
			pairs, judgeErr = pairwise(ctx, plan, dir, o.concurrency)
		}
		if ctx.Err() != nil {
			// Interrupted while judging: keep the simulation's results.
			judgeErr = fmt.Errorf("%w while judging (verdicts incomplete)", simulator.ErrInterrupted)
		} else if judgeErr != nil && !scenarios.StopsTheRun(judgeErr) {
			return judgeErr
		}
	}
	results := agg.Results()
	if plan.LLM != nil {
		results.LLM = o.llm(plan)
	}
	applyCounts(results, o.counts)
	results.JudgeAgreement = agreement
	results.Pairwise = pairs
	if o.previous != "" {
		base, err := readResultsFile(o.previous)
		if err != nil {
			return err
		}
		cs, err := metrics.CompareRuns(base, results, plan.Metrics.ABBootstrap, plan.Scenario.Seed)
		if err != nil {
			return withExitCode(ExitInvalid, fmt.Errorf("--baseline %s: %w", o.previous, err))
		}
		results.Comparisons = append(results.Comparisons, cs...)
	}
	if judgeErr != nil {
		results.Partial, results.Reason = true, judgeErr.Error()
	}
	metrics.EvaluateGates(results, plan.Scenario.ParsedGates(), plan.Scenario.InconclusiveFails())
	results.Bands = plan.Scenario.ReferenceBands()
	if err := writeOutputs(dir, results, plan); err != nil {
		return err
	}
	if !o.quiet {
		if err := reports.Table(env.stdout, results); err != nil {
			return err
		}
		if len(results.Gates) > 0 {
			fmt.Fprintln(env.stdout)
			if err := reports.Verdict(env.stdout, results); err != nil {
				return err
			}
		}
		fmt.Fprintf(env.stdout, "\nwrote %s (%s)\n", dir, time.Since(o.start).Round(time.Millisecond))
	}
	if simErr != nil {
		return simErr
	}
	if judgeErr != nil {
		return judgeErr
	}
	if err := checkTolerance(results, plan.Scenario.ErrorTolerance()); err != nil {
		return err
	}
	return gateVerdict(results)
}

// gateVerdict turns a failed gate verdict into exit code 1.
func gateVerdict(r *metrics.Results) error {
	if r.Verdict != metrics.GateFail {
		return nil
	}
	var failed []string
	for _, g := range r.Gates {
		if g.Verdict != metrics.GatePass {
			failed = append(failed, fmt.Sprintf("%s (%s)", g.Name, g.Verdict))
		}
	}
	return withExitCode(ExitGateFailed, fmt.Errorf("gates did not pass: %s", strings.Join(failed, "; ")))
}

// writeOutputs writes results.json, report.html and, for a run with gates,
// junit.xml and summary.md, each through a temporary file, so a reader never
// sees half a file.
func writeOutputs(dir string, results *metrics.Results, plan *scenarios.Plan) error {
	if err := writeFileAtomic(filepath.Join(dir, resultsFile), func(w io.Writer) error { return reports.WriteJSON(w, results) }); err != nil {
		return err
	}
	if len(results.Gates) > 0 || len(results.Comparisons) > 0 {
		if err := writeFileAtomic(filepath.Join(dir, junitFile), func(w io.Writer) error { return reports.JUnit(w, results) }); err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(dir, summaryFile), func(w io.Writer) error { return reports.Summary(w, results) }); err != nil {
			return err
		}
	}
	if !plan.Scenario.WriteReport() {
		return nil
	}
	opts := reports.RunDirOptions(dir)
	opts.Titles = catalogTitles(plan.Catalog)
	return writeFileAtomic(filepath.Join(dir, reportFile), func(w io.Writer) error { return reports.WriteHTML(w, results, opts) })
}

func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// checkTolerance fails the run (exit 3) when a variant's recommender failed
// more often than the scenario tolerates. The results are already written.
func checkTolerance(r *metrics.Results, tolerance float64) error {
	var errs []error
	for _, v := range r.Variants {
		if rate := float64(v.Errors.Rate); v.Errors.Calls > 0 && rate > tolerance {
			errs = append(errs, fmt.Errorf("variant %q: recommender error rate %.1f%% (%d of %d calls) is above the tolerance of %.1f%%",
				v.Name, 100*rate, v.Errors.Errors+v.Errors.Timeouts+v.Errors.Invalid, v.Errors.Calls, 100*tolerance))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return withExitCode(ExitRuntime, errors.Join(errs...))
}

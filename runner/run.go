// Package runner is recloop's library entry point: it runs a scenario,
// judges a saved run again, and merges the shards of a run, and all three
// end in one assemble step that writes the run directory.
package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/recloop/recloop/judges"
	"github.com/recloop/recloop/llm"
	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/scenarios"
	"github.com/recloop/recloop/simulator"
	"github.com/recloop/recloop/trajectory"
)

// Options say where a run goes and how it is carried out. The zero value
// runs the scenario as written, silently, into its output.dir.
type Options struct {
	// Out replaces the scenario's output.dir.
	Out string
	// Concurrency bounds the personas decided, and the judge calls made, in
	// parallel (0: the scenario's). It never changes the results.
	Concurrency int
	// Baseline is the results.json of an earlier run of the same scenario
	// to compare with, persona by persona. Rejudge defaults to the run's own.
	Baseline string
	// CacheMode replaces llm.cache.mode (readwrite, replay or off).
	CacheMode string
	// UserModel replaces the language model that plays the users of a
	// conversational scenario (conversation.user_model; Run only).
	UserModel string
	// Rubric replaces judges.rubric (Rejudge only).
	Rubric string
	// Shard runs one shard of the run's independent worlds (Run only).
	Shard *trajectory.Shard
	// Scenario replaces the scenario the shards' run.json names (Merge only).
	Scenario string
	// Tool names the program in the run event, for example "recloop v1.2".
	Tool string
	// Observer hears of the run's progress (nil: nobody listens).
	Observer Observer
	// Logger receives the warnings of failures the run survives (nil
	// discards them).
	Logger *slog.Logger
}

// Prepare builds a scenario with the options that apply to building, for
// callers that look at the plan before they run it (RunPlan).
func Prepare(ctx context.Context, scenario string, opts Options) (*scenarios.Plan, error) {
	return scenarios.Prepare(ctx, scenario, opts.prepareOptions())
}

// prepareOptions are the options that apply to building a scenario.
func (o Options) prepareOptions() scenarios.Options {
	return scenarios.Options{CacheMode: o.CacheMode, Rubric: o.Rubric, UserModel: o.UserModel, Logger: o.Logger}
}

// Observer hears of a run's progress, for a progress line or a log.
type Observer interface {
	// Started is called once the plan is built, before the first round.
	Started(Start)
	// RoundDone is called after each round of the simulation.
	RoundDone(round, rounds int)
	// Simulated is called when the simulation has ended, however it ended.
	Simulated()
	// Judged is called after each judging pass.
	Judged(Judging)
}

// Start describes a run about to be simulated.
type Start struct {
	Scenario                                 string
	Personas, Variants, Rounds, Slate, Items int
	// Shard is the shard being run (nil: the whole run) of Worlds worlds.
	Shard  *trajectory.Shard
	Worlds int
	// LLM is the run's language-model client (nil: none), for live usage.
	LLM *llm.Stack
}

// Judging is what one judging pass did.
type Judging struct {
	judges.Summary
	// Panel names the judges in the scenario's order.
	Panel   []string
	Elapsed time.Duration
}

// Outcome is what a run, a re-judge or a merge produced.
type Outcome struct {
	Dir RunDir
	// Results are nil for a shard, whose results come from the merge.
	Results *metrics.Results
	// Shard is the shard that ran (nil: the whole run).
	Shard   *trajectory.Shard
	Elapsed time.Duration
}

// Run simulates a scenario (a file or a built-in name) and writes the run
// directory. The outcome is returned whenever results were written, with
// the error that decides the exit code (a failed gate, a spent budget, an
// interruption) beside it.
func Run(ctx context.Context, scenario string, opts Options) (*Outcome, error) {
	plan, err := Prepare(ctx, scenario, opts)
	if err != nil {
		return nil, err
	}
	defer plan.Close()
	return RunPlan(ctx, plan, scenario, opts)
}

// RunPlan simulates a prepared plan; source is the scenario's file or
// built-in name, which run.json records for a later re-judge.
func RunPlan(ctx context.Context, plan *scenarios.Plan, source string, opts Options) (*Outcome, error) {
	start := time.Now()
	worlds := simulator.Units(len(plan.Variants), plan.States)
	if opts.Shard != nil {
		if !plan.Scenario.WriteTrajectories() {
			return nil, WithExitCode(ExitInvalid, errors.New("--shard needs the trajectories (the scenario sets output.trajectories: false)"))
		}
		if opts.Shard.Count > worlds {
			return nil, WithExitCode(ExitInvalid, fmt.Errorf("--shard %d/%d: %d shards for %d independent worlds (variants × replicates × cells); use at most %d, or declare more cells",
				opts.Shard.Index, opts.Shard.Count, opts.Shard.Count, worlds, worlds))
		}
	}
	dir := outputDir(plan, opts)
	if err := dir.Create(); err != nil {
		return nil, err
	}
	agg := metrics.NewAggregator(plan.Catalog, plan.Metrics)
	sinks := trajectory.Sinks{agg}
	var trajectories *outputFile
	if plan.Scenario.WriteTrajectories() {
		f, err := dir.createTrajectories(plan.Scenario.Compression())
		if err != nil {
			return nil, fmt.Errorf("create trajectories file: %w", err)
		}
		defer f.Close()
		trajectories = f
		sinks = append(trajectory.Sinks{trajectory.NewWriter(f)}, sinks...)
	}
	cfg := plan.SimulatorConfig(opts.Concurrency, opts.Tool)
	cfg.Shard = opts.Shard
	if o := opts.Observer; o != nil {
		o.Started(Start{Scenario: plan.Scenario.Name, Personas: len(plan.States), Variants: len(plan.Variants), Rounds: cfg.Rounds,
			Slate: cfg.SlateSize, Items: plan.Catalog.Len(), Shard: opts.Shard, Worlds: worlds, LLM: plan.LLM})
		cfg.OnRound = o.RoundDone
	}
	if plan.LLM != nil {
		// Check the endpoint before round 1's first call to it.
		plan.LLM.ArmPreflight()
	}
	_, simErr := simulator.Run(ctx, cfg, plan.Catalog, plan.States, plan.Variants, sinks)
	if opts.Observer != nil {
		opts.Observer.Simulated()
	}
	if simErr != nil && !errors.Is(simErr, simulator.ErrInterrupted) && !scenarios.StopsTheRun(simErr) {
		return nil, simErr
	}
	if trajectories != nil {
		if err := trajectories.Close(); err != nil {
			return nil, fmt.Errorf("close trajectories file: %w", err)
		}
	}
	rec := Record{Scenario: absIfFile(source), Baseline: absIfFile(opts.Baseline), Accounting: accountingOf(plan)}
	if opts.Shard != nil {
		rec.Shard, rec.Worlds = opts.Shard, worlds
	}
	if err := dir.WriteRecord(rec); err != nil {
		return nil, err
	}
	if opts.Shard != nil {
		// A shard's results come from the merge.
		return &Outcome{Dir: dir, Shard: opts.Shard, Elapsed: time.Since(start)}, simErr
	}
	return assemble(ctx, plan, dir, agg, simErr, rec, opts, start, func() Accounting { return accountingOf(plan) })
}

func outputDir(plan *scenarios.Plan, opts Options) RunDir {
	if opts.Out != "" {
		return RunDir{Path: opts.Out}
	}
	return RunDir{Path: plan.Scenario.OutputDir()}
}

// absIfFile makes a path that names an existing file absolute, so a run
// directory can be judged from anywhere; a built-in name stays as it is.
func absIfFile(name string) string {
	if name == "" {
		return ""
	}
	if abs, err := filepath.Abs(name); err == nil {
		if _, statErr := os.Stat(abs); statErr == nil {
			return abs
		}
	}
	return name
}

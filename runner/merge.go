package runner

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/scenarios"
	"github.com/recloop/recloop/trajectory"
)

// Merge combines the shards of a run (each made by Run with Options.Shard)
// into the whole run's directory, as one machine would have written it, and
// completes it like any run.
func Merge(ctx context.Context, shardDirs []string, opts Options) (*Outcome, error) {
	start := time.Now()
	if len(shardDirs) == 0 {
		return nil, WithExitCode(ExitInvalid, fmt.Errorf("%w: no shard directories", trajectory.ErrShards))
	}
	shards := make([]RunDir, len(shardDirs))
	for i, d := range shardDirs {
		shards[i] = RunDir{Path: d}
	}
	rec, err := readShards(shards)
	if err != nil {
		return nil, err
	}
	if opts.Scenario != "" {
		rec.Scenario = opts.Scenario
	}
	if opts.Baseline != "" {
		rec.Baseline = absIfFile(opts.Baseline)
	}
	plan, err := Prepare(ctx, rec.Scenario, Options{CacheMode: opts.CacheMode, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	defer plan.Close()
	if err := sameRun(plan, shards[0]); err != nil {
		return nil, err
	}
	dir := outputDir(plan, opts)
	for _, s := range shards {
		if sameDir(s.Path, dir.Path) {
			return nil, WithExitCode(ExitInvalid, fmt.Errorf("--out %s is one of the shards; write the merged run elsewhere", dir.Path))
		}
	}
	if err := dir.Create(); err != nil {
		return nil, err
	}
	agg := metrics.NewAggregator(plan.Catalog, plan.Metrics)
	if err := mergeTrajectories(shards, dir, plan.Scenario.Compression(), agg); err != nil {
		return nil, err
	}
	if err := dir.WriteRecord(rec); err != nil {
		return nil, err
	}
	// The merge's own client only judges; the shards' records hold what the
	// simulation spent.
	total := func() Accounting { return rec.Accounting.add(Accounting{LLM: llmUsageIfAny(plan)}) }
	return assemble(ctx, plan, dir, agg, nil, rec, opts, start, total)
}

// readShards reads every shard's record; all must be shards of one
// scenario. The result is the whole run's record: the scenario and the
// shards' accounting summed.
func readShards(shards []RunDir) (Record, error) {
	var whole Record
	for i, d := range shards {
		rec, err := d.ReadRecord()
		if err != nil {
			return whole, err
		}
		if rec.Shard == nil {
			return whole, fmt.Errorf("%w: %s is not a shard (was it written by recloop run --shard i/n?)", trajectory.ErrShards, d.Path)
		}
		if i > 0 && rec.Scenario != whole.Scenario {
			return whole, fmt.Errorf("%w: %s ran %s, but %s ran %s", trajectory.ErrShards, shards[0].Path, whole.Scenario, d.Path, rec.Scenario)
		}
		whole.Scenario, whole.Baseline = rec.Scenario, rec.Baseline
		whole.Accounting = whole.Accounting.add(rec.Accounting)
	}
	return whole, nil
}

// sameRun checks that the scenario at hand is the one the shards ran: the
// metrics read the catalog and the personas from it.
func sameRun(plan *scenarios.Plan, shard RunDir) error {
	f, err := shard.OpenTrajectories()
	if err != nil {
		return fmt.Errorf("%w: %w", trajectory.ErrShards, err)
	}
	defer f.Close()
	ev, err := trajectory.NewReader(f).Next()
	if err != nil || ev.Run == nil {
		return fmt.Errorf("%w: %s does not start with a run event", trajectory.ErrShards, shard.Trajectories())
	}
	s := plan.Scenario
	if ev.Run.Scenario != s.Name || ev.Run.Seed != s.Seed || ev.Run.Items != plan.Catalog.Len() || ev.Run.Personas != len(plan.States) {
		return fmt.Errorf("%w: the shards ran scenario %q (seed %d, %d items, %d personas), but the scenario here is %q (seed %d, %d items, %d personas)",
			trajectory.ErrShards, ev.Run.Scenario, ev.Run.Seed, ev.Run.Items, ev.Run.Personas, s.Name, s.Seed, plan.Catalog.Len(), len(plan.States))
	}
	return nil
}

// mergeTrajectories writes the whole run's trajectories.jsonl and feeds the
// same events to the aggregator, in the order one machine would have.
func mergeTrajectories(shards []RunDir, dir RunDir, compression string, agg *metrics.Aggregator) error {
	readers := make([]io.Reader, 0, len(shards))
	for _, d := range shards {
		f, err := d.OpenTrajectories()
		if err != nil {
			return fmt.Errorf("%w: %w", trajectory.ErrShards, err)
		}
		defer f.Close()
		readers = append(readers, f)
	}
	f, err := dir.createTrajectories(compression)
	if err != nil {
		return fmt.Errorf("create trajectories file: %w", err)
	}
	defer f.Close()
	w := trajectory.NewWriter(f)
	if err := trajectory.Merge(readers, trajectory.Sinks{w, agg}); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

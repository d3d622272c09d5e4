package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/scenarios"
	"github.com/recloop/recloop/simulator"
	"github.com/recloop/recloop/trajectory"
)

const shardFile = "shard.json"

// shardRecord is what a shard's directory keeps besides its trajectories:
// the accounting that lives in clients, not in events, for recloop merge.
type shardRecord struct {
	Shard        trajectory.Shard             `json:"shard"`
	Worlds       int                          `json:"worlds"`
	LLM          *metrics.LLMUsage            `json:"llm,omitempty"`
	Recommenders map[string]recommenderCounts `json:"recommenders,omitempty"`
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

// finishShard records a shard's accounting; the results come from the merge.
func finishShard(env *cliEnv, plan *scenarios.Plan, dir string, shard trajectory.Shard, simErr error, quiet bool) error {
	rec := shardRecord{Shard: shard, Worlds: simulator.Units(len(plan.Variants), plan.States)}
	if plan.LLM != nil {
		rec.LLM = llmUsage(plan)
	}
	if counts := countRecommenders(plan); len(counts) > 0 {
		rec.Recommenders = counts
	}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, shardFile), func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	}); err != nil {
		return err
	}
	if !quiet {
		fmt.Fprintf(env.stdout, "wrote shard %d/%d to %s; when every shard is done: recloop merge --out <dir> <shard dirs…>\n", shard.Index, shard.Count, dir)
	}
	return simErr
}

var mergeCommand = command{
	name:    "merge",
	summary: "combine the shards of a run (run --shard i/n) into the results of the whole run",
	run:     mergeShards,
}

func mergeShards(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet(env, "merge", "<shard-dir>...")
	out := fs.String("out", "", "output directory (default: the scenario's output.dir)")
	concurrency := fs.Int("concurrency", 0, "judge calls in flight (default: the scenario's)")
	quiet := fs.Bool("quiet", false, "print no table")
	previous := fs.String("baseline", "", "results.json of an earlier run of the same scenario to compare with, persona by persona")
	cacheMode := fs.String("cache", "", "LLM response cache mode for judging: readwrite, replay or off")
	scenarioFlag := fs.String("scenario", "", "the scenario the shards ran, when the path their run.json names does not exist here")
	dirs, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(dirs) == 0 {
		fs.Usage()
		return usageError{err: errors.New("merge takes the shard directories")}
	}
	start := time.Now()
	scenario, records, err := readShards(dirs)
	if err != nil {
		return err
	}
	if *scenarioFlag != "" {
		scenario = *scenarioFlag
	}
	plan, err := scenarios.Prepare(ctx, scenario, scenarios.Options{CacheMode: *cacheMode})
	if err != nil {
		return err
	}
	defer plan.Close()
	if err := sameRun(plan, dirs[0]); err != nil {
		return err
	}
	dir := plan.Scenario.OutputDir()
	if *out != "" {
		dir = *out
	}
	if err := notAShard(dir, dirs); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	agg := metrics.NewAggregator(plan.Catalog, plan.Metrics)
	if err := mergeTrajectories(dirs, dir, agg); err != nil {
		return err
	}
	if err := writeRunInfo(dir, scenario); err != nil {
		return err
	}
	var shardLLM *metrics.LLMUsage
	counts := map[string]recommenderCounts{}
	for _, r := range records {
		shardLLM = addLLMUsage(shardLLM, r.LLM)
		for name, c := range r.Recommenders {
			counts[name] = counts[name].add(c)
		}
	}
	return finishRun(ctx, env, plan, dir, agg, nil, finishOptions{
		concurrency: *concurrency, quiet: *quiet, previous: *previous, start: start,
		llm:    func(p *scenarios.Plan) *metrics.LLMUsage { return addLLMUsage(shardLLM, llmUsage(p)) },
		counts: counts,
	})
}

// readShards reads every shard directory's run.json and shard.json; all
// must name the same scenario.
func readShards(dirs []string) (string, []shardRecord, error) {
	var scenario string
	records := make([]shardRecord, len(dirs))
	for i, dir := range dirs {
		info, err := readRunInfo(dir)
		if err != nil {
			return "", nil, err
		}
		if i > 0 && info.Scenario != scenario {
			return "", nil, fmt.Errorf("%w: %s ran %s, but %s ran %s", trajectory.ErrShards, dirs[0], scenario, dir, info.Scenario)
		}
		scenario = info.Scenario
		data, err := os.ReadFile(filepath.Join(dir, shardFile))
		if err != nil {
			return "", nil, fmt.Errorf("%w: %s holds no %s (was it written by recloop run --shard i/n?): %w", trajectory.ErrShards, dir, shardFile, err)
		}
		if err := json.Unmarshal(data, &records[i]); err != nil {
			return "", nil, fmt.Errorf("%s: %w", filepath.Join(dir, shardFile), err)
		}
	}
	return scenario, records, nil
}

// sameRun checks that the scenario at hand is the one the shards ran: the
// metrics read the catalog and the personas from it.
func sameRun(plan *scenarios.Plan, shardDir string) error {
	f, err := os.Open(filepath.Join(shardDir, trajectoriesFile))
	if err != nil {
		return fmt.Errorf("%w: %w", trajectory.ErrShards, err)
	}
	defer f.Close()
	ev, err := trajectory.NewReader(f).Next()
	if err != nil || ev.Run == nil {
		return fmt.Errorf("%w: %s does not start with a run event", trajectory.ErrShards, filepath.Join(shardDir, trajectoriesFile))
	}
	s := plan.Scenario
	if ev.Run.Scenario != s.Name || ev.Run.Seed != s.Seed || ev.Run.Items != plan.Catalog.Len() || ev.Run.Personas != len(plan.States) {
		return fmt.Errorf("%w: the shards ran scenario %q (seed %d, %d items, %d personas), but the scenario here is %q (seed %d, %d items, %d personas)",
			trajectory.ErrShards, ev.Run.Scenario, ev.Run.Seed, ev.Run.Items, ev.Run.Personas, s.Name, s.Seed, plan.Catalog.Len(), len(plan.States))
	}
	return nil
}

func notAShard(out string, dirs []string) error {
	target, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	for _, d := range dirs {
		if abs, err := filepath.Abs(d); err == nil && abs == target {
			return usageError{err: fmt.Errorf("--out %s is one of the shards; write the merged run elsewhere", out)}
		}
	}
	return nil
}

// mergeTrajectories writes the whole run's trajectories.jsonl and feeds the
// same events to the aggregator, in the order one machine would have.
func mergeTrajectories(dirs []string, dir string, agg *metrics.Aggregator) error {
	var readers []io.Reader
	for _, d := range dirs {
		f, err := os.Open(filepath.Join(d, trajectoriesFile))
		if err != nil {
			return fmt.Errorf("%w: %w", trajectory.ErrShards, err)
		}
		defer f.Close()
		readers = append(readers, f)
	}
	f, err := os.Create(filepath.Join(dir, trajectoriesFile))
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

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/recloop/recloop/judges"
	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/reports"
	"github.com/recloop/recloop/scenarios"
	"github.com/recloop/recloop/trajectory"
)

// runInfo is what a run directory remembers about how it was made, so that
// `recloop judge` can rebuild the catalog and the judges.
type runInfo struct {
	Scenario string `json:"scenario"`
}

func writeRunInfo(dir, scenario string) error {
	if abs, err := filepath.Abs(scenario); err == nil {
		if _, statErr := os.Stat(abs); statErr == nil {
			scenario = abs
		}
	}
	data, err := json.MarshalIndent(runInfo{Scenario: scenario}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, runFile), append(data, '\n'), 0o644)
}

func readRunInfo(dir string) (runInfo, error) {
	var info runInfo
	data, err := os.ReadFile(filepath.Join(dir, runFile))
	if err != nil {
		return info, usageError{err: fmt.Errorf("%s is not a recloop run directory: %w", dir, err)}
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return info, fmt.Errorf("%s: %w", filepath.Join(dir, runFile), err)
	}
	return info, nil
}

// judgeRun scores the run's explanations and feeds the verdicts both to
// verdicts.jsonl and to the aggregator.
func judgeRun(ctx context.Context, env *cliEnv, plan *scenarios.Plan, dir string, concurrency int, agg *metrics.Aggregator, quiet bool) ([]metrics.JudgeAgreement, error) {
	f, err := os.Create(filepath.Join(dir, verdictsFile))
	if err != nil {
		return nil, fmt.Errorf("create verdicts file: %w", err)
	}
	defer f.Close()
	w := trajectory.NewWriter(f)
	start := time.Now()
	sum, err := judges.Run(ctx, plan.Catalog, filepath.Join(dir, trajectoriesFile), plan.Judges, plan.JudgeConfig(concurrency), trajectory.Sinks{w, agg})
	if ferr := w.Flush(); ferr != nil && err == nil {
		err = ferr
	}
	if cerr := f.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if !quiet {
		var parts []string
		for _, p := range plan.Judges {
			parts = append(parts, fmt.Sprintf("%s %d verdicts, %d failed", p.Name, sum.Verdicts[p.Name], sum.Errors[p.Name]))
		}
		fmt.Fprintf(env.stderr, "recloop: judged %d explanations (%s) in %s\n",
			sum.Explanations, strings.Join(parts, "; "), time.Since(start).Round(time.Millisecond))
	}
	var agreement []metrics.JudgeAgreement
	for _, a := range sum.Agreement {
		agreement = append(agreement, metrics.JudgeAgreement{Dimension: a.Dimension, Judges: a.Judges, Units: a.Units, Alpha: metrics.Float(a.Alpha)})
	}
	return agreement, err
}

var judgeCommand = command{
	name:    "judge",
	summary: "judge the explanations of a saved run again, without simulating it again",
	run: func(ctx context.Context, env *cliEnv, args []string) error {
		fs := newFlagSet(env, "judge", "<run-dir>")
		rubric := fs.String("rubric", "", "rubric YAML merged onto the default (replaces the scenario's)")
		concurrency := fs.Int("concurrency", 0, "judge calls in flight (default: the scenario's)")
		cacheMode := fs.String("cache", "", "LLM response cache mode: readwrite, replay or off")
		quiet := fs.Bool("quiet", false, "print no table")
		pos, err := parseFlags(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			fs.Usage()
			return usageError{err: errors.New("judge takes one run directory")}
		}
		dir := pos[0]
		info, err := readRunInfo(dir)
		if err != nil {
			return err
		}
		plan, err := scenarios.Prepare(ctx, info.Scenario, scenarios.Options{CacheMode: *cacheMode, Rubric: *rubric})
		if err != nil {
			return err
		}
		defer plan.Close()
		agg := metrics.NewAggregator(plan.Catalog, plan.Metrics)
		tf, err := os.Open(filepath.Join(dir, trajectoriesFile))
		if err != nil {
			return err
		}
		err = trajectory.ReadAll(tf, agg)
		tf.Close()
		if err != nil {
			return err
		}
		agreement, err := judgeRun(ctx, env, plan, dir, *concurrency, agg, *quiet)
		if err != nil && !scenarios.StopsTheRun(err) {
			return err
		}
		pairs, err := pairwise(ctx, plan, dir, *concurrency)
		if err != nil && !scenarios.StopsTheRun(err) {
			return err
		}
		results := agg.Results()
		results.JudgeAgreement = agreement
		results.Pairwise = pairs
		metrics.EvaluateGates(results, plan.Scenario.ParsedGates(), plan.Scenario.InconclusiveFails())
		results.Bands = plan.Scenario.ReferenceBands()
		if plan.LLM != nil {
			results.LLM = llmUsage(plan)
		}
		if err := writeOutputs(dir, results, plan); err != nil {
			return err
		}
		if !*quiet {
			if err := reports.Table(env.stdout, results); err != nil {
				return err
			}
			if err := reports.Verdict(env.stdout, results); err != nil {
				return err
			}
		}
		return gateVerdict(results)
	},
}

// pairwise runs the blind comparisons the scenario asks for, with the first
// panel judge that can compare.
func pairwise(ctx context.Context, plan *scenarios.Plan, dir string, concurrency int) ([]metrics.Pairwise, error) {
	if !plan.Scenario.Judges.Pairwise {
		return nil, nil
	}
	for _, p := range plan.Judges {
		pj, ok := p.Judge.(judges.Pairwise)
		if !ok {
			continue
		}
		res, err := judges.RunPairwise(ctx, plan.Catalog, filepath.Join(dir, trajectoriesFile), pj, plan.JudgeConfig(concurrency))
		var out []metrics.Pairwise
		for _, r := range res {
			m := metrics.Pairwise{Judge: p.Name, Baseline: r.Baseline, Candidate: r.Candidate, Compared: r.Compared,
				BaselineWins: r.BaselineWins, CandidateWins: r.CandidateWins, Ties: r.Ties, PositionBiased: r.PositionBiased}
			if r.Compared > 0 {
				m.PositionBiasRate = metrics.Float(float64(r.PositionBiased) / float64(r.Compared))
			}
			out = append(out, m)
		}
		return out, err
	}
	return nil, errors.New("judges.pairwise: no judge on the panel can compare explanations")
}

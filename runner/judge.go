package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/recloop/recloop/judges"
	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/scenarios"
	"github.com/recloop/recloop/trajectory"
)

// Rejudge judges a saved run's explanations again, without simulating it
// again, and rewrites its outputs. Everything the simulation decided (its
// metrics, its accounting, its comparison with a baseline) stays as it was;
// only the judges' fields change.
func Rejudge(ctx context.Context, path string, opts Options) (*Outcome, error) {
	start := time.Now()
	dir := RunDir{Path: path}
	rec, err := dir.ReadRecord()
	if err != nil {
		return nil, err
	}
	if rec.Shard != nil {
		return nil, WithExitCode(ExitInvalid, fmt.Errorf("%s is shard %d/%d of a run; merge the shards (recloop merge), then judge the merged run", path, rec.Shard.Index, rec.Shard.Count))
	}
	plan, err := Prepare(ctx, rec.Scenario, opts)
	if err != nil {
		return nil, err
	}
	defer plan.Close()
	agg := metrics.NewAggregator(plan.Catalog, plan.Metrics)
	if err := readEvents(dir.Trajectories(), agg); err != nil {
		return nil, err
	}
	if opts.Baseline != "" {
		rec.Baseline = absIfFile(opts.Baseline)
	}
	// The fresh plan's clients have only judged: the simulation's own
	// accounting comes from the record.
	judging := func() Accounting { return rec.Accounting.add(Accounting{LLM: llmUsageIfAny(plan)}) }
	return assemble(ctx, plan, dir, agg, nil, rec, opts, start, judging)
}

func readEvents(path string, sink trajectory.Sink) error {
	f, err := trajectory.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return trajectory.ReadAll(f, sink)
}

// judge scores the run's explanations and feeds the verdicts both to
// verdicts.jsonl and to the aggregator.
func judge(ctx context.Context, plan *scenarios.Plan, dir RunDir, opts Options, agg *metrics.Aggregator) ([]metrics.JudgeAgreement, error) {
	f, err := dir.createVerdicts(plan.Scenario.Compression())
	if err != nil {
		return nil, fmt.Errorf("create verdicts file: %w", err)
	}
	defer f.Close()
	w := trajectory.NewWriter(f)
	var file trajectory.Sink = w
	finish := w.Flush
	if !plan.Scenario.FullVerdicts() {
		compact := newCompactVerdicts(w, firstSegments(plan), variantNames(plan))
		file, finish = compact, compact.finish
	}
	start := time.Now()
	sum, err := judges.Run(ctx, plan.Catalog, dir.Trajectories(), plan.Judges, plan.JudgeConfig(opts.Concurrency), trajectory.Sinks{file, agg})
	if ferr := finish(); ferr != nil && err == nil {
		err = ferr
	}
	if cerr := f.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if opts.Observer != nil {
		panel := make([]string, len(plan.Judges))
		for i, p := range plan.Judges {
			panel[i] = p.Name
		}
		opts.Observer.Judged(Judging{Summary: sum, Panel: panel, Elapsed: time.Since(start)})
	}
	var agreement []metrics.JudgeAgreement
	for _, a := range sum.Agreement {
		agreement = append(agreement, metrics.JudgeAgreement{Dimension: a.Dimension, Judges: a.Judges, Units: a.Units, Alpha: metrics.Float(a.Alpha)})
	}
	return agreement, err
}

// pairwise runs the blind comparisons the scenario asks for, with the first
// panel judge that can compare.
func pairwise(ctx context.Context, plan *scenarios.Plan, dir RunDir, concurrency int) ([]metrics.Pairwise, error) {
	if !plan.Scenario.Judges.Pairwise {
		return nil, nil
	}
	for _, p := range plan.Judges {
		pj, ok := p.Judge.(judges.Pairwise)
		if !ok {
			continue
		}
		res, err := judges.RunPairwise(ctx, plan.Catalog, dir.Trajectories(), pj, plan.JudgeConfig(concurrency))
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

// firstSegments maps each persona to its first segment label, the
// stratum compact verdicts are counted in.
func firstSegments(plan *scenarios.Plan) map[string]string {
	out := make(map[string]string, len(plan.States))
	for _, st := range plan.States {
		if len(st.Persona.Segments) > 0 {
			out[st.Persona.ID] = st.Persona.Segments[0]
		}
	}
	return out
}

func variantNames(plan *scenarios.Plan) []string {
	names := make([]string, len(plan.Variants))
	for i, v := range plan.Variants {
		names[i] = v.Name
	}
	return names
}

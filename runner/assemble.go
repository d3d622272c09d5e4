package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/recloop/recloop/catalog"
	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/scenarios"
	"github.com/recloop/recloop/simulator"
)

// assemble is the one way a run is completed, whether it was just
// simulated, is judged again or was merged from shards: judges → results →
// comparisons → gates → bands → outputs → the error that decides the exit
// code. The aggregator has seen every event; account is called after
// judging, so that it includes what judging spent.
func assemble(ctx context.Context, plan *scenarios.Plan, dir RunDir, agg *metrics.Aggregator, simErr error,
	rec Record, opts Options, start time.Time, account func() Accounting) (*Outcome, error) {
	var judgeErr error
	var agreement []metrics.JudgeAgreement
	var pairs []metrics.Pairwise
	if simErr == nil && plan.Scenario.WriteTrajectories() && len(plan.Judges) > 0 {
		agreement, judgeErr = judge(ctx, plan, dir, opts, agg)
		if judgeErr == nil {
			pairs, judgeErr = pairwise(ctx, plan, dir, opts.Concurrency)
		}
		if ctx.Err() != nil {
			// Interrupted while judging: keep the simulation's results.
			judgeErr = fmt.Errorf("%w while judging (verdicts incomplete)", simulator.ErrInterrupted)
		} else if judgeErr != nil && !scenarios.StopsTheRun(judgeErr) {
			return nil, judgeErr
		}
	}
	results := agg.Results()
	acct := account()
	if plan.LLM != nil {
		results.LLM = acct.LLM
	}
	applyCounts(results, acct.Recommenders)
	results.JudgeAgreement = agreement
	results.Pairwise = pairs
	if rec.Baseline != "" {
		base, err := ReadResults(rec.Baseline)
		if err != nil {
			return nil, err
		}
		cs, err := metrics.CompareRuns(base, results, plan.Metrics.ABBootstrap, plan.Scenario.Seed)
		if err != nil {
			return nil, WithExitCode(ExitInvalid, fmt.Errorf("--baseline %s: %w", rec.Baseline, err))
		}
		results.Comparisons = append(results.Comparisons, cs...)
	}
	if judgeErr != nil {
		results.Partial, results.Reason = true, judgeErr.Error()
	}
	metrics.EvaluateGates(results, plan.Scenario.ParsedGates(), plan.Scenario.InconclusiveFails())
	results.Bands = plan.Scenario.ReferenceBands()
	if err := dir.writeOutputs(results, plan.Scenario.WriteReport(), catalogTitles(plan.Catalog), opts.Logger); err != nil {
		return nil, err
	}
	out := &Outcome{Dir: dir, Results: results, Elapsed: time.Since(start)}
	if err := cmp.Or(simErr, judgeErr); err != nil {
		return out, err
	}
	if err := checkTolerance(results, plan.Scenario.ErrorTolerance()); err != nil {
		return out, err
	}
	return out, gateVerdict(results)
}

// gateVerdict turns a failed gate verdict into ErrGatesFailed.
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
	return fmt.Errorf("%w: %s", ErrGatesFailed, strings.Join(failed, "; "))
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
	return WithExitCode(ExitRuntime, errors.Join(errs...))
}

// catalogTitles names items by their titles, falling back to the id.
func catalogTitles(cat *catalog.Catalog) func(string) string {
	titles := make(map[string]string, cat.Len())
	for _, it := range cat.Items() {
		if it.Title != "" {
			titles[it.ID] = it.Title
		}
	}
	return func(id string) string {
		if t, ok := titles[id]; ok {
			return t
		}
		return id
	}
}

// Compare compares two saved runs of one scenario persona by persona, with
// the candidate's seed for the bootstrap.
func Compare(basePath, candidatePath string) ([]metrics.Comparison, error) {
	base, err := ReadResults(basePath)
	if err != nil {
		return nil, err
	}
	cand, err := ReadResults(candidatePath)
	if err != nil {
		return nil, err
	}
	cs, err := metrics.CompareRuns(base, cand, 0, cand.Seed)
	return cs, WithExitCode(ExitInvalid, err)
}

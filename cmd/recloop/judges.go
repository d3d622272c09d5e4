package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/recloop/recloop/judges"
	"github.com/recloop/recloop/scenarios"
)

var judgesCommand = command{
	name:    "judges",
	summary: "judges calibrate --labels human.jsonl <scenario>: agreement of the scenario's judges with human labels",
	run: func(ctx context.Context, env *cliEnv, args []string) error {
		fs := newFlagSet(env, "judges", "calibrate --labels human.jsonl <scenario>")
		labelsPath := fs.String("labels", "", "human labels, one JSON object per line (docs/judges-llm.md)")
		minAlpha := fs.Float64("min-alpha", math.NaN(), "fail (exit 1) when any judge's α on any dimension is below this (default: the scenario's judges.min_agreement)")
		pos, err := parseFlags(fs, args)
		if err != nil {
			return err
		}
		if len(pos) != 2 || pos[0] != "calibrate" || *labelsPath == "" {
			fs.Usage()
			return usageError{err: errors.New("usage: recloop judges calibrate --labels human.jsonl <scenario>")}
		}
		plan, err := scenarios.Prepare(ctx, pos[1], scenarios.Options{})
		if err != nil {
			return err
		}
		defer plan.Close()
		labels, err := judges.LoadLabels(*labelsPath)
		if err != nil {
			return withExitCode(ExitInvalid, err)
		}
		threshold := plan.Scenario.Judges.MinAgreement
		if !math.IsNaN(*minAlpha) {
			threshold = *minAlpha
		}
		rubric := judges.DefaultRubric()
		var below []string
		calibrated := 0
		for _, p := range plan.Judges {
			if !p.Sampled {
				continue // the grounding judge checks data, not opinions
			}
			calibrated++
			res, err := judges.Calibrate(ctx, p.Judge, labels, rubric)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "judge %s against %d human labels:\n", p.Name, res.Labels)
			fmt.Fprintf(env.stdout, "  %-14s %5s %8s %8s %8s %8s\n", "dimension", "n", "alpha", "kappa", "MAD", "bias")
			for _, d := range res.Dimensions {
				fmt.Fprintf(env.stdout, "  %-14s %5d %8s %8s %8.3f %+8.3f\n", d.Dimension, d.N, statistic(d.Alpha), statistic(d.Kappa), d.MAD, d.Bias)
				if threshold != 0 && !(d.Alpha >= threshold) {
					below = append(below, fmt.Sprintf("%s on %s: α %s < %g", p.Name, d.Dimension, statistic(d.Alpha), threshold))
				}
			}
		}
		if calibrated == 0 {
			return usageError{err: errors.New("the scenario's judges.panel has no judge to calibrate (the grounding judge checks data, not opinions)")}
		}
		if len(below) > 0 {
			return withExitCode(ExitGateFailed, fmt.Errorf("judge agreement below the minimum: %s", strings.Join(below, "; ")))
		}
		return nil
	},
}

func statistic(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.3f", x)
}

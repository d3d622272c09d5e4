package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"

	"github.com/recloop/recloop/judges"
	"github.com/recloop/recloop/scenarios"
)

// JudgeCalibration is one judge's agreement with the human labels.
type JudgeCalibration struct {
	Judge string
	judges.CalibrationResult
}

// Calibrate measures how far each of a scenario's sampled judges agrees
// with human labels. minAlpha replaces the scenario's judges.min_agreement
// unless it is NaN; a judge below it on any dimension makes the returned
// error exit 1, after every judge has been measured.
func Calibrate(ctx context.Context, scenario, labelsPath string, minAlpha float64, logger *slog.Logger) ([]JudgeCalibration, error) {
	plan, err := scenarios.Prepare(ctx, scenario, scenarios.Options{Logger: logger})
	if err != nil {
		return nil, err
	}
	defer plan.Close()
	labels, err := judges.LoadLabels(labelsPath)
	if err != nil {
		return nil, WithExitCode(ExitInvalid, err)
	}
	threshold := plan.Scenario.Judges.MinAgreement
	if !math.IsNaN(minAlpha) {
		threshold = minAlpha
	}
	rubric := judges.DefaultRubric()
	var out []JudgeCalibration
	var below []string
	for _, p := range plan.Judges {
		if !p.Sampled {
			continue // the grounding judge checks data, not opinions
		}
		res, err := judges.Calibrate(ctx, p.Judge, labels, rubric)
		if err != nil {
			return out, err
		}
		out = append(out, JudgeCalibration{Judge: p.Name, CalibrationResult: res})
		for _, d := range res.Dimensions {
			if threshold != 0 && !(d.Alpha >= threshold) {
				below = append(below, fmt.Sprintf("%s on %s: α %s < %g", p.Name, d.Dimension, Statistic(d.Alpha), threshold))
			}
		}
	}
	if len(out) == 0 {
		return nil, WithExitCode(ExitInvalid, errors.New("the scenario's judges.panel has no judge to calibrate (the grounding judge checks data, not opinions)"))
	}
	if len(below) > 0 {
		return out, WithExitCode(ExitGateFailed, fmt.Errorf("judge agreement below the minimum: %s", strings.Join(below, "; ")))
	}
	return out, nil
}

// Statistic prints a statistic to three decimals, or "–" when undefined.
func Statistic(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.3f", x)
}

package metrics

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// ErrGate is matched by every gate parse error.
var ErrGate = errors.New("metrics: invalid gate")

// Gate is one release check, written in the scenario as a line such as
//
//	ctr[content] >= 0.05                 absolute: the candidate's CTR
//	cold_ctr_ratio[content] >= 0.5       absolute, any metric the results hold
//	ctr[content/new-signup] >= 0.03      within a segment
//	p95_latency_ms[*] <= 200             every variant
//	ctr[content] - baseline >= -0.005    non-inferiority: CI lower bound of the difference ≥ −0.005
//	ctr[content] - baseline > 0          superiority: CI lower bound > 0
//	calibration_kl[content] - baseline <= 0.2   CI upper bound ≤ 0.2 (lower is better)
type Gate struct {
	Name       string
	Check      string
	Metric     string
	Variant    string
	Segment    string
	VsBaseline bool
	Op         string
	Threshold  float64
}

var gatePattern = regexp.MustCompile(`^\s*([A-Za-z0-9_:.-]+)\[\s*([^\]/]+?)\s*(?:/\s*([^\]]+?)\s*)?\]\s*(-\s*baseline\s*)?(>=|<=|>|<)\s*([-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*$`)

// ParseGate reads one gate line.
func ParseGate(name, check string) (Gate, error) {
	m := gatePattern.FindStringSubmatch(check)
	if m == nil {
		return Gate{}, fmt.Errorf("%w: %q: write metric[variant] OP number, or metric[variant] - baseline OP number (OP is >=, >, <= or <)", ErrGate, check)
	}
	threshold, err := strconv.ParseFloat(m[6], 64)
	if err != nil || math.IsNaN(threshold) || math.IsInf(threshold, 0) {
		return Gate{}, fmt.Errorf("%w: %q: %q is not a number", ErrGate, check, m[6])
	}
	if name == "" {
		name = strings.Join(strings.Fields(check), " ")
	}
	return Gate{Name: name, Check: check, Metric: m[1], Variant: m[2], Segment: m[3], VsBaseline: m[4] != "", Op: m[5], Threshold: threshold}, nil
}

func (g Gate) holds(x float64) bool {
	switch g.Op {
	case ">=":
		return x >= g.Threshold
	case ">":
		return x > g.Threshold
	case "<=":
		return x <= g.Threshold
	default:
		return x < g.Threshold
	}
}

// EvaluateGates gives every gate its verdicts (one per variant it names) and
// sets r.Gates and r.Verdict. An inconclusive gate fails the run unless
// inconclusiveFails is false.
func EvaluateGates(r *Results, gates []Gate, inconclusiveFails bool) {
	r.Gates = r.Gates[:0]
	for _, g := range gates {
		variants := []string{g.Variant}
		if g.Variant == "*" {
			variants = variants[:0]
			for _, v := range r.Variants {
				if !g.VsBaseline || v.Name != r.Baseline {
					variants = append(variants, v.Name)
				}
			}
		}
		for _, v := range variants {
			res := evaluate(r, g, v)
			if g.Variant == "*" {
				res.Name = fmt.Sprintf("%s (%s)", g.Name, v)
			}
			r.Gates = append(r.Gates, res)
		}
	}
	r.Verdict = ""
	if len(r.Gates) == 0 {
		return
	}
	r.Verdict = GatePass
	for _, g := range r.Gates {
		switch {
		case g.Verdict == GateFail:
			r.Verdict = GateFail
		case g.Verdict == GateInconclusive && r.Verdict == GatePass:
			r.Verdict = GateInconclusive
		}
	}
	if r.Verdict == GateInconclusive && inconclusiveFails {
		r.Verdict = GateFail
	}
}

func evaluate(r *Results, g Gate, variant string) GateResult {
	out := GateResult{Name: g.Name, Check: g.Check, Threshold: Float(g.Threshold), Observed: nan(), Verdict: GateFail}
	if g.VsBaseline {
		return evaluateComparative(r, g, variant, out)
	}
	x, ok := lookup(r, g.Metric, variant, g.Segment)
	switch {
	case !ok:
		out.Message = fmt.Sprintf("%s has no metric %s%s", variant, g.Metric, segmentSuffix(g.Segment))
	case math.IsNaN(x):
		out.Message = fmt.Sprintf("%s of %s%s is undefined in this run", g.Metric, variant, segmentSuffix(g.Segment))
	default:
		out.Observed = Float(x)
		if g.holds(x) {
			out.Verdict = GatePass
		}
		out.Message = fmt.Sprintf("%s of %s%s is %s (must be %s %s)", g.Metric, variant, segmentSuffix(g.Segment),
			strconv.FormatFloat(x, 'g', 4, 64), g.Op, strconv.FormatFloat(g.Threshold, 'g', -1, 64))
	}
	return out
}

// evaluateComparative judges a difference from the baseline by the CI bound
// on the side the gate guards: the lower bound for >= and >, the upper for
// <= and <. A gate that does not pass is inconclusive when the CI still
// straddles the threshold and the run is too small to resolve it (the MDE
// exceeds the margin); otherwise it fails.
func evaluateComparative(r *Results, g Gate, variant string, out GateResult) GateResult {
	c, ok := findComparison(r, g.Metric, variant, g.Segment)
	if !ok {
		out.Message = fmt.Sprintf("no comparison of %s%s with the baseline on %s (is a baseline set?)", variant, segmentSuffix(g.Segment), g.Metric)
		return out
	}
	bound := float64(c.CILow)
	side := "lower"
	if g.Op == "<=" || g.Op == "<" {
		bound, side = float64(c.CIHigh), "upper"
	}
	if math.IsNaN(bound) {
		out.Message = fmt.Sprintf("the difference in %s between %s and %s is undefined", g.Metric, variant, c.Baseline)
		return out
	}
	out.Observed = Float(bound)
	diff := fmt.Sprintf("%s − %s on %s%s: %+.4g (95%% CI %.4g to %.4g, MDE %.3g)", variant, c.Baseline, g.Metric,
		segmentSuffix(g.Segment), float64(c.Diff), float64(c.CILow), float64(c.CIHigh), float64(c.MDE))
	if g.holds(bound) {
		out.Verdict = GatePass
		out.Message = fmt.Sprintf("%s; the CI's %s bound is %s %g", diff, side, g.Op, g.Threshold)
		return out
	}
	straddles := float64(c.CILow) <= g.Threshold && g.Threshold <= float64(c.CIHigh)
	if straddles && float64(c.MDE) > math.Abs(g.Threshold) {
		out.Verdict = GateInconclusive
		out.Message = fmt.Sprintf("%s; too few personas to tell: the MDE exceeds the margin %g", diff, math.Abs(g.Threshold))
		return out
	}
	out.Message = fmt.Sprintf("%s; the CI's %s bound is not %s %g", diff, side, g.Op, g.Threshold)
	return out
}

func segmentSuffix(segment string) string {
	if segment == "" {
		return ""
	}
	return " (" + segment + ")"
}

// findComparison prefers the comparison with the run's baseline variant,
// then one with a previous run (`recloop run --baseline`).
func findComparison(r *Results, metric, variant, segment string) (Comparison, bool) {
	var fallback *Comparison
	for i, c := range r.Comparisons {
		if c.Metric != metric || c.Candidate != variant || c.Segment != segment {
			continue
		}
		if c.Baseline == r.Baseline {
			return c, true
		}
		if fallback == nil {
			fallback = &r.Comparisons[i]
		}
	}
	if fallback != nil {
		return *fallback, true
	}
	return Comparison{}, false
}

// lookup finds a value a gate can check: a headline or segment metric, or
// a figure the registry knows how to read.
func lookup(r *Results, metric, variant, segment string) (float64, bool) {
	var v *VariantResult
	for i := range r.Variants {
		if r.Variants[i].Name == variant {
			v = &r.Variants[i]
		}
	}
	if v == nil {
		return 0, false
	}
	if segment != "" {
		for _, s := range v.Segments {
			if s.Segment == segment {
				for _, m := range s.Metrics {
					if m.Name == metric {
						return float64(m.Value), true
					}
				}
			}
		}
		return 0, false
	}
	if m, ok := v.Metric(metric); ok {
		return float64(m.Value), true
	}
	if m, ok := Lookup(metric); ok && m.figure != nil {
		return m.figure(v, m.arg)
	}
	return 0, false
}

// GateMetricKnown reports whether a gate or band may name metric: whether
// the registry has it.
func GateMetricKnown(metric string) bool {
	_, ok := Lookup(metric)
	return ok
}

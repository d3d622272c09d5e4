package reports

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/recloop/recloop/metrics"
)

// significant says whether a paired difference is significant at 0.05: by
// its Holm-corrected p-value when it has one, else by a CI that excludes 0.
func significant(c metrics.Comparison) bool {
	if !c.Diff.Defined() {
		return false
	}
	if c.PHolm.Defined() {
		return float64(c.PHolm) < significance
	}
	return c.CILow.Defined() && c.CIHigh.Defined() && (c.CILow > 0 || c.CIHigh < 0)
}

// diffTone is how a significant difference reads: "good", "bad" or
// "changed" where better depends on the goal; "" when not significant.
func diffTone(c metrics.Comparison) string {
	if !significant(c) {
		return ""
	}
	switch infoFor(c.Metric).dir {
	case metrics.HigherIsBetter:
		if c.Diff > 0 {
			return "good"
		}
		return "bad"
	case metrics.LowerIsBetter:
		if c.Diff < 0 {
			return "good"
		}
		return "bad"
	}
	return "changed"
}

// findComparison returns the candidate's comparison on a metric and segment.
func findComparison(cs []metrics.Comparison, candidate, metric, segment string) (metrics.Comparison, bool) {
	for _, c := range cs {
		if c.Candidate == candidate && c.Metric == metric && c.Segment == segment {
			return c, true
		}
	}
	return metrics.Comparison{}, false
}

// amount prints the size of a difference in the metric's unit: "2.1 points"
// for shares, a plain number otherwise.
func amount(info metricInfo, x metrics.Float) string {
	f := math.Abs(float64(x))
	if info.percent {
		return fmt.Sprintf("%.1f points", 100*f)
	}
	return formatNumber(f)
}

// ciText prints "95% CI lo to hi" in the metric's unit (points for shares).
func ciText(info metricInfo, c metrics.Comparison) string {
	if !c.CILow.Defined() || !c.CIHigh.Defined() {
		return "no confidence interval"
	}
	f := func(x metrics.Float) string {
		if info.percent {
			return fmt.Sprintf("%.1f", 100*float64(x))
		}
		return formatNumber(float64(x))
	}
	return "95% CI " + f(c.CILow) + " to " + f(c.CIHigh)
}

func segmentPhrase(segment string) string {
	switch segment {
	case metrics.SegmentCold:
		return "cold-start users"
	case metrics.SegmentWarm:
		return "warm users"
	case metrics.SegmentLateJoiner:
		return "late joiners"
	}
	return "personas in segment “" + oneLine(segment) + "”"
}

// leadMetric is the metric the narrative leads with, and how a sentence
// names it: CTR, or the success rate of a conversational run.
func leadMetric(r *metrics.Results) (name, phrase string) {
	if conversational(r) {
		return metrics.SuccessRate, "success rate"
	}
	return metrics.CTR, "CTR"
}

// candidateSentence is the plain-language summary of one candidate against
// the baseline: its change in the lead metric, what happens to diversity,
// which segment gains most, and what else got significantly worse.
func candidateSentence(r *metrics.Results, candidate string) string {
	var b strings.Builder
	name := oneLine(candidate)
	lead, phrase := leadMetric(r)
	leadInfo := infoFor(lead)
	if c, ok := findComparison(r.Comparisons, candidate, lead, ""); ok && c.Diff.Defined() {
		switch {
		case significant(c) && c.Diff > 0:
			fmt.Fprintf(&b, "%s raises %s by %s (%s)", name, phrase, amount(leadInfo, c.Diff), ciText(leadInfo, c))
		case significant(c):
			fmt.Fprintf(&b, "%s lowers %s by %s (%s)", name, phrase, amount(leadInfo, c.Diff), ciText(leadInfo, c))
		default:
			fmt.Fprintf(&b, "%s leaves %s about the same (%+.1f points, %s, not significant)", name, phrase, 100*float64(c.Diff), ciText(leadInfo, c))
		}
	} else {
		fmt.Fprintf(&b, "%s has no %s comparison with %s", name, phrase, oneLine(r.Baseline))
	}
	if c, ok := findComparison(r.Comparisons, candidate, metrics.ILD, ""); ok && c.Diff.Defined() {
		switch diffTone(c) {
		case "good":
			b.WriteString(" and diversifies its slates")
		case "bad":
			fmt.Fprintf(&b, " but makes its slates less diverse (intra-list diversity −%s)", amount(infoFor(metrics.ILD), c.Diff))
		default:
			b.WriteString(" and keeps diversity")
		}
	}
	if seg, c, ok := biggestSegmentGain(r.Comparisons, candidate, lead); ok {
		fmt.Fprintf(&b, "; %s gain most (+%s %s)", segmentPhrase(seg), amount(leadInfo, c.Diff), phrase)
	}
	b.WriteString(".")
	var worse []string
	for _, c := range r.Comparisons {
		if c.Candidate == candidate && c.Segment == "" && c.Metric != metrics.ILD && c.Metric != lead && diffTone(c) == "bad" {
			worse = append(worse, infoFor(c.Metric).label)
		}
	}
	if len(worse) > 0 {
		fmt.Fprintf(&b, " Significantly worse: %s.", strings.ToLower(strings.Join(worse, ", ")))
	}
	return b.String()
}

// biggestSegmentGain is the segment whose lead metric rises most, when
// that rise is significant and larger than the rise over all personas.
func biggestSegmentGain(cs []metrics.Comparison, candidate, lead string) (string, metrics.Comparison, bool) {
	overall, ok := findComparison(cs, candidate, lead, "")
	if !ok || !overall.Diff.Defined() {
		return "", metrics.Comparison{}, false
	}
	var best metrics.Comparison
	found := false
	for _, c := range cs {
		if c.Candidate != candidate || c.Metric != lead || c.Segment == "" || !significant(c) || c.Diff <= 0 {
			continue
		}
		if !found || c.Diff > best.Diff || (c.Diff == best.Diff && c.Segment < best.Segment) {
			best, found = c, true
		}
	}
	if !found || best.Diff <= overall.Diff {
		return "", metrics.Comparison{}, false
	}
	return best.Segment, best, true
}

// narrative is the verdict's plain-language sentences, generated from the
// numbers only.
func narrative(r *metrics.Results) []string {
	var out []string
	t := tallyGates(r.Gates)
	switch overallVerdict(r) {
	case "":
		out = append(out, "The scenario sets no gates, so this run neither passes nor fails.")
	case metrics.GatePass:
		out = append(out, fmt.Sprintf("All %d gates pass.", t.total))
	default:
		var names []string
		for _, g := range r.Gates {
			if g.Verdict != metrics.GatePass {
				names = append(names, oneLine(g.Name)+" ("+oneLine(g.Verdict)+")")
			}
		}
		out = append(out, fmt.Sprintf("%d of %d gates do not pass: %s.", t.total-t.pass, t.total, strings.Join(names, ", ")))
	}
	if r.Partial {
		out = append(out, "The run stopped early, so the numbers cover only what ran.")
	}
	lead, phrase := leadMetric(r)
	candidates := comparedCandidates(r.Comparisons)
	for _, c := range candidates {
		out = append(out, candidateSentence(r, c))
		if s := tradeOffSentence(r, c); s != "" {
			out = append(out, s)
		}
	}
	if len(candidates) == 0 && len(r.Variants) > 1 {
		out = append(out, "No baseline was named, so no difference was tested; the scorecard compares the variants side by side.")
		if s := leaderSentence(r, lead); s != "" {
			out = append(out, s)
		}
	}
	if len(r.Variants) == 1 {
		v := &r.Variants[0]
		if m, ok := v.Metric(lead); ok && m.Value.Defined() {
			info := infoFor(lead)
			out = append(out, fmt.Sprintf("%s has a %s of %s (%s).", oneLine(v.Name), phrase, info.format(m.Value), valueCI(info, m)))
		}
	}
	return out
}

// leaderSentence names the variant best on a metric, with its CI.
func leaderSentence(r *metrics.Results, metric string) string {
	info := infoFor(metric)
	best := -1
	var bestVal metrics.Value
	for i := range r.Variants {
		m, ok := r.Variants[i].Metric(metric)
		if !ok || !m.Value.Defined() {
			continue
		}
		better := m.Value > bestVal.Value
		if info.dir == metrics.LowerIsBetter {
			better = m.Value < bestVal.Value
		}
		if best < 0 || better {
			best, bestVal = i, m
		}
	}
	if best < 0 {
		return ""
	}
	var overlaps []string
	for i := range r.Variants {
		m, ok := r.Variants[i].Metric(metric)
		if i == best || !ok || !m.Value.Defined() {
			continue
		}
		if m.CIHigh >= bestVal.CILow && m.CILow <= bestVal.CIHigh {
			overlaps = append(overlaps, oneLine(r.Variants[i].Name))
		}
	}
	s := fmt.Sprintf("%s has the best %s (%s, %s)", oneLine(r.Variants[best].Name), info.label,
		info.format(bestVal.Value), valueCI(info, bestVal))
	if len(overlaps) > 0 {
		slices.Sort(overlaps)
		s += "; its interval overlaps " + strings.Join(overlaps, ", ") + "'s, so the lead may be noise"
	}
	return s + "."
}

// valueCI prints a headline value's CI as "95% CI lo to hi".
func valueCI(info metricInfo, m metrics.Value) string {
	if !m.CILow.Defined() || !m.CIHigh.Defined() {
		return "no confidence interval"
	}
	return "95% CI " + info.format(m.CILow) + " to " + info.format(m.CIHigh)
}

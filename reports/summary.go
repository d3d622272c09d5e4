package reports

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/recloop/recloop/metrics"
)

// significance is the Holm-corrected p-value below which a difference is
// marked as significant.
const significance = 0.05

// markdownCell keeps text from the run from breaking a table row or being
// read as Markdown or HTML.
var markdownCell = strings.NewReplacer(
	`\`, `\\`, "|", `\|`, "`", "\\`", "*", `\*`, "[", `\[`, "]", `\]`,
	"<", "&lt;", ">", "&gt;", "&", "&amp;",
)

func mdText(s string) string { return markdownCell.Replace(oneLine(s)) }

func verdictBadge(v string) string {
	switch v {
	case metrics.GatePass:
		return "✅ pass"
	case metrics.GateFail:
		return "❌ fail"
	case metrics.GateInconclusive:
		return "⚠️ inconclusive"
	case "":
		return "ℹ️ no gates"
	}
	return "❓ " + mdText(v)
}

// Summary writes the run as Markdown for a pull-request comment or
// $GITHUB_STEP_SUMMARY: the overall verdict, the gates, and each candidate's
// paired comparison with the baseline on the headline metrics.
func Summary(w io.Writer, r *metrics.Results) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s — recloop scenario %s\n\n", verdictBadge(overallVerdict(r)), mdText(r.Scenario))
	fmt.Fprintf(&b, "Seed %d · %d personas · %d rounds · %d items · %d variants",
		r.Seed, r.Personas, r.Rounds, r.Items, len(r.Variants))
	if r.Baseline != "" {
		fmt.Fprintf(&b, " · baseline %s", mdText(r.Baseline))
	}
	b.WriteString("\n\n")
	if r.Partial {
		reason := r.Reason
		if reason == "" {
			reason = "no reason recorded"
		}
		fmt.Fprintf(&b, "> ⚠️ **Partial run** (%s): the numbers cover only what ran before the stop.\n\n", mdText(reason))
	}
	writeGateTable(&b, r.Gates)
	for _, candidate := range comparedCandidates(r.Comparisons) {
		writeComparisonTable(&b, r, candidate)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("reports: write summary: %w", err)
	}
	return nil
}

func writeGateTable(b *strings.Builder, gates []metrics.GateResult) {
	if len(gates) == 0 {
		b.WriteString("No gates are configured for this scenario.\n\n")
		return
	}
	t := tallyGates(gates)
	fmt.Fprintf(b, "### Gates: %d passed, %d failed, %d inconclusive\n\n", t.pass, t.fail, t.inconclusive)
	b.WriteString("| Gate | Check | Observed | Threshold | Verdict | Message |\n")
	b.WriteString("|---|---|--:|--:|---|---|\n")
	for _, g := range gates {
		observed, threshold := gateNumbers(g.Observed, g.Threshold)
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", mdText(g.Name), mdText(g.Check),
			observed, threshold, verdictBadge(g.Verdict), mdText(g.Message))
	}
	b.WriteString("\n")
}

// comparedCandidates lists the candidates compared on headline metrics (no
// segment), in the order the comparisons first name them.
func comparedCandidates(cs []metrics.Comparison) []string {
	var out []string
	for _, c := range cs {
		if c.Segment == "" && !slices.Contains(out, c.Candidate) {
			out = append(out, c.Candidate)
		}
	}
	return out
}

func writeComparisonTable(b *strings.Builder, r *metrics.Results, candidate string) {
	var baseline string
	for _, c := range r.Comparisons {
		if c.Segment == "" && c.Candidate == candidate {
			baseline = c.Baseline
			break
		}
	}
	fmt.Fprintf(b, "### %s vs %s\n\n", mdText(candidate), mdText(baseline))
	b.WriteString("| Metric | Baseline | Candidate | Diff [95% CI] | n | p (Holm) | Sig. | MDE |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|:-:|--:|\n")
	base, cand := variantNamed(r, baseline), variantNamed(r, candidate)
	for _, c := range r.Comparisons {
		if c.Segment != "" || c.Candidate != candidate {
			continue
		}
		info := infoFor(c.Metric)
		fmt.Fprintf(b, "| %s | %s | %s | %s | %d | %s | %s | %s |\n", mdText(info.label),
			variantValue(info, base, c.Metric), variantValue(info, cand, c.Metric),
			diffWithCI(info, c), c.N, formatP(c.PHolm), significanceMark(c.PHolm), formatDiff(info, c.MDE, false))
	}
	b.WriteString("\nDiff = candidate − baseline, paired by persona, with a paired bootstrap 95% CI; " +
		"pp = percentage points; ✓ = Holm-corrected p < 0.05; " +
		"MDE = minimum detectable effect (α 0.05, power 0.8); – = undefined.\n\n")
}

func variantNamed(r *metrics.Results, name string) *metrics.VariantResult {
	for i := range r.Variants {
		if r.Variants[i].Name == name {
			return &r.Variants[i]
		}
	}
	return nil
}

func variantValue(info metricInfo, v *metrics.VariantResult, metric string) string {
	if v == nil {
		return undefined
	}
	m, ok := v.Metric(metric)
	if !ok {
		return undefined
	}
	return info.format(m.Value)
}

// formatDiff prints a difference in the metric's unit: percentage points for
// shares, a plain number otherwise, signed when signed is set.
func formatDiff(info metricInfo, x metrics.Float, signed bool) string {
	if !x.Defined() {
		return undefined
	}
	f := float64(x)
	s := formatNumber(f)
	if info.percent {
		s = strconv.FormatFloat(100*f, 'f', 1, 64) + " pp"
	}
	if signed && f > 0 {
		s = "+" + s
	}
	return s
}

func diffWithCI(info metricInfo, c metrics.Comparison) string {
	s := formatDiff(info, c.Diff, true)
	if c.CILow.Defined() && c.CIHigh.Defined() {
		s += " [" + formatDiff(info, c.CILow, true) + ", " + formatDiff(info, c.CIHigh, true) + "]"
	}
	return s
}

func formatP(p metrics.Float) string {
	switch {
	case !p.Defined():
		return undefined
	case p < 0.001:
		return "<0.001"
	}
	return strconv.FormatFloat(float64(p), 'f', 3, 64)
}

func significanceMark(p metrics.Float) string {
	switch {
	case !p.Defined():
		return undefined
	case float64(p) < significance:
		return "✓"
	}
	return ""
}

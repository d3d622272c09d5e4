package reports

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/recloop/recloop/metrics"
)

// tableWidth is the terminal width the tables are laid out for.
const tableWidth = 100

// column is one row of a terminal table (a column of the variant-by-metric
// matrix, shown transposed like the HTML scorecard): its label and how to
// fill its cell for a variant. A cell may hold several lines (value, CI,
// difference from the baseline). metric names the headline metric, if any,
// whose paired comparison is shown under candidates.
type column struct {
	header string
	metric string
	cell   func(v *metrics.VariantResult) string
}

type tableGroup struct {
	title string
	// notes explain the group's abbreviations; arrows are explained for all.
	notes string
	cols  []column
	// footer lines follow the legend.
	footer []string
}

func metricColumn(name string) column {
	info := infoFor(name)
	header := info.label
	if a := info.dir.Arrow(); a != "" {
		header += " " + a
	}
	return column{header: header, metric: name, cell: func(v *metrics.VariantResult) string {
		m, ok := v.Metric(name)
		if !ok {
			return undefined
		}
		return valueCell(info, m)
	}}
}

func valueCell(info metricInfo, m metrics.Value) string {
	s := info.format(m.Value)
	if hw := info.halfWidth(m); hw != "" && m.Value.Defined() {
		s += "\n" + hw
	}
	return s
}

func tableGroups() []tableGroup {
	return []tableGroup{
		{
			title: "Engagement",
			notes: "Acceptance = clicks rated ≥ 4 / clicks; exit rate = share of personas who exited.",
			cols: []column{
				metricColumn(metrics.CTR),
				metricColumn(metrics.Acceptance),
				metricColumn(metrics.MeanRating),
				metricColumn(metrics.ExitRate),
			},
		},
		{
			title: "Beyond accuracy",
			notes: "True-serendipity share = accepted items matching latent interests only.",
			cols: []column{
				metricColumn(metrics.ILD),
				metricColumn(metrics.Novelty),
				metricColumn(metrics.Serendipity),
				metricColumn(metrics.TrueSerendipityShare),
				metricColumn(metrics.Coverage),
				metricColumn(metrics.Gini),
			},
		},
		{
			title: "Filter bubble",
			notes: "Calibration KL in bits (lower = slates mirror history); entropy slope per round (negative = narrowing).",
			cols: []column{
				metricColumn(metrics.CalibrationKL),
				metricColumn(metrics.EntropySlope),
				metricColumn(metrics.TopCategoryShare),
				metricColumn(metrics.Homogenisation),
				metricColumn(metrics.TasteDrift),
			},
		},
		{
			title: "Cold start & operations",
			notes: "Cold/warm ratios = the cold cohort's metric ÷ the warm cohort's; rounds to warm = first round " +
				"cold CTR reaches 90% of warm; failures = errors/timeouts/invalid slates of all calls.",
			cols: []column{
				coldRatioColumn("Cold/warm CTR ratio ↑", func(c metrics.ColdStart) metrics.Value { return c.CTRRatio }),
				coldRatioColumn("Cold/warm acceptance ratio ↑", func(c metrics.ColdStart) metrics.Value { return c.AcceptanceRatio }),
				{header: "Rounds to warm ↓", cell: func(v *metrics.VariantResult) string { return roundsToWarm(v.ColdStart) }},
				metricColumn(metrics.NewItemExposure),
				{header: "New-item CTR ↑", cell: func(v *metrics.VariantResult) string {
					if v.ColdStart.NewItems == 0 {
						return undefined
					}
					return formatPercent(float64(v.ColdStart.NewItemCTR))
				}},
				{header: "New items never shown ↓", cell: func(v *metrics.VariantResult) string {
					if v.ColdStart.NewItems == 0 {
						return undefined
					}
					return fmt.Sprintf("%d of %d", v.ColdStart.NewItemsNeverShown, v.ColdStart.NewItems)
				}},
				{header: "Failures", cell: func(v *metrics.VariantResult) string {
					e := v.Errors
					return fmt.Sprintf("%d/%d/%d\nof %d", e.Errors, e.Timeouts, e.Invalid, e.Calls)
				}},
				{header: "Failure rate ↓", cell: func(v *metrics.VariantResult) string {
					if v.Errors.Calls == 0 {
						return undefined
					}
					return formatPercent(float64(v.Errors.Rate))
				}},
			},
		},
	}
}

func coldRatioColumn(header string, pick func(metrics.ColdStart) metrics.Value) column {
	info := metricInfo{label: header}
	return column{header: header, cell: func(v *metrics.VariantResult) string {
		if v.ColdStart.ColdPersonas == 0 || v.ColdStart.WarmPersonas == 0 {
			return undefined
		}
		return valueCell(info, pick(v.ColdStart))
	}}
}

// Table writes the headline metrics as plain-text tables, one per group of
// metrics, each with a title and a legend, laid out for 120 columns and
// free of colour codes so that CI logs stay readable.
func Table(w io.Writer, r *metrics.Results) error {
	var b strings.Builder
	if r.Partial {
		reason := r.Reason
		if reason == "" {
			reason = "no reason recorded"
		}
		b.WriteString(wrap(fmt.Sprintf("!! PARTIAL RUN (%s): the numbers cover only what ran before the stop.", oneLine(reason)), tableWidth))
	}
	b.WriteString(wrap(fmt.Sprintf("Scenario %s · seed %d · %d personas · %d rounds · %d items · %d variants",
		strconv.Quote(oneLine(r.Scenario)), r.Seed, r.Personas, r.Rounds, r.Items, len(r.Variants)), tableWidth))
	if len(r.Variants) > 0 {
		b.WriteString("\nIn short\n")
		for _, sentence := range narrative(r) {
			b.WriteString(wrapIndented(sentence, tableWidth, "- ", "  "))
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("reports: write table: %w", err)
	}
	groups := tableGroups()
	if g, ok := outcomeGroup(r); ok {
		groups = append(groups[:1], append([]tableGroup{g}, groups[1:]...)...)
	}
	if conversational(r) {
		// A conversational run has no slate metrics to show.
		groups = []tableGroup{conversationGroup(r)}
	}
	if g, ok := bandGroup(r); ok {
		groups = append(groups, g)
	}
	for _, g := range groups {
		if err := writeGroup(w, r, g); err != nil {
			return err
		}
	}
	if err := writeJudgeSummary(w, r); err != nil {
		return err
	}
	if err := writeLLMSummary(w, r); err != nil {
		return err
	}
	return writeProtocolSummary(w, r)
}

// writeJudgeSummary adds a line per variant and judge: the mean score of each
// rubric dimension with its CI, the share scoring 4 or more, and the share
// of explanations with an unsupported claim.
func writeJudgeSummary(w io.Writer, r *metrics.Results) error {
	var b strings.Builder
	for _, v := range r.Variants {
		if v.Explanations == nil {
			continue
		}
		for _, j := range v.Explanations.Judges {
			fmt.Fprintf(&b, "%s · %s, %d explanations", clip(oneLine(v.Name), 40), clip(oneLine(j.Judge), 30), j.Judged)
			if j.Model != "" {
				fmt.Fprintf(&b, " (model %s)", clip(oneLine(j.Model), 30))
			}
			if len(j.Violations) > 0 || float64(j.ViolationRate) > 0 {
				fmt.Fprintf(&b, "; unsupported claims in %s", formatPercent(float64(j.ViolationRate)))
			}
			b.WriteString("\n")
			for _, d := range j.Dimensions {
				fmt.Fprintf(&b, "    %-14s %s%s, %s score 4 or more\n", clip(oneLine(d.Name), 14), formatNumber(float64(d.Mean.Value)), halfWidth(d.Mean), formatPercent(float64(d.ShareAtLeast4)))
			}
		}
	}
	for _, p := range r.Pairwise {
		fmt.Fprintf(&b, "pairwise (%s, blind, both orders): %s vs %s over %d explanations: %d–%d, %d ties; position bias in %s\n",
			clip(oneLine(p.Judge), 20), clip(oneLine(p.Candidate), 30), clip(oneLine(p.Baseline), 30), p.Compared,
			p.CandidateWins, p.BaselineWins, p.Ties, formatPercent(float64(p.PositionBiasRate)))
	}
	for _, a := range r.JudgeAgreement {
		fmt.Fprintf(&b, "agreement on %s between %s: Krippendorff's α %s over %d explanations\n",
			clip(oneLine(a.Dimension), 20), clip(oneLine(strings.Join(a.Judges, " and ")), 40), formatNumber(float64(a.Alpha)), a.Units)
	}
	if b.Len() == 0 {
		return nil
	}
	if _, err := io.WriteString(w, "\nExplanations (judges; scores 1–5, ↑ better)\n"+wrapLines(b.String())); err != nil {
		return fmt.Errorf("reports: write table: %w", err)
	}
	return nil
}

func halfWidth(v metrics.Value) string {
	if !v.CILow.Defined() || !v.CIHigh.Defined() {
		return ""
	}
	return " ±" + formatNumber((float64(v.CIHigh)-float64(v.CILow))/2)
}

// writeProtocolSummary adds, for external recommenders, what they got wrong.
func writeProtocolSummary(w io.Writer, r *metrics.Results) error {
	var b strings.Builder
	for _, v := range r.Variants {
		p := v.Protocol
		if p == nil {
			continue
		}
		var parts []string
		for _, kind := range slices.Sorted(maps.Keys(p.Violations)) {
			parts = append(parts, fmt.Sprintf("%d %s", p.Violations[kind], kind))
		}
		what := "no violations"
		if len(parts) > 0 {
			what = strings.Join(parts, ", ") + " (" + formatPercent(float64(p.ViolationRate)) + " of calls)"
		}
		fmt.Fprintf(&b, "%s: %s; %d answered by the fallback\n", clip(oneLine(v.Name), 40), what, p.Fallbacks)
	}
	if b.Len() == 0 {
		return nil
	}
	if _, err := io.WriteString(w, "\nExternal recommenders (protocol violations, docs/protocol.md)\n"+wrapLines(b.String())); err != nil {
		return fmt.Errorf("reports: write table: %w", err)
	}
	return nil
}

// writeLLMSummary adds, for runs with LLM-played personas, a few lines on
// what they said and what the model cost.
func writeLLMSummary(w io.Writer, r *metrics.Results) error {
	var b strings.Builder
	for _, v := range r.Variants {
		if rl := v.RecommenderLLM; rl != nil {
			fmt.Fprintf(&b, "%s: the recommender's model proposed %d ids, %d not among its candidates (%s), %d fallbacks\n",
				clip(oneLine(v.Name), 40), rl.Proposed, rl.Rejected, formatPercent(float64(rl.HallucinationRate)), rl.Fallbacks)
		}
		if vo := v.Voices; vo != nil {
			fmt.Fprintf(&b, "%s: interview satisfaction %s/10, hallucinated item ids %d of %d (%s)\n", clip(oneLine(v.Name), 40),
				formatNumber(float64(vo.Satisfaction.Value)), vo.Hallucinations, vo.ItemsNamed, formatPercent(float64(vo.HallucinationRate)))
		}
	}
	if u := r.LLM; u != nil {
		fmt.Fprintf(&b, "LLM %s: %d calls, %d cache hits (%s), %d+%d tokens, $%.4f, %d retries, %d errors\n", oneLine(u.Model),
			u.Calls, u.CacheHits, formatPercent(float64(u.CacheHitRate)), u.PromptTokens, u.CompletionTokens, u.CostUSD, u.Retries, u.Errors)
	}
	if b.Len() == 0 {
		return nil
	}
	if _, err := io.WriteString(w, "\nLanguage models\n"+wrapLines(b.String())); err != nil {
		return fmt.Errorf("reports: write table: %w", err)
	}
	return nil
}

func writeGroup(w io.Writer, r *metrics.Results, g tableGroup) error {
	if _, err := fmt.Fprintf(w, "\n%s\n", g.title); err != nil {
		return fmt.Errorf("reports: write table: %w", err)
	}
	aligns := make([]tw.Align, len(r.Variants)+1)
	aligns[0] = tw.AlignLeft
	headers := make([]string, 0, len(r.Variants)+1)
	headers = append(headers, "Metric")
	for i := range r.Variants {
		aligns[i+1] = tw.AlignRight
		name := oneLine(r.Variants[i].Name)
		if r.Baseline != "" && r.Variants[i].Name == r.Baseline {
			name += " (baseline)"
		}
		headers = append(headers, name)
	}
	t := tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignCenter),
		tablewriter.WithHeaderAutoWrap(tw.WrapBreak),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: aligns}),
		tablewriter.WithRowAutoWrap(tw.WrapNormal),
		tablewriter.WithMaxWidth(tableWidth),
	)
	t.Header(headers)
	diffs := false
	for _, c := range g.cols {
		row := make([]string, 0, len(r.Variants)+1)
		row = append(row, c.header)
		for i := range r.Variants {
			v := &r.Variants[i]
			cell := c.cell(v)
			if d := diffLine(r, v, c.metric); d != "" {
				cell += "\n" + d
				diffs = true
			}
			row = append(row, cell)
		}
		if err := t.Append(row); err != nil {
			return fmt.Errorf("reports: table row %q: %w", c.header, err)
		}
	}
	if err := t.Render(); err != nil {
		return fmt.Errorf("reports: render %s table: %w", g.title, err)
	}
	legend := "Legend: ↑ higher is better, ↓ lower is better"
	if slices.ContainsFunc(g.cols, func(c column) bool {
		return !strings.HasSuffix(c.header, "↑") && !strings.HasSuffix(c.header, "↓")
	}) {
		legend += ", no arrow = depends on the goal"
	}
	legend += "; ± = half the width of the 95% bootstrap CI; – = undefined."
	if diffs {
		legend += " Under a candidate: its paired difference from the baseline (pp = percentage points), * = significant (Holm p < 0.05)."
	}
	legend += " " + g.notes
	if _, err := io.WriteString(w, wrap(legend, tableWidth)); err != nil {
		return fmt.Errorf("reports: write table: %w", err)
	}
	for _, line := range g.footer {
		if _, err := io.WriteString(w, wrapIndented(line, tableWidth, "- ", "  ")); err != nil {
			return fmt.Errorf("reports: write table: %w", err)
		}
	}
	return nil
}

// diffLine is a candidate's paired difference from the baseline on a
// headline metric, starred when significant ("" when there is none).
func diffLine(r *metrics.Results, v *metrics.VariantResult, metric string) string {
	if metric == "" || r.Baseline == "" || v.Name == r.Baseline {
		return ""
	}
	c, ok := findComparison(r.Comparisons, v.Name, metric, "")
	if !ok || !c.Diff.Defined() {
		return ""
	}
	d := formatDiff(infoFor(metric), c.Diff, true)
	if significant(c) {
		d += "*"
	}
	return d
}

// wrapLines keeps every line of text within tableWidth, continuing a long
// line indented under its start.
func wrapLines(text string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if len([]rune(line)) <= tableWidth {
			b.WriteString(line + "\n")
			continue
		}
		indent := line[:len(line)-len(strings.TrimLeft(line, " "))]
		b.WriteString(wrapIndented(line, tableWidth, indent, indent+"    "))
	}
	return b.String()
}

// wrapIndented wraps text like wrap, starting the first line with first and
// every other line with rest.
func wrapIndented(text string, width int, first, rest string) string {
	lines := strings.Split(strings.TrimSuffix(wrap(text, width-max(len([]rune(first)), len([]rune(rest)))), "\n"), "\n")
	var b strings.Builder
	for i, line := range lines {
		if i == 0 {
			b.WriteString(first)
		} else {
			b.WriteString(rest)
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// oneLine keeps names from data on one line and free of control codes, so
// they can neither break the layout nor drive the terminal.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// wrap breaks text at spaces into lines of at most width runes, each ending
// in a newline.
func wrap(text string, width int) string {
	var b strings.Builder
	line := 0
	for _, word := range strings.Fields(text) {
		n := len([]rune(word))
		if line > 0 && line+1+n > width {
			b.WriteByte('\n')
			line = 0
		}
		if line > 0 {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(word)
		line += n
	}
	b.WriteByte('\n')
	return b.String()
}

// clip shortens s to at most n runes, so a long name cannot push a line past
// the table's width.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

package reports

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/recloop/recloop/metrics"
)

// isOutcome reports whether name is a metric only runs with a funnel or
// returning personas have.
func isOutcome(name string) bool {
	m, ok := metrics.Lookup(name)
	return ok && (m.Needs == metrics.NeedsFunnel || m.Needs == metrics.NeedsReturning)
}

// outcomeGroup is the terminal table of funnel, engagement-depth and
// retention metrics; ok is false when no variant has any.
func outcomeGroup(r *metrics.Results) (tableGroup, bool) {
	var cols []column
	for _, name := range headlineNamesOf(r) {
		if isOutcome(name) {
			cols = append(cols, metricColumn(name))
		}
	}
	if hasRounds(r, metrics.Retention) {
		cols = append(cols, column{header: "Retention by round ↑", cell: func(v *metrics.VariantResult) string {
			return retentionCell(v.Rounds[metrics.Retention])
		}})
	}
	if len(cols) == 0 {
		return tableGroup{}, false
	}
	return tableGroup{
		title: "Outcomes beyond the click",
		notes: "Conversion = shown items that reached the stage; completion = how much of a clicked item was consumed; " +
			"bounce = a click left almost at once; weighted outcome = value per visit with the scenario's stage weights; " +
			"rounds retained = rounds until a persona stopped coming back.",
		cols:   cols,
		footer: survivalSentences(r),
	}, true
}

// survivalSentences state each log-rank test of retention in words.
func survivalSentences(r *metrics.Results) []string {
	var out []string
	for _, s := range r.Survival {
		if !s.P.Defined() {
			out = append(out, fmt.Sprintf("Survival: no persona churned under %s or %s, so there is nothing to test.",
				oneLine(s.Candidate), oneLine(s.Baseline)))
			continue
		}
		verdict := "no significant difference in churn"
		switch {
		case float64(s.P) < significance && float64(s.CandidateChurned) > float64(s.Expected):
			verdict = oneLine(s.Candidate) + " loses people faster"
		case float64(s.P) < significance:
			verdict = oneLine(s.Candidate) + " keeps people longer"
		}
		out = append(out, fmt.Sprintf("Survival (log-rank, %s against %s): %d churned where %s were expected at %s's rate "+
			"(%d churned under %s); χ² = %s, %s: %s.", oneLine(s.Candidate), oneLine(s.Baseline), s.CandidateChurned,
			formatNumber(float64(s.Expected)), oneLine(s.Baseline), s.BaselineChurned, oneLine(s.Baseline),
			formatNumber(float64(s.ChiSquare)), pText(float64(s.P)), verdict))
	}
	return out
}

func pText(p float64) string {
	if p < 0.001 {
		return "p < 0.001"
	}
	return "p = " + strconv.FormatFloat(p, 'f', 3, 64)
}

// headlineNamesOf lists every headline metric any variant has, in the
// variants' own order.
func headlineNamesOf(r *metrics.Results) []string {
	var names []string
	seen := map[string]bool{}
	for i := range r.Variants {
		for _, m := range r.Variants[i].Metrics {
			if !seen[m.Name] {
				seen[m.Name] = true
				names = append(names, m.Name)
			}
		}
	}
	return names
}

// retentionCell samples the retention curve at five rounds.
func retentionCell(curve []metrics.Float) string {
	n := len(curve)
	if n == 0 {
		return undefined
	}
	var lines []string
	last := -1
	for _, t := range []int{0, n / 4, n / 2, 3 * n / 4, n - 1} {
		if t == last {
			continue
		}
		last = t
		lines = append(lines, "r"+strconv.Itoa(t)+" "+formatPercent(float64(curve[t])))
	}
	return strings.Join(lines, "\n")
}

// bandText prints a band's range in its metric's unit: "5.0–20.0%", "< 200".
func bandText(b metrics.Band) string {
	info := infoFor(b.Metric)
	f := func(x float64) string { return info.format(metrics.Float(x)) }
	switch {
	case b.Low != nil && b.High != nil:
		return f(*b.Low) + " – " + f(*b.High)
	case b.High != nil:
		return "≤ " + f(*b.High)
	case b.Low != nil:
		return "≥ " + f(*b.Low)
	}
	return ""
}

// bandCell is a variant's value of the band's metric and where it falls.
// Wall-clock figures show only where they fall: the table holds no number
// that differs between two runs of the same scenario.
func bandCell(r *metrics.Results, b metrics.Band, variant string) string {
	x, ok := r.BandValue(b, variant)
	if !ok || math.IsNaN(x) {
		return undefined
	}
	if strings.HasSuffix(b.Metric, "_latency_ms") {
		return b.Place(x)
	}
	return infoFor(b.Metric).format(metrics.Float(x)) + "\n" + b.Place(x)
}

// bandGroup places every variant against the reference bands whose metric
// the results hold.
func bandGroup(r *metrics.Results) (tableGroup, bool) {
	var cols []column
	for _, b := range r.Bands {
		if !bandApplies(r, b) {
			continue
		}
		cols = append(cols, column{header: infoFor(b.Metric).label + " (typical " + bandText(b) + ")", cell: func(v *metrics.VariantResult) string {
			return bandCell(r, b, v.Name)
		}})
	}
	if len(cols) == 0 {
		return tableGroup{}, false
	}
	return tableGroup{
		title: "Against typical industry ranges",
		notes: "Rough reference bands from published production figures (docs/metrics.md gives sources); " +
			"a product can sit outside one for good reasons. Set your own under bands: in the scenario.",
		cols: cols,
	}, true
}

// bandApplies reports whether any variant has a value for the band's metric.
func bandApplies(r *metrics.Results, b metrics.Band) bool {
	for i := range r.Variants {
		if x, ok := r.BandValue(b, r.Variants[i].Name); ok && !math.IsNaN(x) {
			return true
		}
	}
	return false
}

// tradeOffSentence says plainly when a candidate wins clicks but loses
// what clicks are for (weighted outcome, conversion, retention), or the
// other way round; "" when there is no such split.
func tradeOffSentence(r *metrics.Results, candidate string) string {
	ctr, ok := findComparison(r.Comparisons, candidate, metrics.CTR, "")
	if !ok || !significant(ctr) {
		return ""
	}
	up := ctr.Diff > 0
	var moves []string
	for _, name := range []string{metrics.WeightedOutcome, metrics.Conversion, metrics.RoundsRetained} {
		c, ok := findComparison(r.Comparisons, candidate, name, "")
		if !ok || !significant(c) || (c.Diff > 0) == up {
			continue
		}
		info := infoFor(name)
		verb := "falls"
		if !up {
			verb = "rises"
		}
		moves = append(moves, fmt.Sprintf("%s %s by %s (%s)", strings.ToLower(info.label), verb, amount(info, c.Diff), ciText(info, c)))
	}
	if len(moves) == 0 {
		return ""
	}
	name := oneLine(candidate)
	if up {
		return fmt.Sprintf("Trade-off: %s wins on clicks but loses on outcomes — %s.", name, strings.Join(moves, ", "))
	}
	return fmt.Sprintf("Trade-off: %s loses on clicks but wins on outcomes — %s.", name, strings.Join(moves, ", "))
}

// htmlBands is the report's reference-band table.
type htmlBands struct {
	Columns []string
	Rows    []htmlBandRow
}

type htmlBandRow struct {
	Label, Range string
	Cells        []htmlBandCell
}

type htmlBandCell struct{ Value, Place string }

func bandsFor(r *metrics.Results) *htmlBands {
	var hb htmlBands
	for i := range r.Variants {
		hb.Columns = append(hb.Columns, r.Variants[i].Name)
	}
	for _, b := range r.Bands {
		if !bandApplies(r, b) {
			continue
		}
		row := htmlBandRow{Label: infoFor(b.Metric).label, Range: bandText(b)}
		for i := range r.Variants {
			x, ok := r.BandValue(b, r.Variants[i].Name)
			if !ok || math.IsNaN(x) {
				row.Cells = append(row.Cells, htmlBandCell{Value: undefined})
				continue
			}
			row.Cells = append(row.Cells, htmlBandCell{Value: infoFor(b.Metric).format(metrics.Float(x)), Place: b.Place(x)})
		}
		hb.Rows = append(hb.Rows, row)
	}
	if len(hb.Rows) == 0 {
		return nil
	}
	return &hb
}

// outcomeCharts draws, with a funnel or returning personas, each outcome
// metric by variant with its CI (stage conversions first, then the last
// stage's, bounce rate, weighted outcome, rounds retained) and the
// retention curve.
func outcomeCharts(s *chartSet, r *metrics.Results) []chart {
	first := len(s.charts)
	var names []string
	for _, name := range headlineNamesOf(r) {
		if isOutcome(name) && name != metrics.MeanDwell && name != metrics.ReturnGap && name != metrics.SearchRate {
			names = append(names, name)
		}
	}
	for _, name := range metrics.SortNames(names) {
		rows, groups := variantIntervals(r, name)
		if len(groups) == 0 {
			continue
		}
		info, text := infoFor(name), textFor(name, r.Definitions)
		s.intervalChart(chart{ID: s.nextID(name), Title: info.label + " by variant", Explain: text.explain, Good: text.good},
			info, axisName(info, text.unit)+", 95% CI", rows, groups, nil, false, nil)
	}
	if hasRounds(r, metrics.Retention) {
		s.metricLineChart(r, metrics.Retention)
	}
	return slices.Clone(s.charts[first:])
}

package reports

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/recloop/recloop/metrics"
)

// chartText is what a reader is told beside a metric's chart: what it shows
// and what good looks like.
type chartText struct{ explain, good, unit string }

func textFor(name string, defs map[string]string) chartText {
	m, _ := metrics.Lookup(name)
	if m.Explain != "" {
		return chartText{explain: m.Explain, good: m.Good, unit: m.Unit}
	}
	t := chartText{explain: defs[name]}
	switch m.Better {
	case metrics.HigherIsBetter:
		t.good = "higher."
	case metrics.LowerIsBetter:
		t.good = "lower."
	default:
		t.good = "depends on the goal."
	}
	return t
}

// roundSeriesOf is one metric's values per round, one series per variant
// that has it.
func roundSeriesOf(r *metrics.Results, name string) []series {
	var ss []series
	for i := range r.Variants {
		if vals, ok := r.Variants[i].Rounds[name]; ok {
			ss = append(ss, series{Name: r.Variants[i].Name, Values: vals})
		}
	}
	return ss
}

func hasRounds(r *metrics.Results, name string) bool { return len(roundSeriesOf(r, name)) > 0 }

// metricLineChart draws one metric over rounds, one line per variant.
func (s *chartSet) metricLineChart(r *metrics.Results, name string) {
	info, text := infoFor(name), textFor(name, r.Definitions)
	s.lineChart(chart{ID: s.nextID(name), Title: info.label + " over rounds", Explain: text.explain, Good: text.good},
		info, text.unit, roundSeriesOf(r, name), false)
}

// elsewhere are per-round metrics charted in a later section.
var elsewhere = []string{metrics.Serendipity, metrics.ContentSerendipity, metrics.TrueSerendipityShare,
	metrics.CTRCold, metrics.CTRWarm, metrics.NewItemExposure, metrics.Retention}

// overRoundsCharts draws the headline per-round metrics first (a
// conversational run's success rate, CTR, ILD, calibration KL, consumption
// entropy, top-category share, homogenisation), then every other metric
// the results have per round.
func overRoundsCharts(s *chartSet, r *metrics.Results) ([]chart, string) {
	first := len(s.charts)
	var names []string
	for i := range r.Variants {
		for name := range r.Variants[i].Rounds {
			if !slices.Contains(elsewhere, name) {
				names = append(names, name)
			}
		}
	}
	lead := []string{metrics.SuccessRate, metrics.CTR, metrics.ILD, metrics.CalibrationKL, metrics.Entropy, metrics.TopCategoryShare, metrics.Homogenisation}
	ordered := metrics.SortNames(names)
	slices.SortStableFunc(ordered, func(a, b string) int {
		ia, ib := slices.Index(lead, a), slices.Index(lead, b)
		if ia < 0 {
			ia = len(lead)
		}
		if ib < 0 {
			ib = len(lead)
		}
		return ia - ib
	})
	for _, name := range ordered {
		s.metricLineChart(r, name)
	}
	note := ""
	if hasRounds(r, metrics.NewItemExposure) {
		note = "New items' exposure over rounds is under Cold start; serendipity over rounds is under Serendipity."
	}
	return slices.Clone(s.charts[first:]), note
}

const maxStackedCategories = 8

// filterBubble draws, per variant, the stacked share of consumption by
// category over rounds, then taste drift, and lists the bubble metrics.
func filterBubble(s *chartSet, r *metrics.Results) ([]chart, []explainedRow) {
	first := len(s.charts)
	pct := metricInfo{label: "Share of consumption", percent: true}
	for i := range r.Variants {
		v := &r.Variants[i]
		if len(v.CategoryShare) == 0 {
			continue
		}
		top, other := topCategories(v.CategoryShare, maxStackedCategories)
		ss := make([]series, 0, len(top)+1)
		for _, name := range top {
			ss = append(ss, series{Name: name, Values: v.CategoryShare[name]})
		}
		if other {
			ss = append(ss, series{Name: "other", Values: otherShare(v.CategoryShare, top)})
		}
		explain := fmt.Sprintf("How %s's consumption splits over categories, round by round (each click spreads over its item's categories; the %d largest categories, the rest as “other”).", oneLine(v.Name), len(top))
		if !other {
			explain = fmt.Sprintf("How %s's consumption splits over categories, round by round (each click spreads over its item's categories).", oneLine(v.Name))
		}
		s.lineChart(chart{ID: s.nextID("category_share_" + v.Name), Title: "Consumption by category: " + v.Name, Explain: explain,
			Good: "bands that keep their width; one band swelling while the others thin out is a filter bubble forming."},
			pct, "", ss, true)
	}
	if rows, groups := variantIntervals(r, metrics.TasteDrift); len(groups) > 0 {
		text := textFor(metrics.TasteDrift, r.Definitions)
		s.intervalChart(chart{ID: s.nextID(metrics.TasteDrift), Title: "Taste drift by variant", Explain: text.explain + " Per-round drift is not recorded; this is start to end.",
			Good: text.good}, infoFor(metrics.TasteDrift), "taste drift, 1 − cos (95% CI)", rows, groups, nil, false, nil)
	}
	var facts []explainedRow
	for _, name := range []string{metrics.CalibrationKL, metrics.EntropySlope, metrics.TopCategoryShare, metrics.Homogenisation, metrics.TasteDrift} {
		if !slices.ContainsFunc(r.Variants, func(v metrics.VariantResult) bool { _, ok := v.Metric(name); return ok }) {
			continue
		}
		info, text := infoFor(name), textFor(name, r.Definitions)
		row := explainedRow{Label: info.label, Explain: text.explain + " Good: " + text.good}
		for i := range r.Variants {
			m, ok := r.Variants[i].Metric(name)
			c := htmlCell(name, m, ok, false)
			row.Cells = append(row.Cells, strings.TrimSpace(c.Value+" "+c.CI))
		}
		facts = append(facts, row)
	}
	return slices.Clone(s.charts[first:]), facts
}

// otherShare sums, per round, the categories not drawn on their own.
func otherShare(shares map[string][]metrics.Float, top []string) []metrics.Float {
	rounds := 0
	for _, ss := range shares {
		rounds = max(rounds, len(ss))
	}
	out := make([]metrics.Float, rounds)
	for t := range out {
		out[t] = metrics.Float(math.NaN())
	}
	for _, name := range slices.Sorted(maps.Keys(shares)) {
		if slices.Contains(top, name) {
			continue
		}
		for t, x := range shares[name] {
			if !x.Defined() {
				continue
			}
			if !out[t].Defined() {
				out[t] = 0
			}
			out[t] += x
		}
	}
	// A round where the drawn categories have a share but the rest none.
	for t := range out {
		if out[t].Defined() {
			continue
		}
		for _, name := range top {
			if t < len(shares[name]) && shares[name][t].Defined() {
				out[t] = 0
				break
			}
		}
	}
	return out
}

// variantIntervals is one headline metric of every variant, as rows of a
// single-group interval chart.
func variantIntervals(r *metrics.Results, name string) ([]string, []intervalGroup) {
	var rows []string
	g := intervalGroup{Name: infoFor(name).label}
	for i := range r.Variants {
		m, ok := r.Variants[i].Metric(name)
		if !ok {
			continue
		}
		rows = append(rows, r.Variants[i].Name)
		g.Points = append(g.Points, interval{Est: m.Value, Lo: m.CILow, Hi: m.CIHigh})
	}
	if !slices.ContainsFunc(g.Points, func(p interval) bool { return p.Est.Defined() }) {
		return nil, nil
	}
	return rows, []intervalGroup{g}
}

var serendipityMetrics = []string{metrics.Serendipity, metrics.ContentSerendipity, metrics.TrueSerendipityShare}

func serendipityCharts(s *chartSet, r *metrics.Results) ([]chart, string) {
	first := len(s.charts)
	note := ""
	for _, name := range serendipityMetrics {
		rows, groups := variantIntervals(r, name)
		if len(groups) == 0 {
			if name == metrics.TrueSerendipityShare {
				note = "True serendipity is undefined in this run: no persona accepted an item, or no persona has latent interests."
			}
			continue
		}
		info, text := infoFor(name), textFor(name, r.Definitions)
		s.intervalChart(chart{ID: s.nextID(name), Title: info.label + " by variant", Explain: text.explain, Good: text.good},
			info, axisName(info, text.unit)+", 95% CI", rows, groups, nil, false, nil)
	}
	for _, name := range serendipityMetrics {
		if hasRounds(r, name) {
			s.metricLineChart(r, name)
		}
	}
	return slices.Clone(s.charts[first:]), note
}

func coldStartCharts(s *chartSet, r *metrics.Results) []chart {
	first := len(s.charts)
	var ss []series
	for i := range r.Variants {
		v := &r.Variants[i]
		for _, cohort := range []struct{ metric, label string }{{metrics.CTRCold, "cold"}, {metrics.CTRWarm, "warm"}} {
			if vals, ok := v.Rounds[cohort.metric]; ok {
				ss = append(ss, series{Name: v.Name + " · " + cohort.label, Values: vals})
			}
		}
	}
	if len(ss) > 0 {
		s.lineChart(chart{ID: s.nextID("ctr_cold_warm"), Title: "CTR of cold and warm personas over rounds",
			Explain: "Cold personas start with little history or join late; warm ones have a history.",
			Good:    "the cold line climbs to meet the warm line quickly; the round where it reaches 90% of it is “rounds to warm” in the table."},
			infoFor(metrics.CTR), "", ss, false)
	}
	if hasRounds(r, metrics.NewItemExposure) {
		s.metricLineChart(r, metrics.NewItemExposure)
	}
	return slices.Clone(s.charts[first:])
}

func explanationsFor(s *chartSet, r *metrics.Results) *explanationsBlock {
	type key struct{ judge, dim string }
	var rows []key
	for i := range r.Variants {
		if e := r.Variants[i].Explanations; e != nil {
			for _, j := range e.Judges {
				for _, d := range j.Dimensions {
					if k := (key{j.Judge, d.Name}); !slices.Contains(rows, k) {
						rows = append(rows, k)
					}
				}
			}
		}
	}
	if len(rows) == 0 && len(r.Pairwise) == 0 && len(r.JudgeAgreement) == 0 {
		return nil
	}
	eb := &explanationsBlock{}
	first := len(s.charts)
	labels := make([]string, len(rows))
	for k, row := range rows {
		labels[k] = row.judge + " · " + row.dim
	}
	var groups []intervalGroup
	for i := range r.Variants {
		v := &r.Variants[i]
		if v.Explanations == nil {
			continue
		}
		g := intervalGroup{Name: v.Name, Points: make([]interval, len(rows))}
		for k := range g.Points {
			g.Points[k] = interval{Est: metrics.Float(math.NaN()), Lo: metrics.Float(math.NaN()), Hi: metrics.Float(math.NaN())}
		}
		for _, j := range v.Explanations.Judges {
			jr := judgeRow{Variant: v.Name, Judge: j.Judge, Model: j.Model, Judged: fmt.Sprint(j.Judged), ViolationRate: formatPercent(float64(j.ViolationRate))}
			for _, d := range j.Dimensions {
				if k := slices.Index(rows, key{j.Judge, d.Name}); k >= 0 {
					g.Points[k] = interval{Est: d.Mean.Value, Lo: d.Mean.CILow, Hi: d.Mean.CIHigh}
				}
				jr.Dimensions = append(jr.Dimensions, fmt.Sprintf("%s %s %s, %s score 4 or more", d.Name,
					formatNumber(float64(d.Mean.Value)), metricInfo{}.interval(d.Mean), formatPercent(float64(d.ShareAtLeast4))))
			}
			eb.Judges = append(eb.Judges, jr)
			for _, x := range j.Violations {
				eb.Violations = append(eb.Violations, violationRow{Variant: v.Name, Judge: j.Judge, Persona: x.Persona, Item: x.Item,
					Kind: x.Kind, Phrase: x.Phrase, Detail: x.Detail, Round: x.Round})
			}
		}
		groups = append(groups, g)
	}
	if len(rows) > 0 {
		s.intervalChart(chart{ID: s.nextID("judge_scores"), Title: "Judge scores per rubric dimension",
			Explain: "Mean score (1–5) the judges gave each variant's explanations, averaged per persona first, with 95% CIs.",
			Good:    "4 or more on every dimension; faithfulness below 4 means explanations claim things the data does not support."},
			metricInfo{label: "score"}, "score, 1–5 (95% CI)", labels, groups, nil, false, &[2]float64{1, 5})
	}
	eb.Charts = slices.Clone(s.charts[first:])
	for _, p := range r.Pairwise {
		eb.Pairwise = append(eb.Pairwise, fmt.Sprintf("%s judged %s against %s blind, in both orders, over %d explanations: %s won %d, %s won %d, %d ties; the judge favoured a position in %s of pairs.",
			p.Judge, p.Candidate, p.Baseline, p.Compared, p.Candidate, p.CandidateWins, p.Baseline, p.BaselineWins, p.Ties, formatPercent(float64(p.PositionBiasRate))))
	}
	for _, a := range r.JudgeAgreement {
		eb.Agreement = append(eb.Agreement, fmt.Sprintf("On %s, %s agree with Krippendorff's α = %s over %d explanations (1 = perfect agreement, 0 = chance).",
			a.Dimension, strings.Join(a.Judges, " and "), formatNumber(float64(a.Alpha)), a.Units))
	}
	return eb
}

// gateMargins are the comparative gates on a metric over all personas, as
// reference lines for its forest plot.
func gateMargins(r *metrics.Results, metric string) []marker {
	var out []marker
	for _, g := range r.Gates {
		parsed, err := metrics.ParseGate(g.Name, g.Check)
		if err != nil || !parsed.VsBaseline || parsed.Metric != metric || parsed.Segment != "" {
			continue
		}
		if !slices.ContainsFunc(out, func(m marker) bool { return m.At == parsed.Threshold }) {
			out = append(out, marker{Name: clip(oneLine(g.Name), 60), At: parsed.Threshold})
		}
	}
	return out
}

func abFor(s *chartSet, r *metrics.Results) *abBlock {
	var names []string
	for _, c := range r.Comparisons {
		if c.Segment == "" {
			names = append(names, c.Metric)
		}
	}
	if len(names) == 0 {
		return nil
	}
	ab := &abBlock{Baseline: r.Baseline}
	first := len(s.charts)
	candidates := comparedCandidates(r.Comparisons)
	for _, name := range metrics.SortNames(names) {
		info := infoFor(name)
		g := intervalGroup{Name: "difference"}
		for _, cand := range candidates {
			c, _ := findComparison(r.Comparisons, cand, name, "")
			if c.Candidate == "" {
				c = metrics.Comparison{Diff: metrics.Float(math.NaN())}
			}
			g.Points = append(g.Points, interval{Est: c.Diff, Lo: c.CILow, Hi: c.CIHigh})
		}
		if !slices.ContainsFunc(g.Points, func(p interval) bool { return p.Est.Defined() }) {
			continue
		}
		marks := gateMargins(r, name)
		good := "depends on the goal; whiskers that cross 0 are not a detectable change."
		switch info.dir {
		case metrics.HigherIsBetter:
			good = "the whole whisker right of 0 (higher is better); a whisker crossing 0 is no detectable change."
		case metrics.LowerIsBetter:
			good = "the whole whisker left of 0 (lower is better); a whisker crossing 0 is no detectable change."
		}
		explain := "Paired difference per persona, averaged, with its 95% paired bootstrap CI; the vertical axis sits at 0 (no change)."
		if len(marks) > 0 {
			names := make([]string, len(marks))
			for k, m := range marks {
				names[k] = "“" + m.Name + "” at " + formatDiff(info, metrics.Float(m.At), true)
			}
			explain += " Dashed red line: the margin of gate " + strings.Join(names, ", ") + "."
			good += " A gate passes when the whisker's bound stays on the good side of its margin."
		}
		unit := "difference"
		if info.percent {
			unit = "difference (percentage points)"
		} else if t := textFor(name, r.Definitions); t.unit != "" {
			unit = "difference (" + t.unit + ")"
		}
		s.intervalChart(chart{ID: s.nextID("ab_" + name), Title: info.label + ": candidate − " + r.Baseline,
			Explain: explain, Good: good},
			info, unit, candidates, []intervalGroup{g}, marks, true, nil)
	}
	ab.Charts = slices.Clone(s.charts[first:])
	for _, c := range r.Comparisons {
		row := abRow{Candidate: c.Candidate, Segment: c.Segment, Metric: infoFor(c.Metric).label, Diff: formatDiff(infoFor(c.Metric), c.Diff, true),
			P: formatP(c.PHolm), MDE: formatDiff(infoFor(c.Metric), c.MDE, false), N: fmt.Sprint(c.N), Tone: diffTone(c)}
		if c.CILow.Defined() && c.CIHigh.Defined() {
			row.CI = "[" + formatDiff(infoFor(c.Metric), c.CILow, true) + ", " + formatDiff(infoFor(c.Metric), c.CIHigh, true) + "]"
		}
		if !significant(c) && c.MDE.Defined() && c.Diff.Defined() && math.Abs(float64(c.Diff)) < float64(c.MDE) {
			row.Note = "smaller than the MDE"
		}
		if c.Segment == "" {
			ab.Rows = append(ab.Rows, row)
		} else {
			ab.Segments = append(ab.Segments, row)
		}
	}
	return ab
}

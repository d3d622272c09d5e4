package reports

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
	echartsrender "github.com/go-echarts/go-echarts/v2/render"

	"github.com/recloop/recloop/metrics"
)

// chart is one figure of the report: a caption a reader can act on, the
// ECharts option that draws it, and the same numbers as a table for readers
// without JavaScript.
type chart struct {
	ID    string
	Title string
	// Explain says in one line what the chart shows, Good what good looks like.
	Explain, Good string
	Height        int
	// Option is the ECharts option as JSON, escaped for a <script> element.
	Option string
	Table  dataTable
}

// dataTable is a plain table: a header row and rows of formatted cells.
type dataTable struct {
	Head []string
	Rows [][]string
}

type snippetRenderer interface {
	RenderSnippet() echartsrender.ChartSnippet
}

// chartSet hands out stable ids (in page order) and renders options.
// go-echarts panics on template errors; render turns that into an error.
type chartSet struct {
	charts []chart
	err    error
}

func (s *chartSet) nextID(name string) string { return chartID(len(s.charts), name) }

func (s *chartSet) add(c chart, r snippetRenderer) *chart {
	if s.err != nil {
		return nil
	}
	opt, err := renderOption(r)
	if err != nil {
		s.err = err
		return nil
	}
	c.Option = opt
	if c.Height == 0 {
		c.Height = 320
	}
	s.charts = append(s.charts, c)
	return &s.charts[len(s.charts)-1]
}

func renderOption(r snippetRenderer) (opt string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("reports: render chart: %v", p)
		}
	}()
	return escapeScriptJSON(strings.TrimSpace(r.RenderSnippet().Option)), nil
}

// chartID is stable for the same results, unique within a page, and safe as
// an HTML id whatever the name holds.
func chartID(index int, name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "chart_%02d_", index)
	for _, c := range strings.ToLower(name) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// axisName is a metric's label with its unit, for an axis.
func axisName(info metricInfo, unit string) string {
	switch {
	case info.percent:
		return info.label + " (%)"
	case unit != "":
		return info.label + " (" + unit + ")"
	}
	return info.label
}

// plotValue is what a chart draws for x: percentages for shares, ECharts'
// gap marker "-" where undefined, and few enough digits to keep pages small.
func plotValue(info metricInfo, x metrics.Float) any {
	if !x.Defined() {
		return "-"
	}
	f := float64(x)
	if info.percent {
		f *= 100
	}
	return roundSig(f)
}

func roundSig(f float64) float64 {
	if f == 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return f
	}
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'g', 5, 64), 64)
	return v
}

func baseOpts(id string, height int, xName, yName string) []charts.GlobalOpts {
	return []charts.GlobalOpts{
		charts.WithInitializationOpts(opts.Initialization{ChartID: id, Width: "100%", Height: strconv.Itoa(height) + "px"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Type: "scroll", Top: "0"}),
		// Room at the top for the legend and the y-axis name, which would overlap.
		charts.WithGridOpts(opts.Grid{Top: "64", Left: "16", Right: "40", Bottom: "40", ContainLabel: opts.Bool(true)}),
		charts.WithXAxisOpts(opts.XAxis{Name: xName, NameLocation: "middle", NameGap: 28}),
		charts.WithYAxisOpts(opts.YAxis{Name: yName, Scale: opts.Bool(true)}),
		charts.WithAnimation(false),
	}
}

func roundLabels(rounds int) []string {
	xs := make([]string, rounds)
	for t := range xs {
		xs[t] = strconv.Itoa(t)
	}
	return xs
}

// series is one named line of values per round.
type series struct {
	Name   string
	Values []metrics.Float
}

func seriesRounds(ss []series) int {
	n := 0
	for _, s := range ss {
		n = max(n, len(s.Values))
	}
	return n
}

// lineAxis is the x axis of a line chart: its name, the heading of its
// column in the data table, and a label per point.
type lineAxis struct {
	name, head string
	labels     []string
}

func roundsAxis(rounds int) lineAxis { return lineAxis{"round", "Round", roundLabels(rounds)} }

// lineChart draws one line per series over rounds; its table has a row per
// round and a column per series.
func (s *chartSet) lineChart(c chart, info metricInfo, unit string, ss []series, stacked bool) {
	s.lineChartOver(c, info, unit, ss, stacked, roundsAxis(seriesRounds(ss)))
}

// lineChartOver draws one line per series over the axis's points; its
// table has a row per point and a column per series.
func (s *chartSet) lineChartOver(c chart, info metricInfo, unit string, ss []series, stacked bool, axis lineAxis) {
	rounds := len(axis.labels)
	c.Table = dataTable{Head: []string{axis.head}, Rows: make([][]string, rounds)}
	for _, sr := range ss {
		c.Table.Head = append(c.Table.Head, sr.Name)
	}
	yName := axisName(info, unit)
	line := charts.NewLine()
	line.SetGlobalOptions(baseOpts(c.ID, c.Height, axis.name, yName)...)
	if stacked {
		line.SetGlobalOptions(charts.WithYAxisOpts(opts.YAxis{Name: yName, Min: 0, Max: 100}))
	}
	line.SetXAxis(axis.labels)
	for t := range rounds {
		c.Table.Rows[t] = append(make([]string, 0, len(ss)+1), axis.labels[t])
	}
	for _, sr := range ss {
		data := make([]opts.LineData, rounds)
		for t := range rounds {
			x := metrics.Float(math.NaN())
			if t < len(sr.Values) {
				x = sr.Values[t]
			}
			data[t] = opts.LineData{Value: plotValue(info, x)}
			cell := undefined
			if x.Defined() {
				cell = info.format(x)
			}
			c.Table.Rows[t] = append(c.Table.Rows[t], cell)
		}
		var so []charts.SeriesOpts
		if stacked {
			so = append(so, charts.WithLineChartOpts(opts.LineChart{Stack: "share", ShowSymbol: opts.Bool(false)}),
				charts.WithAreaStyleOpts(opts.AreaStyle{Opacity: opts.Float(0.85)}))
		}
		line.AddSeries(sr.Name, data, so...)
	}
	s.add(c, line)
}

// interval is an estimate with its 95% CI.
type interval struct{ Est, Lo, Hi metrics.Float }

// intervalGroup is one series of an interval chart: a value per row.
type intervalGroup struct {
	Name   string
	Points []interval
}

// marker is a vertical reference line in an interval chart.
type marker struct {
	Name string
	At   float64
}

// intervalChart draws estimates with their CIs as horizontal whiskers (a
// forest plot): rows are categories, one bar per group and row. ECharts'
// boxplot draws it: the box spans the CI and its middle line is the estimate.
//
// The x axis spans fixed when it is set. Otherwise, for a chart of
// differences (zero set), it spans the whiskers, 0 and every mark, so that
// neither "no change" nor a gate margin is ever off the chart; the category
// axis then sits at 0. Marks are drawn as dashed red lines.
func (s *chartSet) intervalChart(c chart, info metricInfo, xName string, rows []string, groups []intervalGroup, marks []marker, zero bool, fixed *[2]float64) {
	c.Table = dataTable{Head: []string{""}}
	for _, g := range groups {
		c.Table.Head = append(c.Table.Head, g.Name)
	}
	if c.Height == 0 {
		c.Height = 96 + 40*len(rows)*max(1, len(groups))
	}
	box := charts.NewBoxPlot()
	box.SetGlobalOptions(
		charts.WithInitializationOpts(opts.Initialization{ChartID: c.ID, Width: "100%", Height: strconv.Itoa(c.Height) + "px"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(len(groups) > 1), Type: "scroll", Top: "0"}),
		charts.WithGridOpts(opts.Grid{Top: "40", Left: "16", Right: "40", Bottom: "44", ContainLabel: opts.Bool(true)}),
		charts.WithXAxisOpts(xAxisFor(info, xName, groups, marks, zero, fixed)),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Data: rows, Inverse: opts.Bool(true)}),
		charts.WithAnimation(false),
	)
	for ri, row := range rows {
		cells := []string{row}
		for _, g := range groups {
			cell := undefined
			if ri < len(g.Points) && g.Points[ri].Est.Defined() {
				p := g.Points[ri]
				cell = info.format(p.Est)
				if p.Lo.Defined() && p.Hi.Defined() {
					cell += " [" + info.format(p.Lo) + ", " + info.format(p.Hi) + "]"
				}
			}
			cells = append(cells, cell)
		}
		c.Table.Rows = append(c.Table.Rows, cells)
	}
	for gi, g := range groups {
		data := make([]opts.BoxPlotData, len(rows))
		for ri := range rows {
			data[ri] = opts.BoxPlotData{Value: []any{"-", "-", "-", "-", "-"}}
			if ri < len(g.Points) && g.Points[ri].Est.Defined() {
				p := g.Points[ri]
				lo, hi := p.Lo, p.Hi
				if !lo.Defined() || !hi.Defined() {
					lo, hi = p.Est, p.Est
				}
				// The box spans the CI, its middle line is the estimate.
				l, h := plotValue(info, lo), plotValue(info, hi)
				data[ri] = opts.BoxPlotData{Value: []any{l, l, plotValue(info, p.Est), h, h}}
			}
		}
		// A thick border keeps a CI of zero width visible as a line.
		so := []charts.SeriesOpts{charts.WithItemStyleOpts(opts.ItemStyle{BorderWidth: 2})}
		if gi == 0 && len(marks) > 0 {
			items := make([]opts.MarkLineNameXAxisItem, len(marks))
			for k, m := range marks {
				items[k] = opts.MarkLineNameXAxisItem{Name: m.Name, XAxis: plotValue(info, metrics.Float(m.At))}
			}
			so = append(so, charts.WithMarkLineNameXAxisItemOpts(items...),
				charts.WithMarkLineStyleOpts(opts.MarkLineStyle{Symbol: []string{"none", "none"},
					// The caption names each margin; labels would pile up at 0.
					Label:     &opts.Label{Show: opts.Bool(false)},
					LineStyle: &opts.LineStyle{Type: "dashed", Color: "#b42318", Width: 1.5}}))
		}
		box.AddSeries(g.Name, data, so...)
	}
	s.add(c, box)
}

func xAxisFor(info metricInfo, name string, groups []intervalGroup, marks []marker, zero bool, fixed *[2]float64) opts.XAxis {
	axis := opts.XAxis{Type: "value", Name: name, NameLocation: "middle", NameGap: 28, Scale: opts.Bool(true)}
	if fixed != nil {
		axis.Min, axis.Max = fixed[0], fixed[1]
		return axis
	}
	if !zero && len(marks) == 0 {
		return axis
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	if zero {
		lo, hi = 0, 0
	}
	extend := func(x metrics.Float) {
		if v, ok := plotValue(info, x).(float64); ok {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	for _, g := range groups {
		for _, p := range g.Points {
			extend(p.Est)
			extend(p.Lo)
			extend(p.Hi)
		}
	}
	for _, m := range marks {
		extend(metrics.Float(m.At))
	}
	if math.IsInf(lo, 0) {
		return axis
	}
	axis.Min, axis.Max = niceBounds(lo, hi)
	return axis
}

// niceBounds widens [lo, hi] a little and rounds it out to a step of 1, 2
// or 5 times a power of ten, so that the axis ends on readable numbers.
func niceBounds(lo, hi float64) (float64, float64) {
	span := hi - lo
	if span <= 0 {
		span = math.Max(math.Abs(hi), 1)
	}
	raw := span / 5
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	step := pow
	for _, m := range []float64{1, 2, 5, 10} {
		if m*pow >= raw {
			step = m * pow
			break
		}
	}
	return roundSig(math.Floor(lo/step-0.25) * step), roundSig(math.Ceil(hi/step+0.25) * step)
}

// escapeScriptJSON makes JSON safe inside a <script> element: go-echarts
// writes it without HTML escaping, so a variant called "</script>" would end
// the script. Every replaced character can only occur inside JSON strings,
// where the \u escape means the same character.
func escapeScriptJSON(s string) string {
	return scriptJSONEscaper.Replace(s)
}

var scriptJSONEscaper = strings.NewReplacer(
	"<", `\u003c`,
	">", `\u003e`,
	"&", `\u0026`,
	"\u2028", `\u2028`,
	"\u2029", `\u2029`,
)

// topCategories picks the categories to draw separately in a stacked share
// chart: the most consumed overall; the rest become "other".
func topCategories(shares map[string][]metrics.Float, n int) (top []string, other bool) {
	type total struct {
		name string
		sum  float64
	}
	totals := make([]total, 0, len(shares))
	for name, ss := range shares {
		var sum float64
		for _, x := range ss {
			if x.Defined() {
				sum += float64(x)
			}
		}
		totals = append(totals, total{name, sum})
	}
	slices.SortFunc(totals, func(a, b total) int {
		if a.sum != b.sum {
			if a.sum > b.sum {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	for i, t := range totals {
		if i >= n {
			return top, true
		}
		top = append(top, t.name)
	}
	return top, false
}

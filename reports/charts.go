package reports

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"

	"github.com/recloop/recloop/metrics"
)

// roundChart is one metric over rounds: the chart's element and options,
// and the same numbers as a table for readers without JavaScript.
type roundChart struct {
	ID      string
	Metric  string
	Label   string
	Element template.HTML
	// Option is the ECharts option as JSON, escaped for a <script> element.
	Option string
	Rounds []roundRow
}

type roundRow struct {
	Round int
	Cells []string
}

// roundMetricNames lists every metric that any variant has per round.
func roundMetricNames(r *metrics.Results) []string {
	var names []string
	for i := range r.Variants {
		for name := range r.Variants[i].Rounds {
			names = append(names, name)
		}
	}
	return orderNames(names)
}

// chartID is stable for the same results, unique within a page, and safe as
// an HTML id whatever the metric name holds.
func chartID(index int, metric string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "chart_%02d_", index)
	for _, c := range strings.ToLower(metric) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// roundCharts builds one line chart per metric in Rounds, one series per
// variant. go-echarts panics on template errors; that becomes an error.
func roundCharts(r *metrics.Results) (out []roundChart, assets []string, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, assets, err = nil, nil, fmt.Errorf("reports: render chart: %v", p)
		}
	}()
	for i, name := range roundMetricNames(r) {
		rc, line := buildRoundChart(r, chartID(i, name), name)
		snippet := line.RenderSnippet()
		rc.Element = template.HTML(strings.TrimSpace(snippet.Element))
		rc.Option = escapeScriptJSON(strings.TrimSpace(snippet.Option))
		out = append(out, rc)
		if assets == nil {
			assets = line.JSAssets.Values
		}
	}
	return out, assets, nil
}

func buildRoundChart(r *metrics.Results, id, name string) (roundChart, *charts.Line) {
	info := infoFor(name)
	rounds := 0
	for i := range r.Variants {
		rounds = max(rounds, len(r.Variants[i].Rounds[name]))
	}
	xs := make([]string, rounds)
	rows := make([]roundRow, rounds)
	for t := range rounds {
		xs[t] = strconv.Itoa(t)
		rows[t] = roundRow{Round: t, Cells: make([]string, len(r.Variants))}
	}

	line := charts.NewLine()
	line.SetGlobalOptions(
		charts.WithInitializationOpts(opts.Initialization{ChartID: id, Width: "100%", Height: "320px"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Type: "scroll", Top: "0"}),
		// Room at the top for the legend and the y-axis name, which would overlap.
		charts.WithGridOpts(opts.Grid{Top: "64", Left: "16", Right: "32", Bottom: "40", ContainLabel: opts.Bool(true)}),
		charts.WithXAxisOpts(opts.XAxis{Name: "round", NameLocation: "middle", NameGap: 28}),
		charts.WithYAxisOpts(opts.YAxis{Name: info.label, Scale: opts.Bool(true)}),
		charts.WithAnimation(false),
	)
	line.SetXAxis(xs)
	for vi := range r.Variants {
		values := r.Variants[vi].Rounds[name]
		data := make([]opts.LineData, rounds)
		for t := range rounds {
			cell := undefined
			// "-" is ECharts' marker for a missing point: the line breaks there.
			data[t] = opts.LineData{Value: "-"}
			if t < len(values) && values[t].Defined() {
				data[t] = opts.LineData{Value: float64(values[t])}
				cell = info.format(values[t])
			}
			rows[t].Cells[vi] = cell
		}
		line.AddSeries(r.Variants[vi].Name, data)
	}
	return roundChart{ID: id, Metric: name, Label: info.label, Rounds: rows}, line
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

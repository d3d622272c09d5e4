package reports

import (
	"math"
	"strconv"

	"github.com/recloop/recloop/metrics"
)

// undefined stands in for a metric that has no value (NaN), in every format.
const undefined = "–"

// metricInfo is how a metric is presented, from the metric registry.
// Metrics that are shares are shown as percentages, counts as whole numbers.
type metricInfo struct {
	label   string
	percent bool
	dir     metrics.Direction
	count   bool
}

// infoFor describes any metric name, including ones the registry does not
// know: those are shown under their own name, as plain numbers.
func infoFor(name string) metricInfo {
	m, ok := metrics.Lookup(name)
	if !ok {
		return metricInfo{label: name}
	}
	return metricInfo{label: m.Title, percent: m.Format == metrics.FormatShare, dir: m.Better, count: m.Format == metrics.FormatCount}
}

// formatNumber prints a plain number compactly: three decimals for the usual
// 0–10 range, fewer as magnitude grows, and an exponent for tiny values.
func formatNumber(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return undefined
	}
	a := math.Abs(x)
	switch {
	case a == 0:
		return "0"
	case a >= 100:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(x, 'f', 1, 64)
	case a >= 0.001:
		return strconv.FormatFloat(x, 'f', 3, 64)
	}
	return strconv.FormatFloat(x, 'e', 1, 64)
}

func formatPercent(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return undefined
	}
	return strconv.FormatFloat(100*x, 'f', 1, 64) + "%"
}

// format prints a value the way its metric is presented.
func (m metricInfo) format(x metrics.Float) string {
	f := float64(x)
	switch {
	case m.percent:
		return formatPercent(f)
	case m.count && f == math.Trunc(f) && math.Abs(f) < 1e15:
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return formatNumber(f)
}

// halfWidth prints the CI as ± half its width, or "" when it is undefined.
// Bootstrap percentile intervals need not be symmetric; the HTML report
// shows both ends.
func (m metricInfo) halfWidth(v metrics.Value) string {
	if !v.CILow.Defined() || !v.CIHigh.Defined() {
		return ""
	}
	return "±" + m.format((v.CIHigh-v.CILow)/2)
}

// interval prints the CI as "[lo, hi]", or "" when it is undefined.
func (m metricInfo) interval(v metrics.Value) string {
	if !v.CILow.Defined() || !v.CIHigh.Defined() {
		return ""
	}
	return "[" + m.format(v.CILow) + ", " + m.format(v.CIHigh) + "]"
}

// findMetric looks a metric up by name in a list of values.
func findMetric(values []metrics.Value, name string) (metrics.Value, bool) {
	for _, v := range values {
		if v.Name == name {
			return v, true
		}
	}
	return metrics.Value{}, false
}

// roundsToWarm prints ColdStart.RoundsToWarm; -1 means never.
func roundsToWarm(c metrics.ColdStart) string {
	switch {
	case c.ColdPersonas == 0 || c.WarmPersonas == 0:
		return undefined
	case c.RoundsToWarm < 0:
		return "never"
	}
	return strconv.Itoa(c.RoundsToWarm)
}

package reports

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/recloop/recloop/metrics"
)

// undefined stands in for a metric that has no value (NaN), in every format.
const undefined = "–"

// direction says which way a metric is better, where that is unambiguous.
type direction int

const (
	neutral direction = iota
	higherBetter
	lowerBetter
)

func (d direction) arrow() string {
	switch d {
	case higherBetter:
		return "↑"
	case lowerBetter:
		return "↓"
	}
	return ""
}

// metricInfo is how a metric is presented. Metrics that are shares are shown
// as percentages, counts as whole numbers.
type metricInfo struct {
	label   string
	short   string
	percent bool
	dir     direction
	count   bool
}

var metricInfos = map[string]metricInfo{
	metrics.CTR:                  display("CTR", "CTR", true, higherBetter),
	metrics.Acceptance:           display("Acceptance", "Accept.", true, higherBetter),
	metrics.MeanRating:           display("Mean rating", "Rating", false, higherBetter),
	metrics.SessionLength:        display("Session length", "Session", false, higherBetter),
	metrics.ExitRate:             display("Exit rate", "Exit", true, lowerBetter),
	metrics.Satisfaction:         display("Satisfaction", "Satisf.", false, higherBetter),
	metrics.Coverage:             display("Catalog coverage", "Coverage", true, higherBetter),
	metrics.Gini:                 display("Gini of exposure", "Gini", false, lowerBetter),
	metrics.ILD:                  display("Intra-list diversity", "ILD", false, higherBetter),
	metrics.Novelty:              display("Novelty", "Novelty", false, higherBetter),
	metrics.Serendipity:          display("Serendipity", "Serend.", false, higherBetter),
	metrics.ContentSerendipity:   display("Content serendipity", "C.serend.", false, higherBetter),
	metrics.TrueSerendipityShare: display("True-serendipity share", "True ser.", true, higherBetter),
	metrics.CalibrationKL:        display("Calibration KL", "Calib KL", false, neutral),
	metrics.Entropy:              display("Consumption entropy", "Entropy", false, higherBetter),
	metrics.EntropyNormalised:    display("Consumption entropy (normalised)", "Entropy n.", false, higherBetter),
	metrics.EntropySlope:         display("Entropy slope", "H slope", false, higherBetter),
	metrics.TopCategoryShare:     display("Top-category share", "Top cat", true, lowerBetter),
	metrics.TasteDrift:           display("Taste drift", "Drift", false, neutral),
	metrics.Homogenisation:       display("Homogenisation", "Homog.", false, lowerBetter),
	metrics.NewItemExposure:      display("New-item exposure", "New exp.", true, neutral),
	metrics.ActivePersonas:       {label: "Active personas", short: "Active", count: true},
	metrics.RecommenderErrRate:   display("Recommender error rate", "Err rate", true, lowerBetter),
}

func display(label, short string, percent bool, dir direction) metricInfo {
	return metricInfo{label: label, short: short, percent: percent, dir: dir}
}

// infoFor describes any metric name, including ones this package does not
// know yet: those are shown under their own name, as plain numbers.
func infoFor(name string) metricInfo {
	if info, ok := metricInfos[name]; ok {
		return info
	}
	if info, ok := outcomeInfo(name); ok {
		return info
	}
	return metricInfo{label: name, short: name}
}

// knownOrder is the order in which metrics are listed when a report has to
// choose one (over-round charts, the scorecard when variants disagree).
var knownOrder = []string{
	metrics.CTR, metrics.Acceptance, metrics.MeanRating, metrics.SessionLength,
	metrics.ExitRate, metrics.Satisfaction,
	metrics.Conversion, metrics.MeanDwell, metrics.BounceRate, metrics.WeightedOutcome, metrics.SearchRate,
	metrics.RoundsRetained, metrics.ReturnGap, metrics.Retention,
	metrics.Coverage, metrics.Gini, metrics.ILD, metrics.Novelty, metrics.Serendipity,
	metrics.ContentSerendipity, metrics.TrueSerendipityShare,
	metrics.CalibrationKL, metrics.Entropy, metrics.EntropyNormalised, metrics.EntropySlope,
	metrics.TopCategoryShare, metrics.TasteDrift, metrics.Homogenisation,
	metrics.NewItemExposure, metrics.ActivePersonas, metrics.RecommenderErrRate,
}

// orderNames puts known metric names in knownOrder and any others after
// them, sorted, so that output never depends on map iteration.
func orderNames(names []string) []string {
	rank := func(n string) int {
		if strings.HasPrefix(n, metrics.ConversionPrefix) {
			n = metrics.Conversion // a stage's conversion sits with the last stage's
		}
		if i := slices.Index(knownOrder, n); i >= 0 {
			return i
		}
		return len(knownOrder)
	}
	out := slices.Clone(names)
	slices.SortFunc(out, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		if a < b {
			return -1
		}
		if a > b {
			return 1
		}
		return 0
	})
	return slices.Compact(out)
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

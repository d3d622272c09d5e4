package reports

import (
	"fmt"
	"io"

	"github.com/recloop/recloop/metrics"
)

// Comparisons lists paired differences one per line, marking those that are
// significant after Holm's correction.
func Comparisons(w io.Writer, cs []metrics.Comparison) error {
	if _, err := fmt.Fprintf(w, "%-10s %-26s %12s  %-28s %8s %10s\n", "variant", "metric", "new − base", "95% CI", "p (Holm)", "MDE"); err != nil {
		return fmt.Errorf("reports: write comparisons: %w", err)
	}
	for _, c := range cs {
		mark := " "
		if c.PHolm.Defined() && float64(c.PHolm) < 0.05 {
			mark = "*"
		}
		fmt.Fprintf(w, "%-10s %-26s %+12.4g  [%+.4g, %+.4g]%s %8.3g %10.3g\n", clip(oneLine(c.Candidate), 10), clip(c.Metric, 26),
			float64(c.Diff), float64(c.CILow), float64(c.CIHigh), mark, float64(c.PHolm), float64(c.MDE))
	}
	_, err := fmt.Fprintln(w, "* significant at 0.05 after Holm's correction; CIs are paired bootstrap intervals over personas.")
	return err
}

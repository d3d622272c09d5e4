package metrics

import "math"

// Band is a metric's typical range in production recommenders. The bands
// are rough: docs/metrics.md says where each comes from. Low or High may be
// missing (an open side).
type Band struct {
	Metric string   `json:"metric"`
	Low    *float64 `json:"low,omitempty"`
	High   *float64 `json:"high,omitempty"`
}

// Where a value falls against its band.
const (
	BandBelow  = "below"
	BandWithin = "within"
	BandAbove  = "above"
)

// DefaultBands are the registry's reference bands (issue 9), in the order
// of All: CTR 5–20%, conversion from recommendations 2–8%, catalog coverage
// 50–80%, diversity (ILD) 40–60%, serendipity 30–50%, cold-start CTR ratio
// 50–70%, P95 latency under 200 ms.
func DefaultBands() []Band {
	var out []Band
	for _, m := range All() {
		if m.Band != nil {
			b := *m.Band
			b.Metric = m.Name
			out = append(out, b)
		}
	}
	return out
}

// Place says where x falls against the band: below, within or above; ""
// when x is undefined.
func (b Band) Place(x float64) string {
	switch {
	case math.IsNaN(x):
		return ""
	case b.Low != nil && x < *b.Low:
		return BandBelow
	case b.High != nil && x > *b.High:
		return BandAbove
	}
	return BandWithin
}

// BandValue is the value of the band's metric for variant, if the results
// hold it.
func (r *Results) BandValue(b Band, variant string) (float64, bool) {
	return lookup(r, b.Metric, variant, "")
}

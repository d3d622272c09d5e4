package reports

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/recloop/recloop/metrics"
)

// tradeOff is a click-maximiser against a taste matcher: the candidate wins
// CTR and loses weighted outcome and rounds retained, all significant.
func tradeOff() *metrics.Results {
	r := sample()
	r.Partial, r.Reason = false, ""
	r.Baseline = "popular"
	base, cand := &r.Variants[0], &r.Variants[1]
	base.Metrics = append(base.Metrics,
		val(metrics.Conversion, 0.04, 0.03, 0.05, 20), val(metrics.ConversionPrefix+"add_to_cart", 0.08, 0.07, 0.09, 20),
		val(metrics.BounceRate, 0.02, 0.01, 0.03, 20), val(metrics.WeightedOutcome, 3.5, 3, 4, 20),
		val(metrics.RoundsRetained, 14, 13, 15, 20))
	cand.Metrics = append(cand.Metrics,
		val(metrics.Conversion, 0.01, 0.005, 0.015, 20), val(metrics.ConversionPrefix+"add_to_cart", 0.03, 0.02, 0.04, 20),
		val(metrics.BounceRate, 0.2, 0.15, 0.25, 20), val(metrics.WeightedOutcome, 1.5, 1.25, 1.75, 20),
		val(metrics.RoundsRetained, 6, 5, 7, 20))
	base.Rounds[metrics.Retention] = []metrics.Float{1, 0.9, 0.8}
	cand.Rounds[metrics.Retention] = []metrics.Float{1, 0.5, 0.25}
	cmp := func(metric string, d, lo, hi float64) metrics.Comparison {
		return metrics.Comparison{Metric: metric, Baseline: "popular", Candidate: cand.Name, N: 20,
			Diff: metrics.Float(d), CILow: metrics.Float(lo), CIHigh: metrics.Float(hi), P: 0.001, PHolm: 0.001, EffectSize: 1, MDE: 0.1}
	}
	r.Comparisons = []metrics.Comparison{
		cmp(metrics.CTR, 0.1, 0.08, 0.12),
		cmp(metrics.WeightedOutcome, -2, -2.5, -1.5),
		cmp(metrics.RoundsRetained, -8, -9, -7),
	}
	r.Bands = metrics.DefaultBands()
	r.Survival = []metrics.Survival{{Baseline: "popular", Candidate: cand.Name, BaselineChurned: 4, CandidateChurned: 15,
		Expected: 8.5, ChiSquare: 12.5, P: 0.0004}}
	return r
}

func TestSurvivalSentences(t *testing.T) {
	r := tradeOff()
	name := oneLine(r.Variants[1].Name)
	want := "Survival (log-rank, " + name + " against popular): 15 churned where 8.500 were expected at popular's rate (4 churned under popular); χ² = 12.5, p < 0.001: " + name + " loses people faster."
	if got := survivalSentences(r); len(got) != 1 || got[0] != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	r.Survival[0].P, r.Survival[0].CandidateChurned = 0.2, 9
	if got := survivalSentences(r); !strings.HasSuffix(got[0], "p = 0.200: no significant difference in churn.") {
		t.Errorf("got %q", got[0])
	}
	r.Survival[0].P, r.Survival[0].CandidateChurned = 0.01, 2
	if got := survivalSentences(r); !strings.HasSuffix(got[0], name+" keeps people longer.") {
		t.Errorf("got %q", got[0])
	}
}

func TestTradeOffIsSaidPlainly(t *testing.T) {
	r := tradeOff()
	got := tradeOffSentence(r, r.Variants[1].Name)
	want := "Trade-off: " + oneLine(r.Variants[1].Name) + " wins on clicks but loses on outcomes — weighted outcome falls by 2.000 (95% CI -2.500 to -1.500), rounds retained falls by 8.000 (95% CI -9.000 to -7.000)."
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !strings.Contains(strings.Join(narrative(r), "\n"), want) {
		t.Error("the verdict sentences leave the trade-off out")
	}
	// Outcomes that move with clicks are no trade-off.
	r.Comparisons[1].Diff, r.Comparisons[1].CILow, r.Comparisons[1].CIHigh = 2, 1.5, 2.5
	r.Comparisons[2].Diff, r.Comparisons[2].CILow, r.Comparisons[2].CIHigh = 8, 7, 9
	if s := tradeOffSentence(r, r.Variants[1].Name); s != "" {
		t.Errorf("no trade-off expected, got %q", s)
	}
}

func TestTableShowsOutcomesAndBands(t *testing.T) {
	out := string(render(t, Table, tradeOff()))
	assertContains(t, out, "Outcomes beyond the click", "Conversion to add_to_cart ↑", "Bounce rate ↓", "Weighted outcome ↑",
		"Rounds retained ↑", "Retention by round ↑", "r2 25.0%", "Against typical industry ranges", "CTR (typical 5.0% – 20.0%)",
		"within", "Trade-off:", "Survival (log-rank,")
	for i, line := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(line); n > tableWidth {
			t.Errorf("line %d is %d columns wide:\n%s", i+1, n, line)
		}
	}
	// The plain sample has no outcome metrics and no bands: neither table.
	plain := string(render(t, Table, sample()))
	if strings.Contains(plain, "Outcomes beyond the click") || strings.Contains(plain, "typical industry") {
		t.Error("outcome or band tables without outcome metrics or bands")
	}
}

func TestHTMLShowsBandsAndRetention(t *testing.T) {
	out := string(render(t, HTML, tradeOff()))
	assertContains(t, out, `id="bands"`, "Against typical industry ranges", `class="band-within"`, `<h2 id="outcomes">`,
		"Retention over rounds", "Weighted outcome by variant", "Rounds retained by variant", "Conversion to add_to_cart by variant", "Survival (log-rank,")
	if strings.Contains(string(render(t, HTML, sample())), `id="outcomes"`) {
		t.Error("an outcomes section without outcome metrics")
	}
}

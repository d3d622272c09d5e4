package reports

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/recloop/recloop/metrics"
)

// verdictWidth is the most columns a line of the verdict block may take.
const verdictWidth = 100

// gateTally counts gates by verdict; other counts verdicts this package does
// not know, which no report may present as passing.
type gateTally struct {
	total, pass, fail, inconclusive, other int
}

func tallyGates(gates []metrics.GateResult) gateTally {
	t := gateTally{total: len(gates)}
	for _, g := range gates {
		switch g.Verdict {
		case metrics.GatePass:
			t.pass++
		case metrics.GateFail:
			t.fail++
		case metrics.GateInconclusive:
			t.inconclusive++
		default:
			t.other++
		}
	}
	return t
}

// overallVerdict is the run's verdict: the one the run recorded, or, when it
// recorded none, the worst of its gates' ("" for a run without gates).
func overallVerdict(r *metrics.Results) string {
	if r.Verdict != "" {
		return r.Verdict
	}
	t := tallyGates(r.Gates)
	switch {
	case t.total == 0:
		return ""
	case t.fail > 0 || t.other > 0:
		return metrics.GateFail
	case t.inconclusive > 0:
		return metrics.GateInconclusive
	}
	return metrics.GatePass
}

// verdictRank orders gates for reading: failures first, then the undecided,
// then unknown verdicts, then passes.
func verdictRank(v string) int {
	switch v {
	case metrics.GateFail:
		return 0
	case metrics.GateInconclusive:
		return 1
	case metrics.GatePass:
		return 3
	}
	return 2
}

// gateNumbers prints a gate's observed value and threshold with the fewest
// digits that still tell them apart, so that a failure never reads as
// "observed 0.020, threshold 0.020".
func gateNumbers(observed, threshold metrics.Float) (string, string) {
	o, t := float64(observed), float64(threshold)
	so, st := formatNumber(o), formatNumber(t)
	if so != st || o == t || !observed.Defined() || !threshold.Defined() {
		return so, st
	}
	for prec := 4; prec <= 17; prec++ {
		so, st = strconv.FormatFloat(o, 'g', prec, 64), strconv.FormatFloat(t, 'g', prec, 64)
		if so != st {
			break
		}
	}
	return so, st
}

// gateFigures says what a gate compared, for a reader who has only this line.
func gateFigures(g metrics.GateResult) string {
	observed, threshold := gateNumbers(g.Observed, g.Threshold)
	return fmt.Sprintf("%s: observed %s, threshold %s", oneLine(g.Check), observed, threshold)
}

// gateExplanation is the gate's own message, or its figures when it has none.
func gateExplanation(g metrics.GateResult) string {
	if msg := oneLine(g.Message); msg != "" {
		return msg
	}
	return gateFigures(g)
}

func verdictMark(v string) string {
	switch v {
	case metrics.GatePass:
		return "✔"
	case metrics.GateFail:
		return "✘"
	}
	return "?"
}

func verdictHeadline(r *metrics.Results, t gateTally) string {
	switch v := overallVerdict(r); v {
	case metrics.GatePass:
		return fmt.Sprintf("VERDICT: PASS (%d of %d gates passed)", t.pass, t.total)
	case metrics.GateFail:
		switch {
		case t.fail > 0:
		case t.inconclusive > 0:
			return fmt.Sprintf("VERDICT: FAIL (%d of %d gates inconclusive, which the scenario does not accept)",
				t.inconclusive, t.total)
		default:
			return fmt.Sprintf("VERDICT: FAIL (%d of %d gates passed)", t.pass, t.total)
		}
		return fmt.Sprintf("VERDICT: FAIL (%d of %d gates failed)", t.fail, t.total)
	case metrics.GateInconclusive:
		return fmt.Sprintf("VERDICT: INCONCLUSIVE (%d of %d gates inconclusive)", t.inconclusive, t.total)
	default:
		return fmt.Sprintf("VERDICT: %s (%d gates)", strings.ToUpper(oneLine(v)), t.total)
	}
}

// Verdict writes the run's gate verdict as a block meant to be read in a CI
// log at a glance: a boxed headline, then one line per gate, failures first.
// Lines stay within 100 columns and carry no colour codes. A run without
// gates writes nothing.
func Verdict(w io.Writer, r *metrics.Results) error {
	if len(r.Gates) == 0 {
		return nil
	}
	gates := slices.Clone(r.Gates)
	slices.SortStableFunc(gates, func(a, b metrics.GateResult) int {
		return cmp.Compare(verdictRank(a.Verdict), verdictRank(b.Verdict))
	})
	headline := clip(verdictHeadline(r, tallyGates(gates)), verdictWidth-4)
	rule := strings.Repeat("─", len([]rune(headline))+2)

	var b strings.Builder
	b.WriteString("┌" + rule + "┐\n")
	b.WriteString("│ " + headline + " │\n")
	b.WriteString("└" + rule + "┘\n")
	nameWidth := 0
	for _, g := range gates {
		nameWidth = max(nameWidth, len([]rune(oneLine(g.Name))))
	}
	// A long name gets clipped rather than pushing every message to the right.
	nameWidth = min(nameWidth, 32)
	for _, g := range gates {
		name := clip(oneLine(g.Name), nameWidth)
		pad := strings.Repeat(" ", nameWidth-len([]rune(name)))
		line := verdictMark(g.Verdict) + " " + name + pad + "  " + gateExplanation(g)
		b.WriteString(strings.TrimRight(clip(line, verdictWidth), " ") + "\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("reports: write verdict: %w", err)
	}
	return nil
}

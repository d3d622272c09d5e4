package reports

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recloop/recloop/metrics"
)

const hostileName = "<&>\"' | `x` [y]\n\x00\x1b[31m"

func comparison(metric, segment, candidate string, diff, lo, hi, p, pHolm, mde float64, n int) metrics.Comparison {
	return metrics.Comparison{Metric: metric, Segment: segment, Baseline: "control", Candidate: candidate, N: n,
		Diff: metrics.Float(diff), CILow: metrics.Float(lo), CIHigh: metrics.Float(hi),
		P: metrics.Float(p), PHolm: metrics.Float(pHolm), MDE: metrics.Float(mde), EffectSize: metrics.Float(diff / 0.1)}
}

// gatedRun is a hand-made A/B run: a baseline and two candidates, four gates
// (pass, fail, inconclusive, pass) and comparisons with undefined values.
func gatedRun() *metrics.Results {
	variant := func(name string, ctr, acceptance, coverage float64) metrics.VariantResult {
		return metrics.VariantResult{Name: name, Recommender: name, Metrics: []metrics.Value{
			val(metrics.CTR, ctr, ctr-0.01, ctr+0.01, 500),
			val(metrics.Acceptance, acceptance, acceptance, acceptance, 0),
			val(metrics.Coverage, coverage, coverage, coverage, 500),
		}}
	}
	nanF := float64(nan())
	return &metrics.Results{
		Schema: metrics.ResultsSchemaVersion, Scenario: "release-check", Seed: 7,
		Rounds: 30, Personas: 500, Items: 1000, Baseline: "control",
		Variants: []metrics.VariantResult{
			variant("control", 0.12, 0.5, 0.35),
			variant("itemknn", 0.126, 0.52, 0.32),
			variant("mf", 0.118, nanF, 0.2999),
		},
		Comparisons: []metrics.Comparison{
			// Holm over two candidates: the smaller p doubles (0.004 → 0.008),
			// the larger is max(0.008, 0.3) = 0.3.
			comparison(metrics.CTR, "", "itemknn", 0.006, 0.002, 0.01, 0.004, 0.008, 0.003, 500),
			comparison(metrics.Acceptance, "", "itemknn", 0.02, -0.01, 0.05, 0.2, 0.4, 0.04, 480),
			comparison(metrics.Coverage, "", "itemknn", -0.03, nanF, nanF, nanF, nanF, nanF, 0),
			comparison(metrics.CTR, "cold", "itemknn", 0.01, 0, 0.02, 0.04, 0.08, 0.01, 50),
			comparison(metrics.CTR, "", "mf", -0.002, -0.006, 0.002, 0.3, 0.3, 0.003, 500),
			comparison(metrics.Acceptance, "", "mf", nanF, nanF, nanF, nanF, nanF, nanF, 0),
			comparison(metrics.Coverage, "", "mf", -0.0501, nanF, nanF, nanF, nanF, nanF, 0),
		},
		Gates: []metrics.GateResult{
			{Name: "ctr-non-inferior", Check: "ci_low(ctr: itemknn − control) ≥ −0.01", Verdict: metrics.GatePass,
				Observed: 0.002, Threshold: -0.01, Message: "itemknn CTR is not worse than control by more than 1 pp"},
			{Name: "coverage-floor", Check: "coverage(mf) ≥ 0.3", Verdict: metrics.GateFail,
				Observed: 0.2999, Threshold: 0.3, Message: "mf covers 29.99% of the catalog, below the 30% floor"},
			{Name: "acceptance-superior", Check: "ci_low(acceptance: mf − control) > 0", Verdict: metrics.GateInconclusive,
				Observed: nan(), Threshold: 0, Message: "acceptance is undefined for mf: no persona clicked in both worlds"},
			{Name: "error-rate", Check: "recommender_error_rate(mf) ≤ 0.01", Verdict: metrics.GatePass,
				Observed: 0, Threshold: 0.01},
		},
		Verdict: metrics.GateFail,
	}
}

// gatedRunWithVerdicts is gatedRun with the run's verdict replaced, and the
// gates' verdicts too when gates is not nil.
func gatedRunWithVerdicts(run string, gates []string) *metrics.Results {
	r := gatedRun()
	for i, v := range gates {
		r.Gates[i].Verdict = v
	}
	r.Verdict = run
	return r
}

func hostileRun() *metrics.Results {
	r := gatedRun()
	r.Scenario = hostileName
	r.Baseline = hostileName
	r.Partial, r.Reason = true, hostileName
	for i := range r.Gates {
		r.Gates[i].Name = hostileName + r.Gates[i].Name
		r.Gates[i].Check = hostileName
		r.Gates[i].Message = hostileName
	}
	for i := range r.Comparisons {
		r.Comparisons[i].Metric = hostileName
		r.Comparisons[i].Candidate = hostileName + r.Comparisons[i].Candidate
	}
	return r
}

func TestCIGolden(t *testing.T) {
	tests := []struct {
		golden string
		render renderer
	}{
		{"junit.xml.golden", JUnit},
		{"summary.md.golden", Summary},
		{"verdict.golden", Verdict},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			got := render(t, tt.render, gatedRun())
			if again := render(t, tt.render, gatedRun()); !bytes.Equal(got, again) {
				t.Fatalf("two renderings of the same results differ:\n%s\n---\n%s", got, again)
			}
			path := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs; run go test ./reports -update and review the diff\n--- got ---\n%s", path, got)
			}
		})
	}
}

func parseJUnit(t *testing.T, data []byte) junitSuite {
	t.Helper()
	var s junitSuite
	if err := xml.Unmarshal(data, &s); err != nil {
		t.Fatalf("output is not valid XML: %v\n%s", err, data)
	}
	return s
}

func TestJUnitCounts(t *testing.T) {
	tests := []struct {
		name                            string
		verdicts                        []string
		runVerdict                      string
		failures, skipped               int
		failed, skippedCases, passCases []int
	}{
		{"fixture", nil, metrics.GateFail, 1, 1, []int{1}, []int{2}, []int{0, 3}},
		{"inconclusive accepted", []string{"pass", "pass", "inconclusive", "pass"}, metrics.GateInconclusive,
			0, 1, nil, []int{2}, []int{0, 1, 3}},
		// Nothing failed outright, yet the run failed: the inconclusive gate
		// is what failed it, so it must not be reported as skipped.
		{"inconclusive rejected", []string{"pass", "pass", "inconclusive", "pass"}, metrics.GateFail,
			1, 0, []int{2}, nil, []int{0, 1, 3}},
		{"unknown verdict fails", []string{"pass", "pass", "maybe", "pass"}, "",
			1, 0, []int{2}, nil, []int{0, 1, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gatedRunWithVerdicts(tt.runVerdict, tt.verdicts)
			s := parseJUnit(t, render(t, JUnit, r))
			if s.Tests != 4 || s.Failures != tt.failures || s.Skipped != tt.skipped || s.Errors != 0 {
				t.Errorf("tests/failures/skipped/errors = %d/%d/%d/%d, want 4/%d/%d/0",
					s.Tests, s.Failures, s.Skipped, s.Errors, tt.failures, tt.skipped)
			}
			for _, i := range tt.failed {
				if s.Cases[i].Failure == nil || s.Cases[i].Skipped != nil {
					t.Errorf("case %d (%s) should be a failure", i, s.Cases[i].Name)
				}
			}
			for _, i := range tt.skippedCases {
				if s.Cases[i].Skipped == nil || s.Cases[i].Failure != nil {
					t.Errorf("case %d (%s) should be skipped", i, s.Cases[i].Name)
				}
			}
			for _, i := range tt.passCases {
				if s.Cases[i].Skipped != nil || s.Cases[i].Failure != nil {
					t.Errorf("case %d (%s) should pass", i, s.Cases[i].Name)
				}
			}
		})
	}
}

func TestJUnitFailureCarriesTheNumbers(t *testing.T) {
	s := parseJUnit(t, render(t, JUnit, gatedRun()))
	f := s.Cases[1].Failure
	if f == nil {
		t.Fatal("coverage-floor should fail")
	}
	// 0.2999 and 0.3 both print as 0.300 with three decimals; the message
	// must show the digits that tell them apart.
	for _, want := range []string{"coverage(mf) ≥ 0.3", "observed 0.2999", "threshold 0.3", "below the 30% floor"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("failure message %q lacks %q", f.Message, want)
		}
	}
	assertContains(t, f.Body, "observed: 0.2999\n", "threshold: 0.3\n", "check: coverage(mf) ≥ 0.3\n")
	props := map[string]string{}
	for _, p := range s.Properties {
		props[p.Name] = p.Value
	}
	if props["scenario"] != "release-check" || props["seed"] != "7" || props["baseline"] != "control" || props["verdict"] != "fail" {
		t.Errorf("properties = %v", props)
	}
}

func TestJUnitEscapesHostileNames(t *testing.T) {
	out := render(t, JUnit, hostileRun())
	s := parseJUnit(t, out)
	// XML cannot carry NUL or ESC at all; encoding/xml writes U+FFFD instead.
	wantName := strings.NewReplacer("\x00", "\uFFFD", "\x1b", "\uFFFD").Replace(hostileName)
	if s.Name != "recloop: "+wantName {
		t.Errorf("suite name = %q, want %q", s.Name, "recloop: "+wantName)
	}
	if len(s.Cases) != 4 || s.Cases[0].Name != wantName+"ctr-non-inferior" {
		t.Fatalf("cases did not survive the round trip: %+v", s.Cases)
	}
	if bytes.Contains(out, []byte("<&>")) || bytes.ContainsAny(out, "\x00\x1b") {
		t.Errorf("raw markup or control codes in the XML:\n%s", out)
	}
}

func TestSummaryEscapesHostileNames(t *testing.T) {
	out := string(render(t, Summary, hostileRun()))
	for _, raw := range []string{"<&>", "\x00", "\x1b", "`x`"} {
		if strings.Contains(out, raw) {
			t.Errorf("summary contains %q unescaped", raw)
		}
	}
	// Every row of a table has as many unescaped pipes as its header, so no
	// name can add or remove a column.
	var header int
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "|") {
			header = 0
			continue
		}
		pipes := strings.Count(line, "|") - strings.Count(line, `\|`)
		if header == 0 {
			header = pipes
		} else if pipes != header {
			t.Errorf("row has %d cell borders, header %d: %s", pipes, header, line)
		}
	}
	assertContains(t, out, "&lt;&amp;&gt;", `\|`, "Partial run")
}

func TestSummaryContent(t *testing.T) {
	out := string(render(t, Summary, gatedRun()))
	assertContains(t, out,
		"## ❌ fail — recloop scenario release-check",
		"| coverage-floor | coverage(mf) ≥ 0.3 | 0.2999 | 0.3 | ❌ fail |",
		"### itemknn vs control", "### mf vs control",
		// CTR 12.0% → 12.6%: diff 0.006 = +0.6 pp, CI [+0.2 pp, +1.0 pp],
		// Holm p 0.008 < 0.05 so it is marked; MDE 0.003 = 0.3 pp.
		"| CTR | 12.0% | 12.6% | +0.6 pp [+0.2 pp, +1.0 pp] | 500 | 0.008 | ✓ | 0.3 pp |",
		// mf's acceptance is undefined everywhere.
		"| Acceptance | 50.0% | – | – | 0 | – | – | – |",
	)
	if strings.Contains(out, "| 50 |") {
		t.Error("the segment comparison (cold, n = 50) belongs to no headline table")
	}
	if strings.Contains(out, "Partial run") {
		t.Error("a complete run is not partial")
	}
}

func TestVerdictBlock(t *testing.T) {
	tests := []struct {
		name       string
		verdicts   []string
		runVerdict string
		headline   string
	}{
		{"fixture", nil, metrics.GateFail, "VERDICT: FAIL (1 of 4 gates failed)"},
		{"all pass", []string{"pass", "pass", "pass", "pass"}, metrics.GatePass, "VERDICT: PASS (4 of 4 gates passed)"},
		{"inconclusive accepted", []string{"pass", "pass", "inconclusive", "pass"}, metrics.GateInconclusive,
			"VERDICT: INCONCLUSIVE (1 of 4 gates inconclusive)"},
		{"inconclusive rejected", []string{"pass", "pass", "inconclusive", "pass"}, metrics.GateFail,
			"VERDICT: FAIL (1 of 4 gates inconclusive, which the scenario does not accept)"},
		{"verdict derived from the gates", []string{"pass", "fail", "fail", "pass"}, "", "VERDICT: FAIL (2 of 4 gates failed)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gatedRunWithVerdicts(tt.runVerdict, tt.verdicts)
			lines := strings.Split(strings.TrimSuffix(string(render(t, Verdict, r)), "\n"), "\n")
			if len(lines) != 3+len(r.Gates) {
				t.Fatalf("got %d lines, want a 3-line box and a line per gate:\n%s", len(lines), strings.Join(lines, "\n"))
			}
			if lines[1] != "│ "+tt.headline+" │" {
				t.Errorf("headline = %q, want %q", lines[1], tt.headline)
			}
			rank := -1
			for _, line := range lines[3:] {
				mark, _, _ := strings.Cut(line, " ")
				got := map[string]int{"✘": 0, "?": 1, "✔": 3}[mark]
				if got < rank {
					t.Errorf("gate line out of order (failures first): %q", line)
				}
				rank = got
			}
		})
	}
}

func TestVerdictFitsAndIsPlain(t *testing.T) {
	r := hostileRun()
	r.Gates[0].Message = strings.Repeat("a very long explanation ", 20)
	r.Gates[1].Name = strings.Repeat("long-gate-name-", 10)
	out := string(render(t, Verdict, r))
	for _, line := range strings.Split(out, "\n") {
		if n := len([]rune(line)); n > verdictWidth {
			t.Errorf("line of %d runes: %q", n, line)
		}
	}
	if strings.ContainsAny(out, "\x00\x1b") {
		t.Errorf("control codes in the verdict block: %q", out)
	}
}

func TestCIReportsOfARunWithoutGates(t *testing.T) {
	r := &metrics.Results{Schema: metrics.ResultsSchemaVersion, Scenario: "empty"}
	if out := render(t, Verdict, r); len(out) != 0 {
		t.Errorf("verdict of a run without gates = %q, want nothing", out)
	}
	s := parseJUnit(t, render(t, JUnit, r))
	if s.Tests != 0 || len(s.Cases) != 0 {
		t.Errorf("junit of a run without gates has tests: %+v", s)
	}
	assertContains(t, string(render(t, Summary, r)), "ℹ️ no gates", "No gates are configured")
}

func TestGateNumbers(t *testing.T) {
	tests := []struct {
		observed, threshold float64
		want                [2]string
	}{
		{0.25, 0.3, [2]string{"0.250", "0.300"}},
		// Equal at three decimals: print the digits that differ.
		{0.2999, 0.3, [2]string{"0.2999", "0.3"}},
		{0.30001, 0.3, [2]string{"0.30001", "0.3"}},
		{0.3, 0.3, [2]string{"0.300", "0.300"}},
		{float64(nan()), 0, [2]string{"–", "0"}},
	}
	for _, tt := range tests {
		o, th := gateNumbers(metrics.Float(tt.observed), metrics.Float(tt.threshold))
		if [2]string{o, th} != tt.want {
			t.Errorf("gateNumbers(%v, %v) = %q, %q, want %q", tt.observed, tt.threshold, o, th, tt.want)
		}
	}
}

func TestFormatDiff(t *testing.T) {
	tests := []struct {
		metric string
		x      float64
		signed bool
		want   string
	}{
		{metrics.CTR, 0.006, true, "+0.6 pp"}, // 0.006 · 100 = 0.6 percentage points
		{metrics.CTR, -0.0124, true, "-1.2 pp"},
		{metrics.MeanRating, 0.25, true, "+0.250"},
		{metrics.MeanRating, 0.25, false, "0.250"},
		{metrics.MeanRating, float64(nan()), true, "–"},
	}
	for _, tt := range tests {
		if got := formatDiff(infoFor(tt.metric), metrics.Float(tt.x), tt.signed); got != tt.want {
			t.Errorf("formatDiff(%s, %v) = %q, want %q", tt.metric, tt.x, got, tt.want)
		}
	}
}

func BenchmarkSummary(b *testing.B) {
	r := gatedRun()
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := Summary(&buf, r); err != nil {
			b.Fatal(err)
		}
	}
}

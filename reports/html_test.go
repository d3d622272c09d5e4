package reports

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/trajectory"
)

func TestEChartsChecksum(t *testing.T) {
	if want := echartsChecksum(); want == "" || sha256Hex(echartsJS) != want {
		t.Fatalf("assets/echarts.min.js has SHA-256 %s, assets/echarts.sha256 says %q; run make echarts", sha256Hex(echartsJS), want)
	}
	if !strings.HasPrefix(EChartsVersion, "5.") {
		t.Errorf("EChartsVersion = %q, want a 5.x build (what go-echarts v2.7.3 writes options for)", EChartsVersion)
	}
	if _, err := os.Stat(filepath.Join("assets", "ECHARTS-LICENSE")); err != nil {
		t.Errorf("the embedded library's licence must ship with it: %v", err)
	}
}

func TestHTMLEmbedsEChartsOnce(t *testing.T) {
	page := string(render(t, HTML, sample()))
	if n := strings.Count(page, echartsInline); n != 1 {
		t.Fatalf("report holds the ECharts library %d times, want 1", n)
	}
	// The library names XML namespaces and its licence by URL; the rest of
	// the page names nothing.
	page = strings.Replace(page, echartsInline, "", 1)
	// Offline: nothing is loaded from anywhere.
	for _, remote := range []string{"<script src", "<link ", "http://", "https://go-echarts"} {
		if strings.Contains(page, remote) {
			t.Errorf("report refers to %q; it must be self-contained", remote)
		}
	}
}

func TestInlineScript(t *testing.T) {
	tests := []struct{ in, want string }{
		{`var a = 1;`, `var a = 1;`},
		{`s = "</script>";`, `s = "\x3c/script>";`},
		{`s = "</SCRIPT >";`, `s = "\x3c/SCRIPT >";`},
		{`s = "<script>"; t = "<!-- x"`, `s = "\x3cscript>"; t = "\x3c!-- x"`},
		{`if (a <b) {}`, `if (a <b) {}`},
	}
	for _, tt := range tests {
		if got := inlineScript(tt.in); got != tt.want {
			t.Errorf("inlineScript(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// abRun is a baseline and two candidates with comparisons, some significant,
// and a comparative gate whose margin the forest plot must draw.
func abRun() *metrics.Results {
	r := sample()
	r.Partial = false
	r.Baseline = "popular"
	third := r.Variants[1]
	third.Name = "content"
	r.Variants = append(r.Variants, third)
	cmp := func(metric, segment, cand string, diff, lo, hi, pHolm float64) metrics.Comparison {
		return metrics.Comparison{Metric: metric, Segment: segment, Baseline: "popular", Candidate: cand, N: 20,
			Diff: metrics.Float(diff), CILow: metrics.Float(lo), CIHigh: metrics.Float(hi),
			P: metrics.Float(pHolm), PHolm: metrics.Float(pHolm), MDE: 0.01}
	}
	r.Comparisons = []metrics.Comparison{
		cmp(metrics.CTR, "", "content", 0.021, 0.012, 0.030, 0.001),
		cmp(metrics.ILD, "", "content", -0.01, -0.03, 0.01, 0.4),
		cmp(metrics.CTR, "cold", "content", 0.035, 0.02, 0.05, 0.002),
		cmp(metrics.CTR, "", "knn</script>&", 0.004, -0.002, 0.01, 0.2),
		cmp(metrics.ILD, "", "knn</script>&", -0.12, -0.15, -0.09, 0.001),
	}
	r.Gates = []metrics.GateResult{{Name: "content keeps CTR", Check: "ctr[content] - baseline >= -0.005",
		Verdict: metrics.GatePass, Observed: 0.012, Threshold: -0.005}}
	r.Verdict = metrics.GatePass
	return r
}

func TestNarrative(t *testing.T) {
	got := narrative(abRun())
	want := []string{
		"All 1 gates pass.",
		// CTR: +0.021 → 2.1 points, CI 0.012..0.030 → 1.2 to 3.0; ILD not
		// significant → keeps diversity; cold CTR +0.035 > +0.021 overall.
		"content raises CTR by 2.1 points (95% CI 1.2 to 3.0) and keeps diversity; cold-start users gain most (+3.5 points CTR).",
		// CTR p = 0.2: not significant; ILD −0.12 with p 0.001: worse.
		"knn</script>& leaves CTR about the same (+0.4 points, 95% CI -0.2 to 1.0, not significant) but makes its slates less diverse (intra-list diversity −0.120).",
	}
	if !slices.Equal(got, want) {
		t.Errorf("narrative =\n%q\nwant\n%q", got, want)
	}
}

func TestScorecardColoursOnlySignificantDifferences(t *testing.T) {
	page := string(render(t, HTML, abRun()))
	assertContains(t, page,
		// html/template writes "+" as &#43;.
		`<span class="diff good" title="difference from the baseline, 95% CI [&#43;1.2 pp, &#43;3.0 pp]">&#43;2.1 pp</span>`,
		`<span class="diff" title="difference from the baseline, 95% CI [-0.2 pp, &#43;1.0 pp]">&#43;0.4 pp (n.s.)</span>`,
		`<span class="diff bad" title="difference from the baseline, 95% CI [-0.150, -0.090]">-0.120</span>`,
		`<th>popular <span class="arrow">(baseline)</span></th>`,
		`<h2 id="ab">A/B: differences from popular</h2>`,
		"Dashed red line: the margin of gate “content keeps CTR” at -0.5 pp.",
	)
}

// The forest plot of CTR draws the gate's margin (−0.005 → −0.5 pp) and
// keeps both it and 0 inside its axis.
func TestForestPlotDrawsGateMargins(t *testing.T) {
	page := render(t, HTML, abRun())
	options := chartOptionsOf(t, page)
	var ctr map[string]any
	for id, o := range options {
		if strings.HasSuffix(id, "_ab_ctr") {
			ctr = o
		}
	}
	if ctr == nil {
		t.Fatal("no forest plot for CTR")
	}
	raw, _ := json.Marshal(ctr)
	var opt struct {
		XAxis []struct {
			Min, Max float64
		} `json:"xAxis"`
		Series []struct {
			Data     []struct{ Value []any } `json:"data"`
			MarkLine struct {
				Data []struct{ XAxis float64 } `json:"data"`
			} `json:"markLine"`
		} `json:"series"`
	}
	if err := json.Unmarshal(raw, &opt); err != nil {
		t.Fatal(err)
	}
	if len(opt.Series) != 1 || len(opt.Series[0].MarkLine.Data) != 1 || opt.Series[0].MarkLine.Data[0].XAxis != -0.5 {
		t.Fatalf("forest plot = %s, want one margin line at -0.5", raw)
	}
	// Rows are the candidates in comparison order: content, then knn.
	// content: [lo, lo, est, hi, hi] = [1.2, 1.2, 2.1, 3, 3].
	if got := fmt.Sprint(opt.Series[0].Data[0].Value); got != "[1.2 1.2 2.1 3 3]" {
		t.Errorf("content's whisker = %s", got)
	}
	// Data span −0.5..3.0: step 1 → floor(−0.5 − 0.25) = −1, ceil(3 + 0.25) = 4.
	if ax := opt.XAxis[0]; ax.Min != -1 || ax.Max != 4 {
		t.Errorf("x axis = [%v, %v], want [-1, 4]", ax.Min, ax.Max)
	}
}

func chartOptionsOf(t *testing.T, page []byte) map[string]map[string]any {
	t.Helper()
	m := regexp.MustCompile(`(?s)<script type="application/json" id="chart-options">(.*?)</script>`).FindSubmatch(page)
	if m == nil {
		t.Fatal("no chart options in the report")
	}
	var options map[string]map[string]any
	if err := json.Unmarshal(m[1], &options); err != nil {
		t.Fatalf("chart options are not JSON: %v", err)
	}
	return options
}

func TestEveryChartHasCaptionAxesAndData(t *testing.T) {
	page := render(t, HTML, abRun())
	for id, o := range chartOptionsOf(t, page) {
		for _, want := range []string{`id="` + id + `-title"`, `id="` + id + `-data"`} {
			if !bytes.Contains(page, []byte(want)) {
				t.Errorf("chart %s lacks %s", id, want)
			}
		}
		raw, _ := json.Marshal(o)
		var axes struct {
			XAxis []struct{ Name, Type string } `json:"xAxis"`
			YAxis []struct{ Name, Type string } `json:"yAxis"`
		}
		if err := json.Unmarshal(raw, &axes); err != nil {
			t.Fatal(err)
		}
		// A value axis always says what it measures; a category axis
		// (variants, rounds labelled on the x axis) is named by its labels.
		for _, a := range append(axes.XAxis, axes.YAxis...) {
			if a.Type != "category" && a.Name == "" {
				t.Errorf("chart %s has an unnamed value axis: %s", id, raw)
			}
		}
	}
	if n := bytes.Count(page, []byte(`<span class="good-is">Good: `)); n != len(chartOptionsOf(t, page)) {
		t.Errorf("%d charts say what good looks like, want all %d", n, len(chartOptionsOf(t, page)))
	}
}

func TestNiceBounds(t *testing.T) {
	tests := []struct{ lo, hi, wantLo, wantHi float64 }{
		// span 3.5 → raw step 0.7 → 1; floor(−0.5/1 − 0.25) = −1, ceil(3/1 + 0.25) = 4
		{-0.5, 3, -1, 4},
		// span 0.05 → raw 0.01 → step 0.01; floor(0/0.01 − 0.25) = −1 → −0.01; ceil(5.25) = 6 → 0.06
		{0, 0.05, -0.01, 0.06},
		// span 0 → 1 → raw 0.2 → step 0.2; floor(−0.25) = −1 → −0.2; ceil(0.25) = 1 → 0.2
		{0, 0, -0.2, 0.2},
	}
	for _, tt := range tests {
		if lo, hi := niceBounds(tt.lo, tt.hi); lo != tt.wantLo || hi != tt.wantHi {
			t.Errorf("niceBounds(%v, %v) = %v, %v, want %v, %v", tt.lo, tt.hi, lo, hi, tt.wantLo, tt.wantHi)
		}
	}
}

func TestTopCategoriesAndOther(t *testing.T) {
	f := func(xs ...float64) []metrics.Float {
		out := make([]metrics.Float, len(xs))
		for i, x := range xs {
			out[i] = metrics.Float(x)
		}
		return out
	}
	shares := map[string][]metrics.Float{
		"drama":  f(0.5, 0.25, math.NaN()),
		"comedy": f(0.25, 0.5, math.NaN()),
		"horror": f(0.125, 0.25, math.NaN()),
		"war":    f(0.125, 0, math.NaN()),
	}
	// Totals: drama 0.75, comedy 0.75 (tie → by name), horror 0.375, war 0.125.
	top, other := topCategories(shares, 2)
	if !slices.Equal(top, []string{"comedy", "drama"}) || !other {
		t.Fatalf("topCategories = %v, %v", top, other)
	}
	// other = horror + war per round: 0.25, 0.25, undefined (nobody clicked).
	got := otherShare(shares, top)
	if got[0] != 0.25 || got[1] != 0.25 || got[2].Defined() {
		t.Errorf("otherShare = %v", got)
	}
}

func TestSamplePersonasIsSeededAndOrderFree(t *testing.T) {
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = fmt.Sprintf("p-%03d", i)
	}
	first := samplePersonas(7, ids, 5)
	reversed := slices.Clone(ids)
	slices.Reverse(reversed)
	if again := samplePersonas(7, reversed, 5); !slices.Equal(first, again) {
		t.Errorf("the sample depends on the order of ids: %v vs %v", first, again)
	}
	if other := samplePersonas(8, ids, 5); slices.Equal(first, other) {
		t.Errorf("seeds 7 and 8 drew the same sample %v", first)
	}
	if len(first) != 5 || !slices.IsSorted(first) {
		t.Errorf("sample = %v, want 5 sorted ids", first)
	}
	if all := samplePersonas(7, ids[:3], 5); len(all) != 3 {
		t.Errorf("a sample larger than the population = %v", all)
	}
}

func TestPersonaDrillDown(t *testing.T) {
	o := sampleRun(t)
	o.PersonaSample = 2
	r := sample()
	r.PersonaIDs = []string{"p-1", "p-2", "p-3"}
	views, population, info, err := readPersonas(r, o)
	if err != nil {
		t.Fatal(err)
	}
	if population != 3 || len(views) != 2 || info.Tool != "recloop v1.2.3" {
		t.Fatalf("population %d, %d views, info %+v", population, len(views), info)
	}
	var buf bytes.Buffer
	if err := WriteHTML(&buf, r, o); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	assertContains(t, page, "2 of 3 personas, drawn with the run&#39;s seed (42)", `<select id="persona-pick">`,
		"Simulated with</dt><dd>recloop v1.2.3</dd>")
	for _, v := range views {
		if len(v.Variants) != 2 || len(v.Variants[0].Steps) != 3 || v.Variants[0].Variant != "popular" {
			t.Errorf("persona %s: %+v", v.ID, v.Variants)
		}
	}
}

func TestWorstExplanations(t *testing.T) {
	worst, err := readWorstExplanations(sampleRun(t))
	if err != nil {
		t.Fatal(err)
	}
	// Scores 5 and 4.5 are good and left out; 2 then 3 remain, lowest first.
	if len(worst) != 2 || worst[0].Mean != 2 || worst[1].Mean != 3 {
		t.Fatalf("worst = %+v", worst)
	}
	if worst[0].Explanation != "because you liked "+hostileScript || worst[0].Scores != "faithfulness 2.000, relevance 2.000" {
		t.Errorf("worst[0] = %+v", worst[0])
	}
}

func TestTableGoldenFitsHundredColumns(t *testing.T) {
	for _, name := range []string{"table.golden", "verdict.golden"} {
		f, err := os.Open(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for line := 1; sc.Scan(); line++ {
			if n := utf8.RuneCountInString(sc.Text()); n > 100 {
				t.Errorf("%s line %d is %d runes wide", name, line, n)
			}
		}
		f.Close()
	}
}

// largeRun synthesises 1,000 personas × 20 rounds × 3 variants: the results
// and a trajectories.jsonl (slates of 10 with explanations) on disk.
func largeRun(tb testing.TB) (*metrics.Results, HTMLOptions) {
	tb.Helper()
	const personas, rounds, slate = 1000, 20, 10
	r := sample()
	r.Personas, r.Rounds, r.Partial, r.Baseline = personas, rounds, false, "popular"
	names := []string{"popular", "itemknn", "content"}
	r.Variants = r.Variants[:0]
	for vi, name := range names {
		v := sample().Variants[0]
		v.Name = name
		v.Rounds, v.CategoryShare = map[string][]metrics.Float{}, map[string][]metrics.Float{}
		for _, m := range []string{metrics.CTR, metrics.ILD, metrics.CalibrationKL, metrics.Entropy, metrics.TopCategoryShare,
			metrics.Homogenisation, metrics.NewItemExposure, metrics.Serendipity, metrics.CTRCold, metrics.CTRWarm, metrics.Coverage} {
			series := make([]metrics.Float, rounds)
			for t := range series {
				series[t] = metrics.Float(0.1 + 0.01*float64(t+vi))
			}
			v.Rounds[m] = series
		}
		for c := range 20 {
			series := make([]metrics.Float, rounds)
			for t := range series {
				series[t] = 1.0 / 20
			}
			v.CategoryShare[fmt.Sprintf("category-%02d", c)] = series
		}
		r.Variants = append(r.Variants, v)
		if vi > 0 {
			for _, m := range v.Metrics {
				r.Comparisons = append(r.Comparisons, metrics.Comparison{Metric: m.Name, Baseline: "popular", Candidate: name,
					N: personas, Diff: 0.01, CILow: 0, CIHigh: 0.02, P: 0.01, PHolm: 0.02, MDE: 0.005})
			}
		}
	}
	path := filepath.Join(tb.TempDir(), "trajectories.jsonl")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := trajectory.NewWriter(f)
	write := func(ev trajectory.Event) {
		ev.V = trajectory.SchemaVersion
		if err := w.Write(&ev); err != nil {
			tb.Fatal(err)
		}
	}
	write(trajectory.Event{Kind: trajectory.KindRun, Run: &trajectory.RunInfo{Scenario: "large", Seed: 42, Rounds: rounds, SlateSize: slate, Personas: personas}})
	for p := range personas {
		r.PersonaIDs = append(r.PersonaIDs, fmt.Sprintf("persona-%04d", p))
		write(trajectory.Event{Kind: trajectory.KindPersona, Persona: r.PersonaIDs[p], Profile: &trajectory.Profile{
			Name: "Name", Description: strings.Repeat("A persona description of some length. ", 6)}})
	}
	shown := make([]trajectory.Shown, slate)
	for t := range rounds {
		for _, v := range names {
			for p := range personas {
				for k := range shown {
					shown[k] = trajectory.Shown{Item: fmt.Sprintf("item-%05d", (p*7+k*13+t)%10000), Score: 1,
						Explanation: "because you watched something similar last week", Examined: k < 3, Clicked: k == 0, Rating: 4,
						Reason: "it looked like my kind of film"}
				}
				write(trajectory.Event{Kind: trajectory.KindStep, Variant: v, Round: t, Persona: r.PersonaIDs[p], Step: &trajectory.Step{Slate: shown}})
			}
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return r, HTMLOptions{Trajectories: func() (io.ReadCloser, error) { return os.Open(path) }}
}

// A large run's report stays small enough to mail and to open quickly:
// persona trajectories are sampled, charts hold one point per round.
func TestLargeRunReportSize(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 1,000-persona trajectory file")
	}
	r, o := largeRun(t)
	var buf bytes.Buffer
	if err := WriteHTML(&buf, r, o); err != nil {
		t.Fatal(err)
	}
	const limit = 5 << 20
	if buf.Len() >= limit {
		t.Errorf("report is %d bytes, want < %d", buf.Len(), limit)
	}
	t.Logf("report: %d bytes (%d without the library)", buf.Len(), buf.Len()-len(echartsInline))
}

func BenchmarkHTMLLargeRun(b *testing.B) {
	r, o := largeRun(b)
	b.ResetTimer()
	for b.Loop() {
		if err := WriteHTML(io.Discard, r, o); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPersonaField(t *testing.T) {
	tests := []struct{ line, want string }{
		{`{"v":1,"kind":"step","variant":"a","round":0,"persona":"p-1","step":{}}`, `"p-1"`},
		{`{"v":1,"kind":"step","persona":"say \"hi\"","step":{"slate":null}}`, `"say \"hi\""`},
		{`{"v":1,"kind":"step","persona":"back\\","step":{}}`, `"back\\"`},
		// A string value that mentions the key has its quotes escaped.
		{`{"v":1,"kind":"run","run":{"scenario":"\"persona\":\"x\""}}`, ``},
		{`{"v":1,"kind":"run_end"}`, ``},
		{`{"v":1,"persona":"cut off`, ``},
	}
	for _, tt := range tests {
		if got := string(personaField([]byte(tt.line))); got != tt.want {
			t.Errorf("personaField(%s) = %s, want %s", tt.line, got, tt.want)
		}
	}
}

// The filter keeps whole lines, however long, and the last line even
// without a newline.
func TestLineFilter(t *testing.T) {
	long := strings.Repeat("x", 200_000)
	in := "keep 1\ndrop 2\nkeep " + long + "\ndrop\nkeep last"
	f := &lineFilter{br: bufio.NewReaderSize(strings.NewReader(in), 16), keep: func(l []byte) bool { return bytes.HasPrefix(l, []byte("keep")) }}
	got, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if want := "keep 1\nkeep " + long + "\nkeep last"; string(got) != want {
		t.Errorf("filtered %d bytes, want %d", len(got), len(want))
	}
}

func FuzzPersonaField(f *testing.F) {
	f.Add([]byte(`{"v":1,"kind":"step","persona":"p-1","step":{}}`))
	f.Add([]byte(`{"persona":"a\"b\\","x":1}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		field := personaField(line)
		if field == nil {
			return
		}
		// Whatever it returns is one whole quoted string taken from the
		// line: it starts and ends with a quote, and every quote between is
		// escaped by an odd run of backslashes.
		if len(field) < 2 || field[0] != '"' || field[len(field)-1] != '"' || !bytes.Contains(line, field) {
			t.Fatalf("personaField(%q) = %q", line, field)
		}
		backslashes := 0
		for i, c := range field[1:] {
			switch {
			case c == '\\':
				backslashes++
				continue
			case c == '"' && backslashes%2 == 0 && i != len(field)-2:
				t.Fatalf("personaField(%q) = %q ends early", line, field)
			case c == '"' && backslashes%2 == 1 && i == len(field)-2:
				t.Fatalf("personaField(%q) = %q ends in an escaped quote", line, field)
			}
			backslashes = 0
		}
	})
}

func TestMayBeBadVerdict(t *testing.T) {
	line := func(scores map[string]float64, violations []trajectory.ViolationRecord) []byte {
		b, err := json.Marshal(trajectory.Event{V: 1, Kind: trajectory.KindVerdict, Persona: "p", Verdict: &trajectory.VerdictRecord{
			Judge: "j", Item: "i", Rank: 1, Scores: scores, Reason: `says "scores":{"x":1} and }`, Violations: violations}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		line []byte
		want bool
	}{
		{"all good", line(map[string]float64{"faithfulness": 5, "relevance": 4}, nil), false},
		{"one below 4", line(map[string]float64{"faithfulness": 5, "relevance": 3.5}, nil), true},
		{"good but a violation", line(map[string]float64{"faithfulness": 5}, []trajectory.ViolationRecord{{Kind: "title", Phrase: "x"}}), true},
		{"odd dimension name", line(map[string]float64{`a:"b},`: 4.5}, nil), false},
		{"no scores", line(nil, nil), true},
		{"not json", []byte(`{"scores":{"x":oops}`), true},
	}
	for _, tt := range tests {
		if got := mayBeBadVerdict(tt.line); got != tt.want {
			t.Errorf("%s: mayBeBadVerdict(%s) = %v, want %v", tt.name, tt.line, got, tt.want)
		}
	}
}

// A run directory whose files cannot be read still gets its report: every
// number comes from the results, and the page says what is missing.
func TestUnreadableRunFilesDegradeTheReport(t *testing.T) {
	broken := func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("{\"v\":1,\"kind\":\"step\"}\n{}\n")), nil
	}
	var buf bytes.Buffer
	if err := WriteHTML(&buf, sample(), HTMLOptions{Trajectories: broken, Verdicts: broken}); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	page := buf.String()
	assertContains(t, page, "The drill-down is missing: reports: read events: line 1:",
		"The worst-scored explanations are missing: reports: read events: line 1:", `<h2 id="scorecard">`)
	if strings.Contains(page, `id="persona-pick"`) {
		t.Error("a drill-down without personas offers a picker")
	}
}

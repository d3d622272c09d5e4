package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/recloop/recloop/metrics"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

type renderer func(io.Writer, *metrics.Results) error

func render(t *testing.T, f renderer, r *metrics.Results) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := f(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func assertContains(t *testing.T, text string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestGolden(t *testing.T) {
	tests := []struct {
		golden string
		render renderer
	}{
		{"table.golden", Table},
		{"results.json.golden", WriteJSON},
		{"report.html.golden", func(w io.Writer, r *metrics.Results) error { return WriteHTML(w, r, sampleRun(t)) }},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			got := render(t, tt.render, sample())
			// The embedded library is a megabyte of someone else's code; the
			// golden holds a placeholder (TestHTMLEmbedsEChartsOnce checks it).
			got = bytes.Replace(got, []byte(echartsInline), []byte("/* echarts.min.js */"), 1)
			path := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the output; run go test ./reports -update and review the diff\n--- got ---\n%s", path, got)
			}
		})
	}
}

func TestHTMLEscapesDataFromTheRun(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, sample(), sampleRun(t)); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, raw := range []string{hostileScript, "knn</script>", "news & <friends>"} {
		if strings.Contains(page, raw) {
			t.Errorf("report contains %q unescaped", raw)
		}
	}
	const escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
	assertContains(t, page,
		"<code>"+escaped+" &amp; more</code>",            // recommender error message
		"<th>"+escaped+"</th>",                           // segment name
		"<th>knn&lt;/script&gt;&amp;</th>",               // variant name
		"news &amp; &lt;friends&gt;",                     // scenario name
		"“Too much "+escaped+"”",                         // interview quote
		"Reads everything about "+escaped,                // persona description
		"because you liked "+escaped,                     // recommender explanation
		"looks "+escaped,                                 // persona's reason
		"Title of i-3 "+escaped,                          // item title
		"claims a title the persona never saw: "+escaped, // judge reason
		"“"+escaped+"”",                                  // violation phrase
	)
	// Only the report's own three scripts: the library, the options and the
	// loader. No string from the run may open or close one.
	if opens, closes := strings.Count(page, "<script"), strings.Count(page, "</script"); opens != 3 || closes != 3 {
		t.Errorf("report has %d <script and %d </script, want 3 and 3", opens, closes)
	}
}

// The chart options are JSON escaped for <script>; decoding them must give
// back the variant names exactly as the run wrote them.
func TestHTMLChartOptionsDecodeToTheRunsNames(t *testing.T) {
	page := render(t, HTML, sample())
	m := regexp.MustCompile(`(?s)<script type="application/json" id="chart-options">(.*?)</script>`).FindSubmatch(page)
	if m == nil {
		t.Fatal("no chart options in the report")
	}
	var options map[string]struct {
		Series []struct {
			Name string `json:"name"`
			Data []struct {
				Value any `json:"value"`
			} `json:"data"`
		} `json:"series"`
	}
	if err := json.Unmarshal(m[1], &options); err != nil {
		t.Fatalf("chart options are not JSON: %v", err)
	}
	ctr, ok := options["chart_00_ctr"]
	if !ok || len(ctr.Series) != 2 {
		t.Fatalf("chart_00_ctr = %+v, want two series", ctr)
	}
	if got := ctr.Series[1].Name; got != "knn</script>&" {
		t.Errorf("series name = %q, want %q", got, "knn</script>&")
	}
	// itemknn's CTR is undefined in round 2: ECharts' gap marker "-".
	if got := ctr.Series[1].Data[2].Value; got != "-" {
		t.Errorf("undefined point = %v, want \"-\"", got)
	}
	// Shares are drawn in percent: 0.125 → 12.5.
	if got := ctr.Series[0].Data[1].Value; got != 12.5 {
		t.Errorf("popular CTR in round 1 = %v, want 12.5", got)
	}
}

func TestHTMLIsDeterministic(t *testing.T) {
	first := render(t, HTML, sample())
	second := render(t, HTML, sample())
	if !bytes.Equal(first, second) {
		t.Fatal("two renders of the same results differ")
	}
	// Maps rebuilt by decoding iterate in another order; the page must not care.
	decoded, err := ReadJSON(bytes.NewReader(render(t, WriteJSON, sample())))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, render(t, HTML, decoded)) {
		t.Fatal("the report from results.json differs from the report from the results")
	}
	// With the run directory's trajectories and verdicts too.
	withRun := func(r *metrics.Results) []byte {
		var buf bytes.Buffer
		if err := WriteHTML(&buf, r, sampleRun(t)); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	if !bytes.Equal(withRun(sample()), withRun(decoded)) {
		t.Fatal("two renders with the run directory differ")
	}
}

// Without JavaScript every charted number must still be readable: the
// per-round tables are open and the chart boxes hidden until the loader runs.
func TestHTMLReadableWithoutJavaScript(t *testing.T) {
	page := string(render(t, HTML, sample()))
	assertContains(t, page,
		`<details id="chart_00_ctr-data" open>`,
		`<div class="chart" id="chart_00_ctr" data-chart="chart_00_ctr" style="height: 320px" hidden>`,
		"<tr><td>1</td><td>12.5%</td><td>20.0%</td></tr>",
		"<tr><td>2</td><td>10.0%</td><td>–</td></tr>",
		"<tr><td>2</td><td>18</td><td>19</td></tr>",
	)
}

func TestHTMLSections(t *testing.T) {
	r := sample()
	page := string(render(t, HTML, r))
	// The sections in the order a product manager reads them.
	order := []string{`<h2 id="verdict">`, `<h2 id="scorecard">`, `<h2 id="rounds">`, `<h2 id="filter-bubble">`,
		`<h2 id="serendipity">`, `<h2 id="cold-start">`, `<h2 id="explanations">`, `<h2 id="personas">`, `<h2 id="facts">`}
	last := -1
	for _, h := range order {
		i := strings.Index(page, h)
		if i < 0 {
			t.Errorf("report lacks %s", h)
			continue
		}
		if i < last {
			t.Errorf("%s comes before the section it should follow", h)
		}
		last = i
	}
	assertContains(t, page,
		"<strong>Partial run.</strong> The run stopped early: LLM budget exhausted after round 3.",
		"12.3%<small>[10.0%, 14.6%]</small><small>n = 20</small>",
		"<td>–<small>n = 0</small></td>",
		"<li><code>timeout after 2s</code></li>",
		"<td>popular</td><td>1.500</td><td>4.000</td><td>9.500</td><td>12.0</td>",
		"<dt>CTR <code>ctr</code></dt><dd>clicks / impressions, per persona, then averaged</dd>",
		"The scenario sets no gates, so this run neither passes nor fails.",
		"The worst-scored explanations need verdicts.jsonl",
	)
	// Without a baseline there is no A/B section and nothing to colour.
	if strings.Contains(page, `<h2 id="ab">`) || strings.Contains(page, `class="diff`) {
		t.Error("a run without a baseline shows A/B differences")
	}
	r.Partial = false
	if page := string(render(t, HTML, r)); strings.Contains(page, "Partial run") {
		t.Error("a complete run shows the partial-run banner")
	}
}

func TestReportsOfAnEmptyRun(t *testing.T) {
	r := &metrics.Results{Schema: metrics.ResultsSchemaVersion, Scenario: "empty"}
	page := string(render(t, HTML, r))
	if strings.Contains(page, echartsInline[:200]) || strings.Contains(page, `id="chart-options"`) {
		t.Error("a run without charts should not embed the chart library")
	}
	for _, absent := range []string{`<h2 id="explanations">`, `<h2 id="ab">`, `<h2 id="personas">`, `<h2 id="rounds">`} {
		if strings.Contains(page, absent) {
			t.Errorf("an empty run shows %s", absent)
		}
	}
	assertContains(t, page, `<h2 id="verdict">`, "This run has no serendipity numbers.",
		"No language model was used")
	table := string(render(t, Table, r))
	if !strings.Contains(table, `Scenario "empty"`) {
		t.Errorf("table header missing:\n%s", table)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	first := render(t, WriteJSON, sample())
	if !bytes.HasSuffix(first, []byte("}\n")) {
		t.Error("results.json does not end in a newline")
	}
	if !bytes.Contains(first, []byte("\n  \"schema\": 1,\n")) {
		t.Error("results.json is not indented by two spaces")
	}
	got, err := ReadJSON(bytes.NewReader(first))
	if err != nil {
		t.Fatal(err)
	}
	if second := render(t, WriteJSON, got); !bytes.Equal(first, second) {
		t.Errorf("write → read → write changed the bytes:\n%s\n---\n%s", first, second)
	}
	acceptance, _ := got.Variants[0].Metric(metrics.Acceptance)
	if !math.IsNaN(float64(acceptance.Value)) {
		t.Errorf("undefined acceptance read back as %v, want NaN", acceptance.Value)
	}
	if v := got.Variants[1].Rounds[metrics.CTR][2]; !math.IsNaN(float64(v)) {
		t.Errorf("undefined round value read back as %v, want NaN", v)
	}
	if got.Variants[0].Errors.Examples[0] != hostileScript+" & more" {
		t.Errorf("error example = %q", got.Variants[0].Errors.Examples[0])
	}
}

func TestReadJSONRejects(t *testing.T) {
	tests := []struct {
		name       string
		input      string
		wantSchema bool
		wantText   string
	}{
		{"newer schema", `{"schema": 2, "scenario": "x"}`, true, "schema 2"},
		{"no schema", `{"scenario": "x"}`, true, `no "schema" field`},
		{"not json", `schema: 1`, false, "read results json"},
		{"wrong type", `{"schema": "1"}`, false, "read results json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadJSON(strings.NewReader(tt.input))
			if err == nil {
				t.Fatal("ReadJSON accepted it")
			}
			if got := errors.Is(err, ErrSchemaVersion); got != tt.wantSchema {
				t.Errorf("errors.Is(err, ErrSchemaVersion) = %v, want %v (err: %v)", got, tt.wantSchema, err)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not mention %q", err, tt.wantText)
			}
		})
	}
}

func TestTableFitsTheTerminal(t *testing.T) {
	long := sample()
	long.Variants[0].Name = "a-very-long-variant-name-for-the-itemknn-recommender-v2-tuned"
	long.Variants[1].Name = "name with\nnewline and \x1b[31mcolour"
	for _, r := range []*metrics.Results{sample(), long} {
		out := string(render(t, Table, r))
		for i, line := range strings.Split(out, "\n") {
			if n := utf8.RuneCountInString(line); n > tableWidth {
				t.Errorf("line %d is %d columns wide:\n%s", i+1, n, line)
			}
		}
		if strings.Contains(out, "\x1b[") {
			t.Error("table contains colour escape codes")
		}
	}
}

func TestTableContent(t *testing.T) {
	r := sample()
	out := string(render(t, Table, r))
	if !strings.HasPrefix(out, "!! PARTIAL RUN (LLM budget exhausted after round 3)") {
		t.Errorf("partial run not marked on top:\n%s", out)
	}
	assertContains(t, out,
		// The scorecard, transposed: metrics as rows, variants as columns.
		// popular: CTR 0.123 with CI [0.1, 0.146] → half-width 0.023 → 2.3%.
		"│ CTR ↑         │   12.3% │         20.0% │",
		"│               │   ±2.3% │         ±2.5% │",
		"Engagement\n", "Beyond accuracy\n", "Filter bubble\n", "Cold start & operations\n",
		"In short\n- The scenario sets no gates",
		"never", "2/1/0", "of 60",
	)
	r.Partial = false
	if out := string(render(t, Table, r)); strings.Contains(out, "PARTIAL") {
		t.Error("a complete run is marked partial")
	}
}

func TestFormatNumber(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{0.1234, "0.123"},
		{-0.125, "-0.125"},
		{6.25, "6.250"},
		{12.345, "12.3"},
		{1234.5, "1234"},
		{0.0004, "4.0e-04"},
		{math.NaN(), "–"},
		{math.Inf(1), "–"},
	}
	for _, tt := range tests {
		if got := formatNumber(tt.in); got != tt.want {
			t.Errorf("formatNumber(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMetricFormatting(t *testing.T) {
	ctr := infoFor(metrics.CTR)
	v := val(metrics.CTR, 0.123, 0.1, 0.146, 20)
	// (0.146 − 0.1) / 2 = 0.023 → 2.3%
	if got := ctr.halfWidth(v); got != "±2.3%" {
		t.Errorf("halfWidth = %q, want ±2.3%%", got)
	}
	if got := ctr.interval(v); got != "[10.0%, 14.6%]" {
		t.Errorf("interval = %q", got)
	}
	undef := metrics.Value{Value: nan(), CILow: nan(), CIHigh: nan()}
	if got := ctr.halfWidth(undef) + ctr.interval(undef); got != "" {
		t.Errorf("undefined CI printed as %q", got)
	}
	if got := infoFor("brand_new_metric"); got.label != "brand_new_metric" || got.percent {
		t.Errorf("unknown metric info = %+v", got)
	}
}

func TestChartID(t *testing.T) {
	tests := []struct {
		index  int
		metric string
		want   string
	}{
		{0, metrics.CTR, "chart_00_ctr"},
		{12, metrics.EntropySlope, "chart_12_consumption_entropy_slope"},
		{3, `x"><script>`, "chart_03_x___script_"},
	}
	for _, tt := range tests {
		if got := chartID(tt.index, tt.metric); got != tt.want {
			t.Errorf("chartID(%d, %q) = %q, want %q", tt.index, tt.metric, got, tt.want)
		}
	}
}

func TestEscapeScriptJSON(t *testing.T) {
	in := `{"name":"</script><b>&` + "\u2028" + `"}`
	got := escapeScriptJSON(in)
	want := `{"name":"\u003c/script\u003e\u003cb\u003e\u0026\u2028"}`
	if got != want {
		t.Errorf("escapeScriptJSON = %s, want %s", got, want)
	}
	var a, b map[string]string
	if err := json.Unmarshal([]byte(in), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(got), &b); err != nil {
		t.Fatal(err)
	}
	if a["name"] != b["name"] {
		t.Errorf("escaping changed the value: %q → %q", a["name"], b["name"])
	}
}

func FuzzReadJSON(f *testing.F) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, sample()); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(`{"schema": 1}`))
	f.Add([]byte(`{"schema": 1, "variants": [{"name": "a", "metrics": [{"name": "ctr", "value": null}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ReadJSON(bytes.NewReader(data))
		if err != nil {
			return
		}
		var first, second bytes.Buffer
		if err := WriteJSON(&first, r); err != nil {
			t.Fatal(err)
		}
		again, err := ReadJSON(bytes.NewReader(first.Bytes()))
		if err != nil {
			t.Fatalf("cannot read back what WriteJSON wrote: %v", err)
		}
		if err := WriteJSON(&second, again); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Fatalf("round trip changed the bytes:\n%s\n---\n%s", first.Bytes(), second.Bytes())
		}
		if err := HTML(io.Discard, r); err != nil {
			t.Fatalf("HTML failed on a readable results file: %v", err)
		}
		if err := Table(io.Discard, r); err != nil {
			t.Fatalf("Table failed on a readable results file: %v", err)
		}
	})
}

func BenchmarkHTML(b *testing.B) {
	r := sample()
	for b.Loop() {
		if err := HTML(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
}

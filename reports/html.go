package reports

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/recloop/recloop/metrics"
)

//go:embed report.html.tmpl
var reportTemplateText string

var reportTemplate = template.Must(template.New("report").Parse(reportTemplateText))

// htmlReport is everything the template shows, already formatted. All
// strings from the run are plain strings, so html/template escapes them.
type htmlReport struct {
	Scenario     string
	Seed         uint64
	Personas     int
	Rounds       int
	Items        int
	Partial      bool
	Reason       string
	Variants     []variantHeader
	Scorecard    []metricRow
	Charts       []roundChart
	ChartAssets  []string
	ChartOptions template.JS
	Segments     []segmentTable
	ColdStart    []coldStartRow
	Errors       []errorRow
	Latency      []latencyRow
	Glossary     []glossaryEntry
	Voices       []voicesBlock
	LLM          *llmBlock
}

// voicesBlock is what one variant's LLM-played personas said.
type voicesBlock struct {
	Variant           string
	Hallucinations    string
	HallucinationRate string
	Satisfaction      valueCellHTML
	Quotes            []metrics.Quote
}

// llmBlock is the run's language-model usage.
type llmBlock struct {
	Model, Calls, CacheHits, CacheHitRate, Tokens, Cost, Retries, Errors string
}

type variantHeader struct{ Name, Recommender string }

// metricRow is one metric across several columns (variants or segments).
type metricRow struct {
	Label, Arrow, Definition string
	Cells                    []valueCellHTML
}

type valueCellHTML struct{ Value, CI, N string }

type segmentTable struct {
	Variant  string
	Columns  []string
	Personas []int
	Rows     []metricRow
}

type coldStartRow struct {
	Variant                    string
	ColdPersonas, WarmPersonas int
	CTRRatio, AcceptanceRatio  valueCellHTML
	RoundsToWarm               string
	NewItems                   int
	NewItemCTR, FirstExposure  string
	NeverShown                 string
}

type errorRow struct {
	Variant                          string
	Calls, Errors, Timeouts, Invalid int
	Rate                             string
	Examples                         []string
}

type latencyRow struct{ Variant, P50, P95, P99, Max string }

type glossaryEntry struct{ Name, Label, Text string }

// HTML writes a single-file report: run facts, a partial-run banner, the
// scorecard, a chart per metric over rounds (each with its numbers in a
// table, so the page reads fine offline and without JavaScript), segments,
// cold start, errors, latency and a glossary. Same results, same bytes.
func HTML(w io.Writer, r *metrics.Results) error {
	page, err := buildReport(r)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := reportTemplate.Execute(&buf, page); err != nil {
		return fmt.Errorf("reports: render html: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("reports: write html: %w", err)
	}
	return nil
}

func buildReport(r *metrics.Results) (*htmlReport, error) {
	page := &htmlReport{
		Scenario: r.Scenario,
		Seed:     r.Seed,
		Personas: r.Personas,
		Rounds:   r.Rounds,
		Items:    r.Items,
		Partial:  r.Partial,
		Reason:   r.Reason,
	}
	charts, assets, err := roundCharts(r)
	if err != nil {
		return nil, err
	}
	page.Charts, page.ChartAssets = charts, assets
	page.ChartOptions = chartOptions(charts)

	var headline []string
	for i := range r.Variants {
		v := &r.Variants[i]
		page.Variants = append(page.Variants, variantHeader{Name: v.Name, Recommender: v.Recommender})
		for _, m := range v.Metrics {
			headline = append(headline, m.Name)
		}
		page.Segments = append(page.Segments, segmentTableFor(v, r.Definitions))
		page.ColdStart = append(page.ColdStart, coldStartRowFor(v))
		page.Errors = append(page.Errors, errorRowFor(v))
		page.Latency = append(page.Latency, latencyRow{
			Variant: v.Name,
			P50:     formatNumber(float64(v.WallLatencyMS.P50)),
			P95:     formatNumber(float64(v.WallLatencyMS.P95)),
			P99:     formatNumber(float64(v.WallLatencyMS.P99)),
			Max:     formatNumber(float64(v.WallLatencyMS.Max)),
		})
	}
	for _, name := range orderNames(headline) {
		row := newMetricRow(name, r.Definitions)
		for i := range r.Variants {
			m, ok := r.Variants[i].Metric(name)
			row.Cells = append(row.Cells, htmlCell(name, m, ok, true))
		}
		page.Scorecard = append(page.Scorecard, row)
	}
	page.Glossary = glossary(r.Definitions)
	for i := range r.Variants {
		if vo := r.Variants[i].Voices; vo != nil {
			page.Voices = append(page.Voices, voicesBlock{
				Variant:           r.Variants[i].Name,
				Hallucinations:    fmt.Sprintf("%d of %d item ids named", vo.Hallucinations, vo.ItemsNamed),
				HallucinationRate: formatPercent(float64(vo.HallucinationRate)),
				Satisfaction:      htmlCell(metrics.InterviewSatisfaction, vo.Satisfaction, true, true),
				Quotes:            vo.Quotes,
			})
		}
	}
	if u := r.LLM; u != nil {
		page.LLM = &llmBlock{
			Model: u.Model, Calls: strconv.Itoa(u.Calls), CacheHits: strconv.Itoa(u.CacheHits),
			CacheHitRate: formatPercent(float64(u.CacheHitRate)),
			Tokens:       fmt.Sprintf("%d prompt + %d completion", u.PromptTokens, u.CompletionTokens),
			Cost:         fmt.Sprintf("$%.4f", u.CostUSD), Retries: strconv.Itoa(u.Retries), Errors: strconv.Itoa(u.Errors),
		}
	}
	return page, nil
}

func newMetricRow(name string, defs map[string]string) metricRow {
	info := infoFor(name)
	return metricRow{Label: info.label, Arrow: info.dir.arrow(), Definition: defs[name]}
}

func htmlCell(name string, m metrics.Value, ok, withN bool) valueCellHTML {
	if !ok {
		return valueCellHTML{Value: undefined}
	}
	info := infoFor(name)
	c := valueCellHTML{Value: info.format(m.Value)}
	if m.Value.Defined() {
		c.CI = info.interval(m)
	}
	if withN {
		c.N = strconv.Itoa(m.N)
	}
	return c
}

// segmentTableFor lays a variant's segments out as columns, metrics as rows.
func segmentTableFor(v *metrics.VariantResult, defs map[string]string) segmentTable {
	t := segmentTable{Variant: v.Name}
	var names []string
	for _, s := range v.Segments {
		t.Columns = append(t.Columns, s.Segment)
		t.Personas = append(t.Personas, s.Personas)
		for _, m := range s.Metrics {
			names = append(names, m.Name)
		}
	}
	for _, name := range orderNames(names) {
		row := newMetricRow(name, defs)
		for _, s := range v.Segments {
			m, ok := findMetric(s.Metrics, name)
			row.Cells = append(row.Cells, htmlCell(name, m, ok, false))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

func coldStartRowFor(v *metrics.VariantResult) coldStartRow {
	c := v.ColdStart
	haveCohorts := c.ColdPersonas > 0 && c.WarmPersonas > 0
	ratio := func(m metrics.Value) valueCellHTML {
		if !haveCohorts {
			return valueCellHTML{Value: undefined}
		}
		return htmlCell("", m, true, false)
	}
	row := coldStartRow{
		Variant:         v.Name,
		ColdPersonas:    c.ColdPersonas,
		WarmPersonas:    c.WarmPersonas,
		CTRRatio:        ratio(c.CTRRatio),
		AcceptanceRatio: ratio(c.AcceptanceRatio),
		RoundsToWarm:    roundsToWarm(c),
		NewItems:        c.NewItems,
		NewItemCTR:      undefined,
		FirstExposure:   undefined,
		NeverShown:      undefined,
	}
	if c.NewItems > 0 {
		row.NewItemCTR = formatPercent(float64(c.NewItemCTR))
		row.FirstExposure = formatNumber(float64(c.NewItemRoundsToFirstExposure))
		row.NeverShown = strconv.Itoa(c.NewItemsNeverShown)
	}
	return row
}

func errorRowFor(v *metrics.VariantResult) errorRow {
	e := v.Errors
	rate := undefined
	if e.Calls > 0 {
		rate = formatPercent(float64(e.Rate))
	}
	return errorRow{
		Variant: v.Name, Calls: e.Calls, Errors: e.Errors, Timeouts: e.Timeouts, Invalid: e.Invalid,
		Rate: rate, Examples: e.Examples,
	}
}

func glossary(defs map[string]string) []glossaryEntry {
	names := make([]string, 0, len(defs))
	for name := range defs {
		names = append(names, name)
	}
	slices.Sort(names)
	out := make([]glossaryEntry, 0, len(names))
	for _, name := range names {
		entry := glossaryEntry{Name: name, Text: defs[name]}
		if info, ok := metricInfos[name]; ok {
			entry.Label = info.label
		}
		out = append(out, entry)
	}
	return out
}

// chartOptions gathers every chart's option into one JSON object keyed by
// chart id, for the page's loader script. The ids are ASCII letters, digits
// and underscores and every option is already escaped for <script>.
func chartOptions(charts []roundChart) template.JS {
	var b strings.Builder
	b.WriteByte('{')
	for i, c := range charts {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(c.ID))
		b.WriteByte(':')
		b.WriteString(c.Option)
	}
	b.WriteByte('}')
	return template.JS(b.String())
}

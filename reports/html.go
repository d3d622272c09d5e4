package reports

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/recloop/recloop/metrics"
)

//go:embed report.html.tmpl
var reportTemplateText string

// conversationsTemplateText defines the templates of a conversational
// run's section and transcripts.
//
//go:embed conversations.html.tmpl
var conversationsTemplateText string

var reportTemplate = parseReportTemplate()

func parseReportTemplate() *template.Template {
	t := template.Must(template.New("report").Parse(reportTemplateText))
	template.Must(t.New("conversations").Parse(conversationsTemplateText))
	return t
}

// htmlReport is everything the template shows, already formatted. Strings
// from the run stay plain strings, so html/template escapes them; the only
// unescaped parts are the chart options (JSON escaped for <script>) and the
// embedded ECharts library.
type htmlReport struct {
	Scenario, Baseline       string
	Seed                     uint64
	Personas, Rounds, Items  int
	Partial                  bool
	Reason                   string
	Variants                 []variantHeader
	Verdict                  verdictBlock
	Scorecard                scorecard
	Bands                    *htmlBands
	Segments                 []segmentTable
	OverRounds, FilterBubble []chart
	Outcomes                 []chart
	Conversations            *conversationsBlock
	SurvivalNotes            []string
	RoundsNote               string
	FilterBubbleFacts        []explainedRow
	Serendipity              []chart
	SerendipityNote          string
	ColdStart                []coldStartRow
	ColdCharts               []chart
	Explanations             *explanationsBlock
	AB                       *abBlock
	Drill                    *personasBlock
	Fidelity                 *fidelityBlock
	Facts                    factsBlock
	Errors                   []errorRow
	Latency                  []latencyRow
	Voices                   []voicesBlock
	Glossary                 []glossaryEntry
	ChartOptions             template.JS
	Library                  template.JS
	LibraryVersion           string
	HasCharts                bool
}

type variantHeader struct{ Name, Recommender string }

type verdictBlock struct {
	// Status is pass, fail, inconclusive, another verdict, or "" (no gates).
	Status, Headline string
	Gates            []gateRow
	Sentences        []string
}

type gateRow struct {
	Mark, Name, Check, Observed, Threshold, Verdict, Message string
}

type scorecard struct {
	Columns []scoreColumn
	Rows    []scoreRow
}

type scoreColumn struct {
	Name     string
	Baseline bool
}

type scoreRow struct {
	Label, Arrow, Definition string
	Cells                    []scoreCell
}

type scoreCell struct {
	Value, CI, N string
	// Diff is the paired difference from the baseline; Tone is "good",
	// "bad" or "changed" only when it is significant.
	Diff, DiffCI, Tone string
}

// metricRow is one metric across several columns (segments).
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

type explainedRow struct {
	Label, Explain string
	Cells          []string
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

type explanationsBlock struct {
	Charts     []chart
	Judges     []judgeRow
	Violations []violationRow
	Worst      []scoredExplanation
	WorstNote  string
	Pairwise   []string
	Agreement  []string
}

type judgeRow struct {
	Variant, Judge, Model, Judged, ViolationRate string
	Dimensions                                   []string
}

type violationRow struct {
	Variant, Judge, Persona, Item, Kind, Phrase, Detail string
	Round                                               int
}

type abBlock struct {
	Baseline string
	Charts   []chart
	Rows     []abRow
	Segments []abRow
}

type abRow struct {
	Candidate, Segment, Metric, Diff, CI, P, MDE, N, Tone, Note string
}

type personasBlock struct {
	Sampled, Population int
	Note                string
	List                []personaView
}

type factsBlock struct {
	Facts []fact
	LLM   *llmBlock
}

type fact struct{ Label, Value string }

// llmBlock is the run's language-model usage.
type llmBlock struct {
	Model, Calls, CacheHits, CacheHitRate, Tokens, Cost, Retries, Errors, Budget string
	Roles                                                                        []llmRole
}

type llmRole struct{ Role, Calls, CacheHits, Tokens, Cost string }

// voicesBlock is what one variant's LLM-played personas said.
type voicesBlock struct {
	Variant           string
	Hallucinations    string
	HallucinationRate string
	Satisfaction      valueCellHTML
	Quotes            []metrics.Quote
}

type errorRow struct {
	Variant                          string
	Calls, Errors, Timeouts, Invalid int
	Rate                             string
	Examples                         []string
}

type latencyRow struct{ Variant, P50, P95, P99, Max string }

type glossaryEntry struct{ Name, Label, Text string }

// HTML writes the single-file report from the results alone: no persona
// drill-down and no worst-scored explanations, which need the run
// directory (see WriteHTML). Same results, same bytes.
func HTML(w io.Writer, r *metrics.Results) error {
	return WriteHTML(w, r, HTMLOptions{})
}

// WriteHTML writes one self-contained HTML file that opens offline: the
// verdict in plain language, the scorecard, charts over rounds, the filter
// bubble, serendipity, cold start, explanations, the A/B forest plots, a
// persona drill-down, and the run's cost and facts. Every charted number is
// also in a table, so the page reads without JavaScript. The ECharts
// library is embedded. Same inputs, same bytes.
func WriteHTML(w io.Writer, r *metrics.Results, o HTMLOptions) error {
	page, err := buildReport(r, o)
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

func buildReport(r *metrics.Results, o HTMLOptions) (*htmlReport, error) {
	page := &htmlReport{
		Scenario: r.Scenario, Seed: r.Seed, Personas: r.Personas, Rounds: r.Rounds, Items: r.Items,
		Partial: r.Partial, Reason: r.Reason, Baseline: r.Baseline, LibraryVersion: EChartsVersion,
	}
	for i := range r.Variants {
		v := &r.Variants[i]
		page.Variants = append(page.Variants, variantHeader{Name: v.Name, Recommender: v.Recommender})
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
		if vo := v.Voices; vo != nil {
			page.Voices = append(page.Voices, voicesBlock{
				Variant:           v.Name,
				Hallucinations:    fmt.Sprintf("%d of %d item ids named", vo.Hallucinations, vo.ItemsNamed),
				HallucinationRate: formatPercent(float64(vo.HallucinationRate)),
				Satisfaction:      htmlCell(metrics.InterviewSatisfaction, vo.Satisfaction, true, true),
				Quotes:            vo.Quotes,
			})
		}
	}
	page.Verdict = verdictFor(r)
	page.Scorecard = scorecardFor(r)
	page.Bands = bandsFor(r)
	page.Glossary = glossary(r.Definitions)

	cs := &chartSet{}
	page.Conversations = conversationsFor(cs, r)
	page.Outcomes = outcomeCharts(cs, r)
	page.SurvivalNotes = survivalSentences(r)
	page.OverRounds, page.RoundsNote = overRoundsCharts(cs, r)
	page.FilterBubble, page.FilterBubbleFacts = filterBubble(cs, r)
	page.Serendipity, page.SerendipityNote = serendipityCharts(cs, r)
	page.ColdCharts = coldStartCharts(cs, r)
	page.Explanations = explanationsFor(cs, r)
	page.AB = abFor(cs, r)
	if cs.err != nil {
		return nil, cs.err
	}
	page.HasCharts = len(cs.charts) > 0
	if page.HasCharts {
		page.ChartOptions = chartOptions(cs.charts)
		page.Library = template.JS(echartsInline)
	}

	// The run directory's files only add detail: a report whose trajectories
	// cannot be read still shows every number from the results.
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var info runInfo
	if o.Trajectories != nil {
		views, population, ri, err := readPersonas(r, o)
		info = ri
		switch {
		case err != nil:
			log.Warn("report: persona drill-down left out", "err", err)
			page.Drill = &personasBlock{Note: "The drill-down is missing: " + err.Error() + "."}
		case len(views) < population:
			page.Drill = &personasBlock{Sampled: len(views), Population: population, List: views,
				Note: fmt.Sprintf("%d of %d personas, drawn with the run's seed (%d); the same run always shows the same personas.", len(views), population, r.Seed)}
		default:
			page.Drill = &personasBlock{Sampled: len(views), Population: population, List: views, Note: fmt.Sprintf("All %d personas.", population)}
		}
	}
	if o.Fidelity != nil {
		fb, err := readFidelity(o.Fidelity)
		if err != nil {
			log.Warn("report: fidelity section left out", "err", err)
			fb = &fidelityBlock{Note: "The fidelity check could not be read: " + err.Error() + "."}
		}
		page.Fidelity = fb
	}
	if o.Verdicts != nil {
		worst, err := readWorstExplanations(o)
		if err != nil {
			log.Warn("report: worst-scored explanations left out", "err", err)
			if page.Explanations == nil {
				page.Explanations = &explanationsBlock{}
			}
			page.Explanations.WorstNote = "The worst-scored explanations are missing: " + err.Error() + "."
		} else if page.Explanations == nil && len(worst) > 0 {
			page.Explanations = &explanationsBlock{}
		}
		if err == nil && page.Explanations != nil {
			page.Explanations.Worst = worst
			if len(worst) == 0 {
				page.Explanations.WorstNote = "Every judged explanation scored 4 or more on average, with no unsupported claim: there is no bad example to show."
			}
		}
	} else if page.Explanations != nil {
		page.Explanations.WorstNote = "The worst-scored explanations need verdicts.jsonl, which this report was rendered without."
	}
	page.Facts = factsFor(r, info)
	return page, nil
}

func verdictFor(r *metrics.Results) verdictBlock {
	vb := verdictBlock{Status: overallVerdict(r), Sentences: narrative(r)}
	if len(r.Gates) > 0 {
		vb.Headline = strings.TrimPrefix(verdictHeadline(r, tallyGates(r.Gates)), "VERDICT: ")
	}
	gates := slices.Clone(r.Gates)
	slices.SortStableFunc(gates, func(a, b metrics.GateResult) int { return verdictRank(a.Verdict) - verdictRank(b.Verdict) })
	for _, g := range gates {
		observed, threshold := gateNumbers(g.Observed, g.Threshold)
		vb.Gates = append(vb.Gates, gateRow{Mark: verdictMark(g.Verdict), Name: g.Name, Check: g.Check,
			Observed: observed, Threshold: threshold, Verdict: g.Verdict, Message: g.Message})
	}
	return vb
}

// headlineNames lists every headline metric any variant has, in order.
func headlineNames(r *metrics.Results) []string {
	var names []string
	for i := range r.Variants {
		for _, m := range r.Variants[i].Metrics {
			names = append(names, m.Name)
		}
	}
	return metrics.SortNames(names)
}

func scorecardFor(r *metrics.Results) scorecard {
	var sc scorecard
	for i := range r.Variants {
		sc.Columns = append(sc.Columns, scoreColumn{Name: r.Variants[i].Name, Baseline: r.Baseline != "" && r.Variants[i].Name == r.Baseline})
	}
	for _, name := range headlineNames(r) {
		info := infoFor(name)
		row := scoreRow{Label: info.label, Arrow: info.dir.Arrow(), Definition: r.Definitions[name]}
		for i := range r.Variants {
			v := &r.Variants[i]
			m, ok := v.Metric(name)
			hc := htmlCell(name, m, ok, true)
			cell := scoreCell{Value: hc.Value, CI: hc.CI, N: hc.N}
			if c, found := findComparison(r.Comparisons, v.Name, name, ""); found && v.Name != r.Baseline && c.Diff.Defined() {
				cell.Diff = formatDiff(info, c.Diff, true)
				if c.CILow.Defined() && c.CIHigh.Defined() {
					cell.DiffCI = "[" + formatDiff(info, c.CILow, true) + ", " + formatDiff(info, c.CIHigh, true) + "]"
				}
				cell.Tone = diffTone(c)
			}
			row.Cells = append(row.Cells, cell)
		}
		sc.Rows = append(sc.Rows, row)
	}
	return sc
}

func newMetricRow(name string, defs map[string]string) metricRow {
	info := infoFor(name)
	return metricRow{Label: info.label, Arrow: info.dir.Arrow(), Definition: defs[name]}
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
	for _, name := range metrics.SortNames(names) {
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
	out := make([]glossaryEntry, 0, len(defs))
	for _, name := range slices.Sorted(maps.Keys(defs)) {
		entry := glossaryEntry{Name: name, Text: defs[name]}
		if m, ok := metrics.Lookup(name); ok && inGlossary(m) {
			entry.Label = m.Title
		}
		out = append(out, entry)
	}
	return out
}

func factsFor(r *metrics.Results, info runInfo) factsBlock {
	fb := factsBlock{Facts: []fact{
		{"Scenario", r.Scenario},
		{"Seed", strconv.FormatUint(r.Seed, 10)},
		{"Personas × rounds × items", fmt.Sprintf("%d × %d × %d", r.Personas, r.Rounds, r.Items)},
	}}
	if info.SlateSize > 0 {
		fb.Facts = append(fb.Facts, fact{"Slate size", strconv.Itoa(info.SlateSize)})
	}
	if info.Behaviour != "" {
		fb.Facts = append(fb.Facts, fact{"Persona behaviour", info.Behaviour})
	}
	if fp := r.Fingerprint; fp != nil {
		fb.Facts = append(fb.Facts, fact{"Fingerprint", fmt.Sprintf("catalog %s, personas %s", fp.Catalog, fp.Personas)})
	}
	if info.Tool != "" {
		fb.Facts = append(fb.Facts, fact{"Simulated with", info.Tool})
	}
	fb.Facts = append(fb.Facts, fact{"Charts", "ECharts " + EChartsVersion + ", embedded"})
	models := map[string]bool{}
	if r.LLM != nil && r.LLM.Model != "" {
		models[r.LLM.Model] = true
	}
	for i := range r.Variants {
		if e := r.Variants[i].Explanations; e != nil {
			for _, j := range e.Judges {
				if j.Model != "" {
					models[j.Model] = true
				}
			}
		}
	}
	if len(models) > 0 {
		fb.Facts = append(fb.Facts, fact{"Models", strings.Join(slices.Sorted(maps.Keys(models)), ", ")})
	}
	if u := r.LLM; u != nil {
		fb.LLM = &llmBlock{
			Model: u.Model, Calls: strconv.Itoa(u.Calls), CacheHits: strconv.Itoa(u.CacheHits),
			CacheHitRate: formatPercent(float64(u.CacheHitRate)),
			Tokens:       fmt.Sprintf("%d prompt + %d completion", u.PromptTokens, u.CompletionTokens),
			Cost:         fmt.Sprintf("$%.4f", u.CostUSD), Retries: strconv.Itoa(u.Retries), Errors: strconv.Itoa(u.Errors),
		}
		if u.BudgetUSD > 0 {
			fb.LLM.Budget = fmt.Sprintf("$%.2f", u.BudgetUSD)
		}
		for _, role := range slices.Sorted(maps.Keys(u.ByRole)) {
			t := u.ByRole[role]
			fb.LLM.Roles = append(fb.LLM.Roles, llmRole{Role: role, Calls: strconv.Itoa(t.Calls), CacheHits: strconv.Itoa(t.CacheHits),
				Tokens: fmt.Sprintf("%d + %d", t.PromptTokens, t.CompletionTokens), Cost: fmt.Sprintf("$%.4f", t.CostUSD)})
		}
	}
	return fb
}

// chartOptions gathers every chart's option into one JSON object keyed by
// chart id, for the page's loader script. The ids are ASCII letters, digits
// and underscores and every option is already escaped for <script>.
func chartOptions(cs []chart) template.JS {
	var b strings.Builder
	b.WriteByte('{')
	for i, c := range cs {
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

// inGlossary reports whether the glossary gives m's title: only for the
// headline and per-round metrics every run reports, and for a
// conversational run's, which replace them.
func inGlossary(m metrics.Metric) bool {
	return (m.Scope == metrics.ScopePersona || m.Scope == metrics.ScopeGlobal || m.Scope == metrics.ScopeRound) &&
		m.Needs == metrics.NeedsNothing || m.Needs == metrics.NeedsConversation
}

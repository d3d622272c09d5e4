package metrics

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/recloop/recloop/trajectory"
)

func TestRegistryNamesAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range registry {
		if seen[m.Name] {
			t.Errorf("%s is declared twice", m.Name)
		}
		seen[m.Name] = true
		if m.Title == "" || m.Def == "" {
			t.Errorf("%s needs a title and a definition", m.Name)
		}
		if (m.Explain == "") != (m.Good == "") {
			t.Errorf("%s: a chart's text needs both what it shows and what good looks like", m.Name)
		}
	}
}

// resultNames lists every metric name res uses: headline, segment,
// per-round, per-persona, compared, cold-start and defined.
func resultNames(res *Results) []string {
	var names []string
	for _, v := range res.Variants {
		for _, m := range v.Metrics {
			names = append(names, m.Name)
		}
		for _, s := range v.Segments {
			for _, m := range s.Metrics {
				names = append(names, m.Name)
			}
		}
		names = slices.AppendSeq(names, maps.Keys(v.Rounds))
		names = slices.AppendSeq(names, maps.Keys(v.PerPersona))
		names = append(names, v.ColdStart.CTRRatio.Name, v.ColdStart.AcceptanceRatio.Name)
	}
	for _, c := range res.Comparisons {
		names = append(names, c.Metric)
	}
	return slices.AppendSeq(names, maps.Keys(res.Definitions))
}

func TestEveryMetricInResultsIsRegistered(t *testing.T) {
	cfg := handConfig
	cfg.Baseline = "A"
	runs := map[string]*Results{
		"plain":                     aggregate(t, tinyCatalog(t), cfg, goldenStream()),
		"funnel and returning":      aggregate(t, tinyCatalog(t), cfg, outcomeStream()),
		"funnel without mid stages": aggregate(t, tinyCatalog(t), cfg, withFunnel(outcomeStream(), "view", "buy")),
		"conversation":              aggregate(t, tinyCatalog(t), cfg, convStreamAB()),
	}
	for run, res := range runs {
		names := resultNames(res)
		if len(names) < len(conversationMetrics) {
			t.Fatalf("%s: only %d names", run, len(names))
		}
		for _, name := range names {
			m, ok := Lookup(name)
			if !ok {
				t.Errorf("%s: results hold %q, which the registry does not know", run, name)
				continue
			}
			if def, ok := res.Definitions[name]; ok && def != m.Def {
				t.Errorf("%s: results define %s as %q, the registry as %q", run, name, def, m.Def)
			}
		}
	}
	if _, ok := runs["funnel and returning"].Definitions[ConversionPrefix+"cart"]; !ok {
		t.Error("a middle stage's conversion is not in the results")
	}
}

func withFunnel(events []trajectory.Event, stages ...string) []trajectory.Event {
	run := *events[0].Run
	run.Funnel = stages
	events[0].Run = &run
	return events
}

// The per-persona computations are listed in the registry's order, which
// fixes the order of segments' metrics and of comparisons.
func TestPersonaMetricsFollowTheRegistry(t *testing.T) {
	var want, got []string
	for _, m := range registry {
		if m.Scope == ScopePersona && m.Needs == NeedsNothing {
			want = append(want, m.Name)
		}
	}
	for _, pm := range personaMetrics {
		got = append(got, pm.name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("per-persona computations %v, registry %v", got, want)
	}
}

func TestLookupFamilies(t *testing.T) {
	m, ok := Lookup("conversion_add_to_cart")
	if !ok || m.Name != "conversion_add_to_cart" || m.Title != "Conversion to add_to_cart" ||
		m.Def != "impressions whose item reached stage add_to_cart / impressions, per persona, then averaged" {
		t.Errorf("%+v %v", m, ok)
	}
	if m, ok := Lookup(Conversion); !ok || m.Title != "Conversion" {
		t.Errorf("the last stage's conversion is its own metric, not a family member: %+v", m)
	}
	for _, unknown := range []string{"conversion_", "judge:", "violation_rate:", "ctr2", ""} {
		if _, ok := Lookup(unknown); ok {
			t.Errorf("%q found", unknown)
		}
	}
}

func TestSortNames(t *testing.T) {
	got := SortNames([]string{"zeta", Gini, Satisfaction, ConversionPrefix + "cart", Conversion, ExitRate, CTR, "alpha", CTR})
	// Satisfaction opens the outcomes, after engagement; a stage's
	// conversion follows the last stage's; unknown names come last.
	want := []string{CTR, ExitRate, Satisfaction, Conversion, ConversionPrefix + "cart", Gini, "alpha", "zeta"}
	if !slices.Equal(got, want) {
		t.Errorf("SortNames = %v, want %v", got, want)
	}
}

// Every figure a gate reads from outside the headline metrics, each set to
// a different value.
func TestGateFigures(t *testing.T) {
	v := VariantResult{
		Name:           "v",
		WallLatencyMS:  Latency{P50: 1, P95: 2, P99: 3},
		Errors:         ErrorCounts{Rate: 0.04},
		ColdStart:      ColdStart{CTRRatio: Value{Value: 0.5}, AcceptanceRatio: Value{Value: 0.6}},
		Voices:         &Voices{HallucinationRate: 0.07, Satisfaction: Value{Value: 8}},
		RecommenderLLM: &RecommenderLLM{HallucinationRate: 0.09},
		Protocol:       &Protocol{ViolationRate: 0.1},
		Rounds:         map[string][]Float{Retention: {1, 0.75, 0.5}},
		Explanations: &Explanations{Judges: []JudgeResult{{Judge: "grounding", ViolationRate: 0.11,
			Dimensions: []DimensionResult{{Name: "relevance", Mean: Value{Value: 3.5}}}}}},
	}
	r := &Results{Variants: []VariantResult{v, {Name: "bare"}}}
	for name, want := range map[string]float64{
		"p50_latency_ms": 1, "p95_latency_ms": 2, "p99_latency_ms": 3, "error_rate": 0.04,
		ColdCTRRatio: 0.5, ColdAcceptanceRatio: 0.6, "hallucination_rate": 0.07, InterviewSatisfaction: 8,
		"recommender_hallucination_rate": 0.09, "protocol_violation_rate": 0.1, Retention: 0.5,
		"violation_rate:grounding": 0.11, "judge:grounding:relevance": 3.5,
	} {
		if got, ok := lookup(r, name, "v", ""); !ok || got != want {
			t.Errorf("%s = %v (%v), want %v", name, got, ok, want)
		}
	}
	// Parts a variant does not have are no value, not a zero.
	for _, name := range []string{"hallucination_rate", InterviewSatisfaction, "recommender_hallucination_rate",
		"protocol_violation_rate", Retention, "violation_rate:grounding", "judge:grounding:relevance", ActivePersonas} {
		if _, ok := lookup(r, name, "bare", ""); ok {
			t.Errorf("%s read from a variant without it", name)
		}
	}
	for _, name := range []string{"judge:grounding:nope", "judge:other:relevance", "judge:grounding:relevance:x", "violation_rate:other"} {
		if _, ok := lookup(r, name, "v", ""); ok {
			t.Errorf("%s read", name)
		}
	}
}

func TestDefaultBandsComeFromTheRegistry(t *testing.T) {
	var names []string
	for _, b := range DefaultBands() {
		names = append(names, b.Metric)
	}
	want := []string{CTR, Conversion, Coverage, ILD, Serendipity, ColdCTRRatio, "p95_latency_ms"}
	if !slices.Equal(names, want) {
		t.Errorf("bands on %v, want %v", names, want)
	}
	for _, b := range DefaultBands() {
		if !GateMetricKnown(b.Metric) || strings.Contains(b.Metric, "<") {
			t.Errorf("band on %s", b.Metric)
		}
	}
}

package reports

import (
	"math"

	"github.com/recloop/recloop/metrics"
)

const hostileScript = "<script>alert(1)</script>"

func nan() metrics.Float { return metrics.Float(math.NaN()) }

func val(name string, v, lo, hi float64, n int) metrics.Value {
	return metrics.Value{Name: name, Value: metrics.Float(v), CILow: metrics.Float(lo), CIHigh: metrics.Float(hi), N: n}
}

// sample is a small hand-made run: two variants, three rounds, an undefined
// value, a segment whose name and an error message try to inject markup.
func sample() *metrics.Results {
	// The definitions every results.json carries.
	defs := map[string]string{}
	for _, m := range metrics.All() {
		if m.Scope != metrics.ScopeVariant && m.Needs == metrics.NeedsNothing {
			defs[m.Name] = m.Def
		}
	}
	return &metrics.Results{
		Schema:   metrics.ResultsSchemaVersion,
		Scenario: "news & <friends>",
		Seed:     42,
		Rounds:   3,
		Personas: 20,
		Items:    100,
		Partial:  true,
		Reason:   "LLM budget exhausted after round 3",
		LLM: &metrics.LLMUsage{Model: "gpt-4o-mini", Calls: 120, CacheHits: 30, CacheHitRate: 0.25, PromptTokens: 90000,
			CompletionTokens: 12000, CostUSD: 0.0207, Retries: 4, Errors: 1},
		Variants: []metrics.VariantResult{
			{
				Name:        "popular",
				Recommender: "popularity",
				Metrics: []metrics.Value{
					val(metrics.CTR, 0.123, 0.1, 0.146, 20),
					{Name: metrics.Acceptance, Value: nan(), CILow: nan(), CIHigh: nan(), N: 0},
					val(metrics.MeanRating, 3.5, 3.25, 3.75, 18),
					val(metrics.ExitRate, 0.1, 0, 0.25, 20),
					val(metrics.ILD, 0.42, 0.4, 0.44, 20),
					val(metrics.Novelty, 6.25, 6, 6.5, 20),
					val(metrics.Serendipity, 0.02, 0.01, 0.03, 20),
					val(metrics.TrueSerendipityShare, 0.05, 0, 0.1, 12),
					val(metrics.Coverage, 0.3, 0.3, 0.3, 20),
					val(metrics.Gini, 0.875, 0.875, 0.875, 20),
					val(metrics.CalibrationKL, 1.5, 1.25, 1.75, 20),
					val(metrics.EntropySlope, -0.0004, -0.0008, 0, 20),
					val(metrics.TopCategoryShare, 0.6, 0.55, 0.65, 20),
					val(metrics.Homogenisation, 0.25, 0.2, 0.3, 20),
					val(metrics.TasteDrift, 0.125, 0.1, 0.15, 20),
					val(metrics.NewItemExposure, 0.01, 0, 0.02, 20),
				},
				Rounds: map[string][]metrics.Float{
					metrics.CTR:            {0.15, 0.125, 0.1},
					metrics.Coverage:       {0.1, 0.2, 0.3},
					metrics.ActivePersonas: {20, 19, 18},
				},
				Segments: []metrics.SegmentResult{
					{Segment: "cold", Personas: 5, Metrics: []metrics.Value{val(metrics.CTR, 0.08, 0.05, 0.11, 5)}},
					{Segment: hostileScript, Personas: 15, Metrics: []metrics.Value{val(metrics.CTR, 0.137, 0.11, 0.16, 15)}},
				},
				ColdStart: metrics.ColdStart{
					ColdPersonas: 5, WarmPersonas: 15,
					CTRRatio:        val("ctr_ratio", 0.5, 0.25, 0.75, 20),
					AcceptanceRatio: val("acceptance_ratio", 0.8, 0.6, 1, 20),
					RoundsToWarm:    -1,
					NewItems:        4, NewItemCTR: 0.05, NewItemRoundsToFirstExposure: 1.5, NewItemsNeverShown: 2,
				},
				Errors:        metrics.ErrorCounts{Calls: 60, Errors: 2, Timeouts: 1, Invalid: 0, Rate: 0.05, Examples: []string{hostileScript + " & more", "timeout after 2s"}},
				WallLatencyMS: metrics.Latency{P50: 1.5, P95: 4, P99: 9.5, Max: 12},
				Explanations: &metrics.Explanations{Judges: []metrics.JudgeResult{{
					Judge: "grounding", Judged: 40, ViolationRate: 0.05,
					Dimensions: []metrics.DimensionResult{{Name: "faithfulness", Mean: val("judge:grounding:faithfulness", 4.8, 4.6, 5, 20), ShareAtLeast4: 0.95, ExplanationsN: 40}},
					Violations: []metrics.ViolationExample{{Persona: "p-1", Item: "i-3", Kind: "title", Phrase: hostileScript}},
				}}},
				Voices: &metrics.Voices{ItemsNamed: 40, Hallucinations: 2, HallucinationRate: 0.05,
					Satisfaction: val(metrics.InterviewSatisfaction, 6.5, 5.5, 7.5, 20),
					Quotes:       []metrics.Quote{{Persona: "p-1", Satisfaction: 3, Review: "Too much " + hostileScript}, {Persona: "p-2", Satisfaction: 9, Review: "Loved it"}}},
			},
			{
				Name:        "knn</script>&",
				Recommender: "itemknn",
				Metrics: []metrics.Value{
					val(metrics.CTR, 0.2, 0.175, 0.225, 20),
					val(metrics.Acceptance, 0.5, 0.4, 0.6, 17),
					val(metrics.MeanRating, 3.9, 3.7, 4.1, 17),
					val(metrics.ExitRate, 0.05, 0, 0.15, 20),
					val(metrics.ILD, 0.3, 0.28, 0.32, 20),
					val(metrics.Novelty, 7.5, 7.25, 7.75, 20),
					val(metrics.Serendipity, 0.04, 0.03, 0.05, 20),
					val(metrics.TrueSerendipityShare, 0.1, 0.05, 0.15, 17),
					val(metrics.Coverage, 0.55, 0.55, 0.55, 20),
					val(metrics.Gini, 0.625, 0.625, 0.625, 20),
					val(metrics.CalibrationKL, 0.5, 0.375, 0.625, 20),
					val(metrics.EntropySlope, -0.125, -0.25, 0, 20),
					val(metrics.TopCategoryShare, 0.75, 0.7, 0.8, 20),
					val(metrics.Homogenisation, 0.125, 0.1, 0.15, 20),
					val(metrics.TasteDrift, 0.25, 0.2, 0.3, 20),
					val(metrics.NewItemExposure, 0.04, 0.02, 0.06, 20),
				},
				Rounds: map[string][]metrics.Float{
					metrics.CTR:            {0.175, 0.2, nan()},
					metrics.Coverage:       {0.25, 0.45, 0.55},
					metrics.ActivePersonas: {20, 20, 19},
				},
				Segments: []metrics.SegmentResult{
					{Segment: "cold", Personas: 5, Metrics: []metrics.Value{val(metrics.CTR, 0.15, 0.1, 0.2, 5)}},
				},
				ColdStart: metrics.ColdStart{
					ColdPersonas: 5, WarmPersonas: 15,
					CTRRatio:        val("ctr_ratio", 0.75, 0.5, 1, 20),
					AcceptanceRatio: metrics.Value{Name: "acceptance_ratio", Value: nan(), CILow: nan(), CIHigh: nan()},
					RoundsToWarm:    2,
					NewItems:        4, NewItemCTR: 0.125, NewItemRoundsToFirstExposure: 0.5, NewItemsNeverShown: 0,
				},
				Errors:        metrics.ErrorCounts{Calls: 60},
				WallLatencyMS: metrics.Latency{P50: 2.5, P95: 6, P99: 11, Max: 15.5},
			},
		},
		Definitions: defs,
	}
}

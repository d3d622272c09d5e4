package metrics

// ResultsSchemaVersion is written into results.json.
const ResultsSchemaVersion = 1

// Results is everything a run measured. It is what results.json holds and
// what every reporter reads; reporters never see trajectories' internals.
type Results struct {
	Schema   int             `json:"schema"`
	Scenario string          `json:"scenario"`
	Seed     uint64          `json:"seed"`
	Rounds   int             `json:"rounds"`
	Personas int             `json:"personas"`
	Items    int             `json:"items"`
	Partial  bool            `json:"partial,omitempty"`
	Reason   string          `json:"reason,omitempty"`
	Variants []VariantResult `json:"variants"`
	// Definitions documents every metric name used below, in one line each,
	// so that a results file explains itself.
	Definitions map[string]string `json:"definitions"`
	// LLM is the run's language-model usage, filled in by the runner; nil
	// when no model was configured.
	LLM *LLMUsage `json:"llm,omitempty"`
	// JudgeAgreement is Krippendorff's α (ordinal) between judges that
	// scored the same dimension, filled in by the runner.
	JudgeAgreement []JudgeAgreement `json:"judge_agreement,omitempty"`
	// Pairwise holds blind pairwise comparisons of explanations, filled in
	// by the runner when the scenario asks for them.
	Pairwise []Pairwise `json:"pairwise,omitempty"`
	// Baseline is the variant every other one is compared with ("" when the
	// scenario names none); Comparisons are those paired comparisons.
	Baseline string `json:"baseline,omitempty"`
	// Fingerprint identifies what was simulated; PersonaIDs orders the
	// per-persona values of every variant (VariantResult.PerPersona).
	Fingerprint *Fingerprint `json:"fingerprint,omitempty"`
	PersonaIDs  []string     `json:"persona_ids,omitempty"`
	Comparisons []Comparison `json:"comparisons,omitempty"`
	// Gates are the scenario's gates with their verdicts, and Verdict the
	// run's: pass, fail, or inconclusive (when the scenario lets that pass).
	Gates   []GateResult `json:"gates,omitempty"`
	Verdict string       `json:"verdict,omitempty"`
	// Bands are the reference ranges the table and report place each
	// variant in (DefaultBands with the scenario's overrides), filled in
	// by the runner.
	Bands []Band `json:"bands,omitempty"`
	// Survival holds, for runs with returning personas and a baseline, a
	// log-rank test of each candidate's retention against the baseline's.
	Survival []Survival `json:"survival,omitempty"`
}

// Pairwise is one candidate variant's blind comparison with the baseline.
type Pairwise struct {
	Judge            string `json:"judge"`
	Baseline         string `json:"baseline"`
	Candidate        string `json:"candidate"`
	Compared         int    `json:"compared"`
	BaselineWins     int    `json:"baseline_wins"`
	CandidateWins    int    `json:"candidate_wins"`
	Ties             int    `json:"ties"`
	PositionBiased   int    `json:"position_biased"`
	PositionBiasRate Float  `json:"position_bias_rate"`
}

// JudgeAgreement is the agreement of several judges on one dimension.
type JudgeAgreement struct {
	Dimension string   `json:"dimension"`
	Judges    []string `json:"judges"`
	Units     int      `json:"units"`
	Alpha     Float    `json:"alpha"`
}

// Protocol counts an external recommender's protocol violations.
type Protocol struct {
	Violations map[string]int64 `json:"violations,omitempty"`
	// Fallbacks counts the calls the on_error fallback answered.
	Fallbacks int64 `json:"fallbacks"`
	// ViolationRate is all violations over the variant's recommender calls.
	ViolationRate Float `json:"violation_rate"`
}

// RecommenderLLM is an LLM recommender's hallucination count.
type RecommenderLLM struct {
	Proposed          int64 `json:"proposed"`
	Rejected          int64 `json:"rejected"`
	HallucinationRate Float `json:"hallucination_rate"`
	Fallbacks         int64 `json:"fallbacks"`
}

// LLMUsage summarises calls to language models. Token and cost figures
// count only calls that reached the endpoint; cache hits are free.
type LLMUsage struct {
	Model            string              `json:"model"`
	Calls            int                 `json:"calls"`
	CacheHits        int                 `json:"cache_hits"`
	CacheHitRate     Float               `json:"cache_hit_rate"`
	PromptTokens     int                 `json:"prompt_tokens"`
	CompletionTokens int                 `json:"completion_tokens"`
	CostUSD          float64             `json:"cost_usd"`
	Retries          int                 `json:"retries"`
	Errors           int                 `json:"errors"`
	ByRole           map[string]LLMTally `json:"by_role,omitempty"`
	// BySubject is the usage per persona (and per judge subject later).
	BySubject    map[string]LLMTally `json:"by_subject,omitempty"`
	CacheEntries int                 `json:"cache_entries"`
	CacheBytes   int64               `json:"cache_bytes"`
	BudgetUSD    float64             `json:"budget_usd,omitempty"`
}

// LLMTally is the usage of one role (persona, judge, recommender).
type LLMTally struct {
	Calls            int     `json:"calls"`
	CacheHits        int     `json:"cache_hits"`
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	CostUSD          float64 `json:"cost_usd"`
}

// VariantResult is one variant's world, summarised.
type VariantResult struct {
	Name        string `json:"name"`
	Recommender string `json:"recommender"`
	// Metrics are the headline metrics over the whole run, in a fixed order.
	Metrics []Value `json:"metrics"`
	// Rounds maps a metric name to its value in each round (index = round).
	// NaN is written as null (a round in which the metric is undefined).
	Rounds map[string][]Float `json:"rounds"`
	// Segments holds the headline metrics per segment (cold, warm, late
	// joiners, and every persona segment label).
	Segments []SegmentResult `json:"segments"`
	// ColdStart summarises cold personas and new items.
	ColdStart ColdStart `json:"cold_start"`
	// Errors counts recommender failures.
	Errors ErrorCounts `json:"errors"`
	// WallLatencyMS is recommender latency from wall time; it differs
	// between runs of the same scenario.
	WallLatencyMS Latency `json:"wall_latency_ms"`
	// Voices holds what LLM-played personas said (nil for the utility model).
	Voices *Voices `json:"voices,omitempty"`
	// RecommenderLLM reports, for recommenders that ask a language model
	// (llmrank), how many item ids it proposed that were not among its
	// candidates; filled in by the runner.
	RecommenderLLM *RecommenderLLM `json:"recommender_llm,omitempty"`
	// Protocol is, for an external (http or exec) recommender, what it got
	// wrong by kind (docs/protocol.md), summed over the variant's worlds.
	Protocol *Protocol `json:"protocol,omitempty"`
	// Conversation summarises the dialogues of a conversational run (nil
	// otherwise).
	Conversation *ConversationResult `json:"conversation,omitempty"`
	// PerPersona holds each per-persona metric for every persona, in the
	// order of Results.PersonaIDs (null where undefined), so that a later
	// run of the same scenario can be compared persona by persona.
	PerPersona map[string][]Float `json:"per_persona,omitempty"`
	// Explanations holds the judges' verdicts (nil when nothing was judged).
	Explanations *Explanations `json:"explanations,omitempty"`
	// CategoryShare maps a category to its share of the variant's
	// consumption in each round (index = round; each clicked item spreads
	// weight 1 evenly over its categories), for the report's filter-bubble
	// chart. Categories nobody consumed are left out.
	CategoryShare map[string][]Float `json:"category_share,omitempty"`
}

// Value is one metric with its 95% bootstrap CI over personas. N is the
// number of personas that contributed (for whom the metric is defined).
type Value struct {
	Name   string `json:"name"`
	Value  Float  `json:"value"`
	CILow  Float  `json:"ci_low"`
	CIHigh Float  `json:"ci_high"`
	N      int    `json:"n"`
}

// SegmentResult is the headline metrics for one segment of personas.
type SegmentResult struct {
	Segment  string  `json:"segment"`
	Personas int     `json:"personas"`
	Metrics  []Value `json:"metrics"`
}

// ColdStart holds METRICS.md's cold-start section.
type ColdStart struct {
	ColdPersonas int `json:"cold_personas"`
	WarmPersonas int `json:"warm_personas"`
	// CTRRatio and AcceptanceRatio are metric(cold) / metric(warm), with CIs
	// from a bootstrap that resamples both cohorts.
	CTRRatio        Value `json:"ctr_ratio"`
	AcceptanceRatio Value `json:"acceptance_ratio"`
	// RoundsToWarm is the first round at which the cold cohort's CTR reaches
	// 90% of the warm cohort's, or -1 if it never does.
	RoundsToWarm int `json:"rounds_to_warm"`
	// NewItems is the number of items released mid-run or marked new.
	NewItems int `json:"new_items"`
	// NewItemCTR is clicks / impressions over new items.
	NewItemCTR Float `json:"new_item_ctr"`
	// NewItemRoundsToFirstExposure is the mean over new items (that were
	// shown) of rounds from release to first appearance in a slate.
	NewItemRoundsToFirstExposure Float `json:"new_item_rounds_to_first_exposure"`
	// NewItemsNeverShown counts new items that never appeared in a slate.
	NewItemsNeverShown int `json:"new_items_never_shown"`
}

// ErrorCounts counts recommender failures by kind.
type ErrorCounts struct {
	Calls    int   `json:"calls"`
	Errors   int   `json:"errors"`
	Timeouts int   `json:"timeouts"`
	Invalid  int   `json:"invalid"`
	Rate     Float `json:"rate"`
	// ObserveErrors counts rounds whose feedback the recommender failed to
	// take in (not part of Rate, which is per Recommend call).
	ObserveErrors int `json:"observe_errors"`
	// Behaviour counts steps where the persona could not decide (an LLM
	// answer malformed even after repair); not part of Rate either.
	Behaviour int `json:"behaviour_errors"`
	// Examples keeps the first few distinct messages, for the report.
	Examples []string `json:"examples,omitempty"`
}

// Latency holds percentiles in milliseconds.
type Latency struct {
	P50 Float `json:"p50"`
	P95 Float `json:"p95"`
	P99 Float `json:"p99"`
	Max Float `json:"max"`
}

// Metric returns the named headline metric, if present.
func (v *VariantResult) Metric(name string) (Value, bool) {
	for _, m := range v.Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return Value{}, false
}

package metrics

import (
	"cmp"
	"math"
	"slices"
	"strings"
)

//go:generate go test -run TestMetricsDoc -update

// Metric is everything recloop knows about one metric besides how it is
// computed: its name in results.json, how reports present it, which way is
// better, where results hold it, its reference band and how gates read it.
// Adding a metric means one entry in registry, its computation and its
// hand-checked test.
type Metric struct {
	// Name is the metric's name in results.json, gates and bands. A family
	// of metrics has a placeholder in angle brackets ("conversion_<stage>");
	// Lookup gives each member its own name.
	Name string
	// Title is how reports label the metric.
	Title string
	Group Group
	Scope Scope
	// Needs is what the scenario must declare for results to hold the
	// metric at all, so that other runs' results stay as they were.
	Needs  Needs
	Format Format
	// Unit names the unit of a plain number on chart axes ("bits").
	Unit   string
	Better Direction
	// Def is the one-line definition results.json carries, so that a
	// results file explains itself.
	Def string
	// Explain and Good tell a report's reader what a chart of the metric
	// shows and what good looks like; without them reports use Def and
	// Better.
	Explain, Good string
	// Band is the metric's typical range in production (its Metric field
	// is left empty here); nil when there is none.
	Band *Band
	// InSegments marks the per-persona metrics that are compared with the
	// baseline within every segment as well as over all personas; the rest
	// only over all personas, to bound the cost.
	InSegments bool

	// figure reads a metric that is not a headline metric from a
	// variant's results, for gates and bands; arg is what fills a family's
	// placeholder.
	figure func(v *VariantResult, arg string) (float64, bool)
	// arg is the placeholder's value in a family member found by Lookup.
	arg string
}

// Group is the part of a report a metric belongs to. Reports and docs list
// metrics group by group, in registry order within a group.
type Group int

const (
	GroupEngagement Group = iota
	// GroupOutcomes is what personas got out of what they clicked.
	GroupOutcomes
	GroupBeyondAccuracy
	GroupFilterBubble
	GroupColdStart
	GroupOperations
	GroupExplanations
	// GroupConversations is how dialogues with conversational
	// recommenders went.
	GroupConversations
)

// Scope says where results.json holds a metric.
type Scope int

const (
	// ScopePersona metrics are computed per persona and averaged; they sit
	// in variants[].metrics, segments, comparisons and per_persona.
	ScopePersona Scope = iota
	// ScopeGlobal metrics are computed once over all personas, in
	// variants[].metrics.
	ScopeGlobal
	// ScopeRound metrics exist only per round, in variants[].rounds.
	ScopeRound
	// ScopeCohort metrics compare the cold and warm cohorts, in
	// variants[].cold_start and per round.
	ScopeCohort
	// ScopeVariant figures are read from other parts of a variant's
	// results (latency, errors, judges, voices) by gates and bands.
	ScopeVariant
)

// Needs is what a scenario must declare for a metric to be reported.
type Needs int

const (
	NeedsNothing Needs = iota
	NeedsFunnel
	NeedsReturning
	// NeedsConversation metrics replace every slate metric in a run whose
	// personas converse with the recommenders.
	NeedsConversation
)

// Format is how a value is printed.
type Format int

const (
	// FormatNumber is a plain number.
	FormatNumber Format = iota
	// FormatShare is a share in [0, 1], printed as a percentage; its
	// differences are percentage points.
	FormatShare
	// FormatCount is a whole number.
	FormatCount
)

// Direction says which way a metric is better, where that is unambiguous.
type Direction int

const (
	Neutral Direction = iota
	HigherIsBetter
	LowerIsBetter
)

// Arrow is ↑ or ↓, or "" where better depends on the goal.
func (d Direction) Arrow() string {
	switch d {
	case HigherIsBetter:
		return "↑"
	case LowerIsBetter:
		return "↓"
	}
	return ""
}

func band(low, high float64) *Band {
	b := &Band{}
	if !math.IsNaN(low) {
		b.Low = &low
	}
	if !math.IsNaN(high) {
		b.High = &high
	}
	return b
}

// noEdge marks a band's open side.
var noEdge = math.NaN()

// registry lists every metric. Headline and per-persona metrics come in
// results.json's order; metrics only a funnel or returning personas bring
// are appended after them in results, so they come later here too.
var registry = []Metric{
	{Name: CTR, Title: "CTR", Group: GroupEngagement, Format: FormatShare, Better: HigherIsBetter, InSegments: true,
		Def:     "clicks / impressions, per persona, then averaged",
		Explain: "Share of shown items that personas clicked, per round.",
		Good:    "higher, and steady or rising as the recommender learns.",
		Band:    band(0.05, 0.20)},
	{Name: Acceptance, Title: "Acceptance", Group: GroupEngagement, Format: FormatShare, Better: HigherIsBetter, InSegments: true,
		Def:     "accepted items (clicked and rated ≥ 4) / clicks, per persona, then averaged",
		Explain: "Share of clicks that personas rated 4 or more.", Good: "higher."},
	{Name: MeanRating, Title: "Mean rating", Group: GroupEngagement, Better: HigherIsBetter, InSegments: true,
		Def:     "mean rating (1–5) of clicked items, per persona, then averaged",
		Explain: "Mean rating of clicked items.", Good: "higher.", Unit: "1–5"},
	{Name: Satisfaction, Title: "Satisfaction", Group: GroupOutcomes, Better: HigherIsBetter, InSegments: true,
		Def:     "mean realised utility of consumed items (utility model), per persona",
		Explain: "Mean realised utility of consumed items.", Good: "higher.", Unit: "utility"},
	{Name: SessionLength, Title: "Session length", Group: GroupEngagement, Better: HigherIsBetter,
		Def: "slates viewed before the persona exits (or the run ends)"},
	{Name: ExitRate, Title: "Exit rate", Group: GroupEngagement, Format: FormatShare, Better: LowerIsBetter, InSegments: true,
		Def:     "share of personas that exited (per round: share of those active that exited in that round)",
		Explain: "Share of active personas who left in this round.", Good: "lower."},
	{Name: Coverage, Title: "Catalog coverage", Group: GroupBeyondAccuracy, Scope: ScopeGlobal, Format: FormatShare, Better: HigherIsBetter,
		Def:     "distinct items shown / catalog size (per round: cumulative)",
		Explain: "Share of the catalog shown at least once so far (cumulative).", Good: "higher.",
		Band: band(0.5, 0.8)},
	{Name: Gini, Title: "Gini of exposure", Group: GroupBeyondAccuracy, Scope: ScopeGlobal, Better: LowerIsBetter,
		Def: "Gini index of exposure over the whole catalog, zeros included (0 = equal, 1 = one item gets every slot)"},
	{Name: ILD, Title: "Intra-list diversity", Group: GroupBeyondAccuracy, Better: HigherIsBetter, InSegments: true,
		Def:     "intra-list diversity: mean pairwise distance 1 − cos within a slate",
		Explain: "How different the items within one slate are from each other (0 = identical, 1 = nothing in common).",
		Good:    "higher; a falling line means slates narrow as the recommender learns.", Unit: "1 − cos",
		Band: band(0.4, 0.6)},
	{Name: Novelty, Title: "Novelty", Group: GroupBeyondAccuracy, Better: HigherIsBetter, InSegments: true,
		Def:     "mean −log2 p(i) of recommended items, p from the popularity prior",
		Explain: "How unpopular the recommended items are (bits; rarer items score higher).",
		Good:    "higher means less popularity bias.", Unit: "bits"},
	{Name: Serendipity, Title: "Serendipity", Group: GroupBeyondAccuracy, Better: HigherIsBetter,
		Def:     "accepted items outside the top-50 popular unconsumed items / slate size (Ge et al. 2010)",
		Explain: "Accepted items outside the 50 most popular ones the persona had not consumed, per slate slot.",
		Good:    "higher: personas like what they would not have found on their own.", Unit: "per slot",
		Band: band(0.3, 0.5)},
	{Name: ContentSerendipity, Title: "Content serendipity", Group: GroupBeyondAccuracy, Better: HigherIsBetter,
		Def:     "mean over accepted items of the minimum distance to the persona's history (Kaminskas & Bridge)",
		Explain: "How far accepted items are from everything the persona consumed before (1 − cos).",
		Good:    "higher: liked items that are new in kind, not more of the same.", Unit: "1 − cos"},
	{Name: TrueSerendipityShare, Title: "True-serendipity share", Group: GroupBeyondAccuracy, Format: FormatShare, Better: HigherIsBetter,
		Def:     "share of accepted items that match latent interests but neither stated interests nor history",
		Explain: "Share of accepted items that match a persona's hidden (latent) interests but neither its stated interests nor its history — ground truth only a simulation has.",
		Good:    "higher: the recommender uncovers interests personas did not know to ask for."},
	{Name: CalibrationKL, Title: "Calibration KL", Group: GroupFilterBubble, InSegments: true,
		Def:     "KL(p‖q̃) in bits between history and slate category distributions, α = 0.01 (Steck 2018); lower = mirrors history",
		Explain: "How far each slate's category mix is from the persona's history (bits).",
		Good:    "neither extreme: near 0 mirrors the history exactly; a line falling toward 0 while consumption entropy falls is a bubble forming.",
		Unit:    "bits"},
	{Name: Entropy, Title: "Consumption entropy", Group: GroupFilterBubble, Better: HigherIsBetter,
		Def:     "entropy in bits of the categories consumed in a round, per persona",
		Explain: "How many different categories personas consume in a round (bits).",
		Good:    "higher and flat; a falling line means personas' worlds are shrinking.", Unit: "bits"},
	{Name: EntropyNormalised, Title: "Consumption entropy (normalised)", Group: GroupFilterBubble, Better: HigherIsBetter,
		Def:     "consumption entropy / log2 of the number of categories",
		Explain: "Consumption entropy divided by its maximum for this catalog (0–1).", Good: "higher and flat.", Unit: "0–1"},
	{Name: EntropySlope, Title: "Entropy slope", Group: GroupFilterBubble, Better: HigherIsBetter,
		Def:     "least-squares slope of consumption entropy over rounds; negative = narrowing",
		Explain: "Least-squares slope of consumption entropy over rounds (bits per round).",
		Good:    "zero or positive; negative means personas' worlds shrink round by round.", Unit: "bits/round"},
	{Name: TopCategoryShare, Title: "Top-category share", Group: GroupFilterBubble, Format: FormatShare, Better: LowerIsBetter, InSegments: true,
		Def:     "share of a persona's consumption in its most consumed category",
		Explain: "Share of a persona's clicks in its single most consumed category.",
		Good:    "lower; a rising line is a narrowing bubble."},
	{Name: TasteDrift, Title: "Taste drift", Group: GroupFilterBubble,
		Def:     "1 − cos(start interests, end interests)",
		Explain: "How far personas' interests moved between start and end (1 − cosine; 0 = unchanged).",
		Good:    "small: drift toward what personas liked is learning; large drift means the recommender reshapes tastes.",
		Unit:    "1 − cos"},
	{Name: Homogenisation, Title: "Homogenisation", Group: GroupFilterBubble, Scope: ScopeGlobal, Better: LowerIsBetter,
		Def:     "mean Jaccard index of consumed sets over persona pairs (per round: cumulative)",
		Explain: "How alike different personas' consumption is so far (mean Jaccard index, cumulative).",
		Good:    "lower; a rising line means everyone is pushed toward the same items.", Unit: "Jaccard"},
	{Name: NewItemExposure, Title: "New-item exposure", Group: GroupColdStart, Scope: ScopeGlobal, Format: FormatShare,
		Def:     "share of slots given to new items (released mid-run or marked new)",
		Explain: "Share of slate slots given to new items (released mid-run or marked new).",
		Good:    "above zero soon after release: new items get a chance to be seen."},
	{Name: ActivePersonas, Title: "Active personas", Group: GroupOperations, Scope: ScopeRound, Format: FormatCount,
		Def:     "personas who have joined and not exited",
		Explain: "Personas still browsing (joined and not left).", Good: "flat: personas stay.", Unit: "personas"},
	{Name: RecommenderErrRate, Title: "Recommender error rate", Group: GroupOperations, Scope: ScopeGlobal, Format: FormatShare, Better: LowerIsBetter,
		Def:     "failed recommender calls / calls",
		Explain: "Share of recommender calls that failed in this round.", Good: "zero."},
	{Name: CTRCold, Title: "CTR (cold)", Group: GroupColdStart, Scope: ScopeCohort, Format: FormatShare, Better: HigherIsBetter,
		Def: "CTR of the cold cohort (short seed history or late joiner), per round"},
	{Name: CTRWarm, Title: "CTR (warm)", Group: GroupColdStart, Scope: ScopeCohort, Format: FormatShare, Better: HigherIsBetter,
		Def: "CTR of the warm cohort, per round"},
	{Name: ColdCTRRatio, Title: "Cold/warm CTR ratio", Group: GroupColdStart, Scope: ScopeCohort, Better: HigherIsBetter,
		Def:  "mean CTR of cold personas / mean CTR of warm personas",
		Band: band(0.5, 0.7),
		figure: func(v *VariantResult, _ string) (float64, bool) {
			return float64(v.ColdStart.CTRRatio.Value), true
		}},
	{Name: ColdAcceptanceRatio, Title: "Cold/warm acceptance ratio", Group: GroupColdStart, Scope: ScopeCohort, Better: HigherIsBetter,
		Def: "mean acceptance of cold personas / mean acceptance of warm personas",
		figure: func(v *VariantResult, _ string) (float64, bool) {
			return float64(v.ColdStart.AcceptanceRatio.Value), true
		}},
	{Name: Conversion, Title: "Conversion", Group: GroupOutcomes, Needs: NeedsFunnel, Format: FormatShare, Better: HigherIsBetter, InSegments: true,
		Def:     "impressions whose item reached the funnel's last stage / impressions, per persona, then averaged",
		Explain: "Share of shown items that went all the way down the funnel (a purchase, a completed film).",
		Good:    "higher: what the clicks are for.",
		Band:    band(0.02, 0.08)},
	// Listed after conversion: reports show each stage's conversion after
	// the last stage's, although results compute them first.
	{Name: ConversionPrefix + "<stage>", Title: "Conversion to <stage>", Group: GroupOutcomes, Needs: NeedsFunnel, Format: FormatShare, Better: HigherIsBetter,
		Def: "impressions whose item reached stage <stage> / impressions, per persona, then averaged"},
	{Name: MeanDwell, Title: "Mean completion", Group: GroupOutcomes, Needs: NeedsFunnel, Format: FormatShare, Better: HigherIsBetter,
		Def: "mean completion fraction (0–1) of clicked items, per persona, then averaged"},
	{Name: BounceRate, Title: "Bounce rate", Group: GroupOutcomes, Needs: NeedsFunnel, Format: FormatShare, Better: LowerIsBetter, InSegments: true,
		Def:     "bounced clicks (completion below engagement.bounce_below) / clicks, per persona, then averaged",
		Explain: "Share of clicks left almost at once: the item was not what the slate promised.", Good: "lower."},
	{Name: WeightedOutcome, Title: "Weighted outcome", Group: GroupOutcomes, Needs: NeedsFunnel, Better: HigherIsBetter, InSegments: true,
		Def:     "Σ over clicked items of the weight of the deepest stage reached (the bounce weight for a bounce) / slates viewed, per persona, then averaged",
		Explain: "Value per visit: each clicked item weighted by the deepest funnel stage it reached, a bounce by its own (negative) weight.",
		Good:    "higher; a variant that wins clicks but loses here is buying clicks, not value.", Unit: "per visit"},
	{Name: SearchRate, Title: "Search fallback rate", Group: GroupOutcomes, Needs: NeedsFunnel, Format: FormatShare, Better: LowerIsBetter,
		Def: "slates after which the persona fell back to search / slates viewed, per persona, then averaged"},
	{Name: RoundsRetained, Title: "Rounds retained", Group: GroupOutcomes, Needs: NeedsReturning, Better: HigherIsBetter, InSegments: true,
		Def:     "rounds from joining to the last visit before churning (to the end of the run if it never churned)",
		Explain: "Rounds a persona kept coming back before it churned (to the end of the run if it never did).",
		Good:    "higher: people come back to recommendations that serve them.", Unit: "rounds"},
	{Name: ReturnGap, Title: "Rounds between visits", Group: GroupOutcomes, Needs: NeedsReturning, Better: LowerIsBetter,
		Def: "mean rounds between consecutive visits (1 = came back every round), per persona with two visits or more"},
	{Name: Retention, Title: "Retention", Group: GroupOutcomes, Scope: ScopeRound, Needs: NeedsReturning, Format: FormatShare, Better: HigherIsBetter,
		Def:     "share of the personas that have joined who have not churned by the round (survival curve)",
		Explain: "Share of the personas that have joined who have not churned (stopped coming back) by each round: the survival curve.",
		Good:    "higher and flat; a steep fall means the recommender drives people away.",
		// Gates check the share still coming back at the end of the run.
		figure: func(v *VariantResult, _ string) (float64, bool) {
			curve := v.Rounds[Retention]
			if len(curve) == 0 {
				return 0, false
			}
			return float64(curve[len(curve)-1]), true
		}},
	{Name: "p50_latency_ms", Title: "P50 latency (ms)", Group: GroupOperations, Scope: ScopeVariant, Better: LowerIsBetter, Unit: "ms",
		Def:    "median wall-clock time of a recommender call, in milliseconds",
		figure: func(v *VariantResult, _ string) (float64, bool) { return float64(v.WallLatencyMS.P50), true }},
	{Name: "p95_latency_ms", Title: "P95 latency (ms)", Group: GroupOperations, Scope: ScopeVariant, Better: LowerIsBetter, Unit: "ms",
		Def:    "95th percentile of the wall-clock time of a recommender call, in milliseconds",
		Band:   band(noEdge, 200),
		figure: func(v *VariantResult, _ string) (float64, bool) { return float64(v.WallLatencyMS.P95), true }},
	{Name: "p99_latency_ms", Title: "P99 latency (ms)", Group: GroupOperations, Scope: ScopeVariant, Better: LowerIsBetter, Unit: "ms",
		Def:    "99th percentile of the wall-clock time of a recommender call, in milliseconds",
		figure: func(v *VariantResult, _ string) (float64, bool) { return float64(v.WallLatencyMS.P99), true }},
	{Name: "error_rate", Title: "Failure rate", Group: GroupOperations, Scope: ScopeVariant, Format: FormatShare, Better: LowerIsBetter,
		Def:    "failed recommender calls (errors, timeouts, invalid slates) / calls",
		figure: func(v *VariantResult, _ string) (float64, bool) { return float64(v.Errors.Rate), true }},
	{Name: "protocol_violation_rate", Title: "Protocol violation rate", Group: GroupOperations, Scope: ScopeVariant, Format: FormatShare, Better: LowerIsBetter,
		Def: "an external recommender's protocol violations / its calls",
		figure: func(v *VariantResult, _ string) (float64, bool) {
			if v.Protocol == nil {
				return 0, false
			}
			return float64(v.Protocol.ViolationRate), true
		}},
	{Name: "hallucination_rate", Title: "Hallucinated item ids", Group: GroupExplanations, Scope: ScopeVariant, Format: FormatShare, Better: LowerIsBetter,
		Def: "item ids LLM-played personas named in their answers that were not on the slate / item ids they named",
		figure: func(v *VariantResult, _ string) (float64, bool) {
			if v.Voices == nil {
				return 0, false
			}
			return float64(v.Voices.HallucinationRate), true
		}},
	{Name: "recommender_hallucination_rate", Title: "Recommender hallucination rate", Group: GroupExplanations, Scope: ScopeVariant, Format: FormatShare, Better: LowerIsBetter,
		Def: "item ids an LLM recommender proposed that were not among its candidates / ids it proposed",
		figure: func(v *VariantResult, _ string) (float64, bool) {
			if v.RecommenderLLM == nil {
				return 0, false
			}
			return float64(v.RecommenderLLM.HallucinationRate), true
		}},
	{Name: InterviewSatisfaction, Title: "Interview satisfaction", Group: GroupExplanations, Scope: ScopeVariant, Better: HigherIsBetter, Unit: "1–10",
		Def: "satisfaction LLM-played personas gave in the post-run interview, 1–10",
		figure: func(v *VariantResult, _ string) (float64, bool) {
			if v.Voices == nil {
				return 0, false
			}
			return float64(v.Voices.Satisfaction.Value), true
		}},
	{Name: "judge:<judge>:<dimension>", Title: "Judge score (<judge>:<dimension>)", Group: GroupExplanations, Scope: ScopeVariant, Better: HigherIsBetter, Unit: "1–5",
		Def:    "a judge's mean score of the variant's explanations on one rubric dimension, 1–5",
		figure: judgeScore},
	{Name: "violation_rate:<judge>", Title: "Unsupported claims (<judge>)", Group: GroupExplanations, Scope: ScopeVariant, Format: FormatShare, Better: LowerIsBetter,
		Def:    "share of explanations in which the judge found a claim the item or the history contradicts",
		figure: violationRate},
	{Name: SuccessRate, Title: "Success rate", Group: GroupConversations, Needs: NeedsConversation, Format: FormatShare, Better: HigherIsBetter, InSegments: true,
		Def:     "dialogues in which the persona accepted an item that meets its need / dialogues, per persona, then averaged",
		Explain: "Share of dialogues that ended with the persona accepting an item that meets its need.",
		Good:    "higher: the recommender found what people came for."},
	{Name: TurnsToSuccess, Title: "Turns to success", Group: GroupConversations, Needs: NeedsConversation, Better: LowerIsBetter, Unit: "turns",
		Def:     "mean recommender turns of the successful dialogues, per persona with a success, then averaged",
		Explain: "How many replies the recommender needed in the dialogues that succeeded.",
		Good:    "lower, as long as the success rate holds: asking fewer questions is only good when the answer is still right."},
	{Name: PassK, Title: "pass^k", Group: GroupConversations, Needs: NeedsConversation, Format: FormatShare, Better: HigherIsBetter,
		Def:     "C(c, k) / C(n, k) per original persona, its replicates pooled: n its dialogues, c its successes, k the scenario's pass_k (τ-bench; undefined when n < k), then averaged",
		Explain: "The chance that k dialogues of the same persona, drawn at random, all succeed (τ-bench's pass^k): reliability, not just average success.",
		Good:    "higher, and close to the success rate; far below it means the recommender succeeds for a persona only some of the time."},
	{Name: ConstraintSatisfaction, Title: "Constraint satisfaction", Group: GroupConversations, Needs: NeedsConversation, Format: FormatShare, Better: HigherIsBetter,
		Def:     "proposed items that meet every hard constraint of the persona's need / proposed items, per persona, then averaged",
		Explain: "Share of proposed items that meet every hard constraint the persona has, stated or not.",
		Good:    "higher: the recommender listens."},
	{Name: PreferenceCoverage, Title: "Preference coverage", Group: GroupConversations, Needs: NeedsConversation, Format: FormatShare, Better: HigherIsBetter,
		Def: "soft preferences a proposed item touched / soft preferences, per dialogue with any, averaged per persona, then over personas"},
	{Name: QuitRate, Title: "Quit rate", Group: GroupConversations, Needs: NeedsConversation, Format: FormatShare, Better: LowerIsBetter,
		Def: "dialogues that ended without success / dialogues, per persona, then averaged"},
	{Name: DialogueSatisfaction, Title: "Dialogue satisfaction", Group: GroupConversations, Needs: NeedsConversation, Better: HigherIsBetter, Unit: "0–1",
		Def: "the persona's satisfaction (0–1) at the end of a dialogue, per persona, then averaged"},
	{Name: LeakRate, Title: "Leak rate", Group: GroupConversations, Needs: NeedsConversation, Format: FormatShare, Better: LowerIsBetter,
		Def:     "user turns that named a catalog title the recommender had not proposed / user turns, per persona, then averaged",
		Explain: "Share of user turns that named an item the recommender had not proposed: a user that gives the answer away flatters the recommender.",
		Good:    "zero; any leak makes the success rate an overestimate."},
	{Name: SuccessAtTurn, Title: "Success by turn", Group: GroupConversations, Scope: ScopeVariant, Needs: NeedsConversation, Format: FormatShare, Better: HigherIsBetter,
		Def:     "share of a variant's dialogues that succeeded within t recommender turns, t = 1..max_turns (gates read the last turn)",
		Explain: "Share of all dialogues that had succeeded by each recommender turn.",
		Good:    "higher and rising early: the recommender finds the item in few turns.",
		figure: func(v *VariantResult, _ string) (float64, bool) {
			return lastOfCurve(v, func(c *ConversationResult) []Float { return c.SuccessAtTurn })
		}},
	{Name: RecallAtTurn, Title: "Recall by turn", Group: GroupConversations, Scope: ScopeVariant, Needs: NeedsConversation, Format: FormatShare, Better: HigherIsBetter,
		Def: "mean over dialogues with relevant items of Recall@k after t recommender turns: distinct relevant items proposed so far (at most k) / " +
			"min(k, relevant items in the catalog), k the slate size; a dialogue keeps its last value after it ends (gates read the last turn)",
		Explain: "How much of what would have satisfied the persona the recommender had proposed by each turn (Recall@k, k the slate size).",
		Good:    "higher and rising early.",
		figure: func(v *VariantResult, _ string) (float64, bool) {
			return lastOfCurve(v, func(c *ConversationResult) []Float { return c.RecallAtTurn })
		}},
}

// lastOfCurve is a conversation curve's value at its last turn.
func lastOfCurve(v *VariantResult, curve func(*ConversationResult) []Float) (float64, bool) {
	if v.Conversation == nil {
		return 0, false
	}
	c := curve(v.Conversation)
	if len(c) == 0 {
		return 0, false
	}
	return float64(c[len(c)-1]), true
}

func judgeScore(v *VariantResult, arg string) (float64, bool) {
	judge, dimension, ok := strings.Cut(arg, ":")
	if !ok || strings.Contains(dimension, ":") || v.Explanations == nil {
		return 0, false
	}
	for _, j := range v.Explanations.Judges {
		if j.Judge != judge {
			continue
		}
		for _, d := range j.Dimensions {
			if d.Name == dimension {
				return float64(d.Mean.Value), true
			}
		}
	}
	return 0, false
}

func violationRate(v *VariantResult, judge string) (float64, bool) {
	if v.Explanations == nil {
		return 0, false
	}
	for _, j := range v.Explanations.Judges {
		if j.Judge == judge {
			return float64(j.ViolationRate), true
		}
	}
	return 0, false
}

// placeholder is the part of a family's name that Lookup fills in, from
// the first '<'; "" for a single metric.
func (m Metric) placeholder() string {
	if i := strings.IndexByte(m.Name, '<'); i >= 0 {
		return m.Name[i:]
	}
	return ""
}

// Lookup finds a metric by name. A member of a family
// ("conversion_add_to_cart", "judge:grounding:relevance") comes back under
// its own name, with its title and definition filled in.
func Lookup(name string) (Metric, bool) {
	if k := index(name); k >= 0 {
		m := registry[k]
		if ph := m.placeholder(); ph != "" {
			m.arg = strings.TrimPrefix(name, strings.TrimSuffix(m.Name, ph))
			m.Title = strings.ReplaceAll(m.Title, ph, m.arg)
			m.Def = strings.ReplaceAll(m.Def, ph, m.arg)
			m.Name = name
		}
		return m, true
	}
	return Metric{}, false
}

// index is the position in registry of name, or of the family it belongs
// to; -1 when neither is there.
func index(name string) int {
	family := -1
	for k, m := range registry {
		ph := m.placeholder()
		switch {
		case ph == "" && m.Name == name:
			return k
		case ph != "" && family < 0 && len(name) > len(m.Name)-len(ph) && strings.HasPrefix(name, strings.TrimSuffix(m.Name, ph)):
			family = k
		}
	}
	return family
}

// All lists every metric group by group, in registry order within a group:
// the order docs and reports list metrics in.
func All() []Metric {
	out := slices.Clone(registry)
	slices.SortStableFunc(out, func(a, b Metric) int { return int(a.Group) - int(b.Group) })
	return out
}

// SortNames puts metric names in the order of All, names the registry does not
// know after them in lexical order, and drops repeats, so that a report's
// layout never depends on map iteration.
func SortNames(names []string) []string {
	rank := func(n string) int {
		k := index(n)
		if k < 0 {
			return math.MaxInt
		}
		return int(registry[k].Group)*len(registry) + k
	}
	out := slices.Clone(names)
	slices.SortFunc(out, func(a, b string) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), strings.Compare(a, b))
	})
	return slices.Compact(out)
}

// headlineNames are VariantResult.Metrics' names in their fixed order, for
// a run without a funnel or returning personas.
func headlineNames() []string {
	var out []string
	for _, m := range registry {
		if (m.Scope == ScopePersona || m.Scope == ScopeGlobal) && m.Needs == NeedsNothing {
			out = append(out, m.Name)
		}
	}
	return out
}

// definitions are the one-line meanings every results.json carries: of the
// metrics any run reports under their own name.
func definitions() map[string]string {
	defs := map[string]string{}
	for _, m := range registry {
		if m.Scope != ScopeVariant && m.Needs == NeedsNothing {
			defs[m.Name] = m.Def
		}
	}
	return defs
}

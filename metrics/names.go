package metrics

// Metric names as they appear in results.json, the table and the report.
const (
	// Engagement
	CTR           = "ctr"
	Acceptance    = "acceptance"
	MeanRating    = "mean_rating"
	SessionLength = "session_length"
	ExitRate      = "exit_rate"
	Satisfaction  = "satisfaction"

	// Beyond accuracy
	Coverage             = "coverage"
	Gini                 = "gini"
	ILD                  = "ild"
	Novelty              = "novelty"
	Serendipity          = "serendipity"
	ContentSerendipity   = "content_serendipity"
	TrueSerendipityShare = "true_serendipity_share"

	// Filter bubble
	CalibrationKL      = "calibration_kl"
	Entropy            = "consumption_entropy"
	EntropyNormalised  = "consumption_entropy_norm"
	EntropySlope       = "consumption_entropy_slope"
	TopCategoryShare   = "top_category_share"
	TasteDrift         = "taste_drift"
	Homogenisation     = "homogenisation"
	NewItemExposure    = "new_item_exposure"
	ActivePersonas     = "active_personas"
	RecommenderErrRate = "recommender_error_rate"
)

// Definitions is the one-line meaning of every metric, written into
// results.json and shown in reports.
var Definitions = map[string]string{
	CTR:                  "clicks / impressions, per persona, then averaged",
	Acceptance:           "accepted items (clicked and rated ≥ 4) / clicks, per persona, then averaged",
	MeanRating:           "mean rating (1–5) of clicked items, per persona, then averaged",
	SessionLength:        "slates viewed before the persona exits (or the run ends)",
	ExitRate:             "share of personas that exited (per round: share of those active that exited in that round)",
	Satisfaction:         "mean realised utility of consumed items (utility model), per persona",
	Coverage:             "distinct items shown / catalog size (per round: cumulative)",
	Gini:                 "Gini index of exposure over the whole catalog, zeros included (0 = equal, 1 = one item gets every slot)",
	ILD:                  "intra-list diversity: mean pairwise distance 1 − cos within a slate",
	Novelty:              "mean −log2 p(i) of recommended items, p from the popularity prior",
	Serendipity:          "accepted items outside the top-50 popular unconsumed items / slate size (Ge et al. 2010)",
	ContentSerendipity:   "mean over accepted items of the minimum distance to the persona's history (Kaminskas & Bridge)",
	TrueSerendipityShare: "share of accepted items that match latent interests but neither stated interests nor history",
	CalibrationKL:        "KL(p‖q̃) in bits between history and slate category distributions, α = 0.01 (Steck 2018); lower = mirrors history",
	Entropy:              "entropy in bits of the categories consumed in a round, per persona",
	EntropyNormalised:    "consumption entropy / log2 of the number of categories",
	EntropySlope:         "least-squares slope of consumption entropy over rounds; negative = narrowing",
	TopCategoryShare:     "share of a persona's consumption in its most consumed category",
	TasteDrift:           "1 − cos(start interests, end interests)",
	Homogenisation:       "mean Jaccard index of consumed sets over persona pairs (per round: cumulative)",
	NewItemExposure:      "share of slots given to new items (released mid-run or marked new)",
	ActivePersonas:       "personas who have joined and not exited",
	RecommenderErrRate:   "failed recommender calls / calls",
	CTRCold:              "CTR of the cold cohort (short seed history or late joiner), per round",
	CTRWarm:              "CTR of the warm cohort, per round",
	ColdCTRRatio:         "mean CTR of cold personas / mean CTR of warm personas",
	ColdAcceptanceRatio:  "mean acceptance of cold personas / mean acceptance of warm personas",
}

// Names added for the per-round cold-start series and the cold-start ratios.
const (
	CTRCold             = "ctr_cold"
	CTRWarm             = "ctr_warm"
	ColdCTRRatio        = "cold_ctr_ratio"
	ColdAcceptanceRatio = "cold_acceptance_ratio"
)

// Built-in segments; every persona segment label is reported as well.
const (
	SegmentCold       = "cold"
	SegmentWarm       = "warm"
	SegmentLateJoiner = "late_joiner"
)

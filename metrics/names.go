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

package metrics

// Comparison is one candidate variant against the baseline on one
// per-persona metric, paired by persona: d_u = M_candidate(u) − M_baseline(u).
type Comparison struct {
	Metric    string `json:"metric"`
	Segment   string `json:"segment,omitempty"`
	Baseline  string `json:"baseline"`
	Candidate string `json:"candidate"`
	// N counts the personas for whom the metric is defined in both worlds.
	N int `json:"n"`
	// Diff is the mean of d, with a paired bootstrap percentile 95% CI.
	Diff   Float `json:"diff"`
	CILow  Float `json:"ci_low"`
	CIHigh Float `json:"ci_high"`
	// P is the sign-flip permutation p-value; PHolm is Holm-corrected across
	// the candidates compared with the baseline on this metric and segment.
	P     Float `json:"p"`
	PHolm Float `json:"p_holm"`
	// EffectSize is d_z = mean(d) / sd(d).
	EffectSize Float `json:"effect_size"`
	// MDE is the minimum detectable effect, 2.80 · sd(d) / √n (α 0.05, power 0.8).
	MDE Float `json:"mde"`
}

// Gate verdicts.
const (
	GatePass         = "pass"
	GateFail         = "fail"
	GateInconclusive = "inconclusive"
)

// GateResult is one gate's verdict.
type GateResult struct {
	Name    string `json:"name"`
	Check   string `json:"check"`
	Verdict string `json:"verdict"`
	// Observed is the value the gate compared (a metric, or a CI bound of a
	// difference) and Threshold what it was compared with.
	Observed  Float  `json:"observed"`
	Threshold Float  `json:"threshold"`
	Message   string `json:"message"`
}

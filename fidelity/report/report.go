// Package report holds what recloop fidelity finds: the types of
// fidelity.json and their terminal rendering. It computes nothing, so the
// HTML report can read a fidelity check without depending on the simulator.
package report

import (
	"encoding/json"
	"fmt"

	"github.com/recloop/recloop/metrics"
)

// Report is fidelity.json.
type Report struct {
	Behaviour string         `json:"behaviour"`
	Params    map[string]any `json:"params,omitempty"`
	Seed      uint64         `json:"seed"`
	// Split is "per-user" or "global-time"; HoldOut its share.
	Split   string  `json:"split"`
	HoldOut float64 `json:"holdout"`
	Users   int     `json:"users"`
	// SeedInteractions and HeldOut count the interactions of the evaluated
	// users on each side of the split.
	SeedInteractions int `json:"seed_interactions"`
	HeldOut          int `json:"held_out"`
	// Samplers are the discrimination checks, one per negative sampler.
	Samplers []Sampler `json:"samplers"`
	Ratings  Ratings   `json:"ratings"`
	Verdicts *Verdicts `json:"verdicts,omitempty"`
	Fit      *Fit      `json:"fit,omitempty"`
	// Targets are the goals the project set itself, each met or not.
	Targets []Target `json:"targets,omitempty"`
}

// Sampler names.
const (
	Uniform           = "uniform"
	PopularityMatched = "popularity-matched"
)

// Sampler is the discrimination check with one way of drawing negatives.
type Sampler struct {
	Name   string           `json:"name"`
	Ratios []Discrimination `json:"ratios"`
}

// Discrimination is how well the simulator and each baseline tell
// held-out liked items from items the user never touched, mixed
// 1 : Negatives.
type Discrimination struct {
	Ratio     string `json:"ratio"`
	Negatives int    `json:"negatives_per_positive"`
	Positives int    `json:"positives"`
	Shown     int    `json:"shown"`
	// Clicks is the simulator's own decisions (its click draws) against
	// the labels.
	Clicks Classification `json:"clicks"`
	// RandomF1 is the F1 of clicking each item with probability ½.
	RandomF1 float64 `json:"random_f1"`
	// Scorers are the simulator (first) and the baselines on the same
	// probes.
	Scorers []Scorer `json:"scorers"`
	// Best is the baseline with the highest AUC; Lift the simulator's AUC
	// minus Best's, with a paired bootstrap CI over users.
	Best   string        `json:"best_baseline"`
	Lift   metrics.Float `json:"lift"`
	LiftLo metrics.Float `json:"lift_lo"`
	LiftHi metrics.Float `json:"lift_hi"`
}

// SimulatorName is the simulator's row among the scorers.
const SimulatorName = "simulator"

// Scorer is one scorer's discrimination on a set of probes.
type Scorer struct {
	Name string `json:"name"`
	// AUC is the mean over users of each user's AUC (its positives against
	// its negatives, ties ½), with a bootstrap CI over users.
	AUC   metrics.Float `json:"auc"`
	AUCLo metrics.Float `json:"auc_lo"`
	AUCHi metrics.Float `json:"auc_hi"`
	// AUCPooled ranks every probe of every user together, so it also asks
	// whether scores mean the same for different users.
	AUCPooled metrics.Float `json:"auc_pooled"`
	// TopAccuracy is the accuracy when the scorer picks, for each user,
	// as many probes as the user has positives: its best-scoring ones.
	TopAccuracy metrics.Float `json:"top_accuracy"`
	// Users counts the users with both positives and negatives.
	Users int `json:"users"`
}

// Classification is a confusion matrix and the scores derived from it.
// Precision, recall and F1 are 0 when undefined.
type Classification struct {
	TP        int     `json:"tp"`
	FP        int     `json:"fp"`
	TN        int     `json:"tn"`
	FN        int     `json:"fn"`
	Accuracy  float64 `json:"accuracy"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// ErrorStats are the errors of rating predictions against the real ones.
type ErrorStats struct {
	N       int           `json:"n"`
	RMSE    metrics.Float `json:"rmse"`
	MAE     metrics.Float `json:"mae"`
	Pearson metrics.Float `json:"pearson"`
}

// Ratings compares the simulator's ratings of held-out items with the real
// ones, beside point-forecast baselines.
type Ratings struct {
	// Expected is the simulator's mean rating for each item (its rating
	// distribution's expectation), comparable with the baselines; Drawn
	// is the ratings it draws, noise included, as a simulation gives them.
	Expected *ErrorStats `json:"expected,omitempty"`
	Drawn    ErrorStats  `json:"drawn"`
	// Baselines: "global mean", "user mean", "user + item bias".
	Baselines     []RatingBaseline `json:"baselines"`
	MeanSimulated metrics.Float    `json:"mean_simulated"`
	SDSimulated   metrics.Float    `json:"sd_simulated"`
	MeanReal      metrics.Float    `json:"mean_real"`
	SDReal        metrics.Float    `json:"sd_real"`
}

// RatingBaseline is a point forecast of the held-out ratings.
type RatingBaseline struct {
	Name string `json:"name"`
	ErrorStats
}

// Verdicts compares two rankings of the same recommenders: by simulated
// CTR, and by offline accuracy on the held-out part.
type Verdicts struct {
	Recommenders []Recommender `json:"recommenders"`
	SpearmanHR   metrics.Float `json:"spearman_hr10"`
	KendallHR    metrics.Float `json:"kendall_hr10"`
	SpearmanNDCG metrics.Float `json:"spearman_ndcg10"`
	KendallNDCG  metrics.Float `json:"kendall_ndcg10"`
	// P* are the chance of an agreement at least as strong between CTR and
	// NDCG@10 for this many recommenders ranked at random (one-sided).
	SpearmanNDCGP metrics.Float `json:"spearman_ndcg10_p"`
	KendallNDCGP  metrics.Float `json:"kendall_ndcg10_p"`
	// Pairs are every pair of recommenders: their offline NDCG@10
	// difference, its Holm-corrected sign-flip p over users, and whether
	// simulated CTR orders them the same way.
	Pairs []Pair `json:"pairs"`
	// Significant counts the pairs with p < 0.05, Agreeing those of them
	// ordered alike; Agreement is Agreeing/Significant.
	Significant int           `json:"significant_pairs"`
	Agreeing    int           `json:"agreeing_pairs"`
	Agreement   metrics.Float `json:"pair_agreement"`
}

// Recommender is one recommender's simulated and offline figures.
type Recommender struct {
	Name   string  `json:"name"`
	CTR    float64 `json:"ctr"`
	HR10   float64 `json:"hr10"`
	NDCG10 float64 `json:"ndcg10"`
	// Users counts the users with a held-out liked item.
	Users int `json:"users"`
}

// Pair is one pair of recommenders in the verdict check.
type Pair struct {
	Names       [2]string     `json:"pair"`
	NDCGDiff    float64       `json:"ndcg10_diff"`
	P           metrics.Float `json:"p"`
	Significant bool          `json:"significant"`
	CTRDiff     float64       `json:"ctr_diff"`
	Agrees      bool          `json:"agrees"`
}

// Fit is what recloop fidelity --fit found on the seed part and what that
// gained on the real hold-out.
type Fit struct {
	Default map[string]float64 `json:"default"`
	Fitted  map[string]float64 `json:"fitted"`
	// Taste is the taste model's settings chosen on the validation split,
	// and Candidates every setting tried with its validation
	// log-likelihood.
	Taste      TasteSetting   `json:"taste"`
	Candidates []TasteSetting `json:"candidates"`
	// LogLik* are mean Bernoulli log-likelihoods of the validation
	// probes, before and after fitting; Probes counts them and Ratings
	// the validation ratings.
	LogLikDefault float64 `json:"loglik_default"`
	LogLikFitted  float64 `json:"loglik_fitted"`
	Probes        int     `json:"probes"`
	Ratings       int     `json:"ratings"`
	// Personas is "derived" or "given" (--personas).
	Personas string `json:"personas"`
	// HeldOut compares default and fitted coefficients on the real hold-out.
	HeldOut []FitGain `json:"held_out"`
}

// TasteSetting is one taste model setting and its validation fit.
type TasteSetting struct {
	Factors        int     `json:"factors"`
	Regularization float64 `json:"regularization"`
	Alpha          float64 `json:"alpha"`
	Recency        float64 `json:"recency"`
	LogLik         float64 `json:"loglik"`
}

// FitGain is the held-out discrimination before and after fitting.
type FitGain struct {
	Sampler    string        `json:"sampler"`
	Ratio      string        `json:"ratio"`
	AUCDefault metrics.Float `json:"auc_default"`
	AUCFitted  metrics.Float `json:"auc_fitted"`
	AccDefault float64       `json:"accuracy_default"`
	AccFitted  float64       `json:"accuracy_fitted"`
}

// Target is one goal and whether the check met it.
type Target struct {
	Name  string        `json:"name"`
	Goal  string        `json:"goal"`
	Value metrics.Float `json:"value"`
	Met   bool          `json:"met"`
}

// JSON renders the report as fidelity.json.
func (r *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("fidelity: encoding the report: %w", err)
	}
	return append(b, '\n'), nil
}

// Sampler returns the check with the named sampler, or nil.
func (r *Report) Sampler(name string) *Sampler {
	for i := range r.Samplers {
		if r.Samplers[i].Name == name {
			return &r.Samplers[i]
		}
	}
	return nil
}

// Ratio returns the check at the named ratio ("1:3"), or nil.
func (s *Sampler) Ratio(name string) *Discrimination {
	for i := range s.Ratios {
		if s.Ratios[i].Ratio == name {
			return &s.Ratios[i]
		}
	}
	return nil
}

// Scorer returns the named scorer's row, or nil.
func (d *Discrimination) Scorer(name string) *Scorer {
	for i := range d.Scorers {
		if d.Scorers[i].Name == name {
			return &d.Scorers[i]
		}
	}
	return nil
}

package metrics

import "errors"

// ErrEvent is returned by Write for an event that cannot be part of a valid
// trajectory stream (a missing part, a round out of range, a duplicate).
var ErrEvent = errors.New("metrics: invalid event")

// Config tunes the aggregator. The zero value is usable through WithDefaults.
type Config struct {
	// ColdMaxHistory: a persona with at most this many seed history items
	// (or who joins after round 0) is in the cold cohort. 0 means the
	// default; any negative value means 0 (only empty histories are cold).
	ColdMaxHistory int
	// SerendipityTopN is N of the primitive recommender PM_u (top-N popular
	// items the persona has not consumed).
	SerendipityTopN int
	// Bootstrap is the number of resamples for confidence intervals.
	Bootstrap int
	// Seed seeds every resample and the homogenisation pair sample.
	Seed uint64
	// HomogenisationMaxPairs is the number of seeded persona pairs used for
	// homogenisation when there are more than 1,000 personas.
	HomogenisationMaxPairs int
	// Baseline names the variant every other variant is compared with,
	// persona by persona ("" = no comparisons).
	Baseline string
	// ABBootstrap is the number of paired bootstrap resamples and sign flips
	// for those comparisons (0 = DefaultABBootstrap).
	ABBootstrap int
	// OutcomeWeights values a clicked item by the deepest funnel stage it
	// reached, and a bounce (key BounceWeight); nil means
	// DefaultOutcomeWeights for the run's funnel.
	OutcomeWeights map[string]float64
}

const (
	defaultColdMaxHistory  = 5
	defaultSerendipityTopN = 50
	defaultBootstrap       = 1000
	defaultMaxPairs        = 20000
	// allPairsPersonas is METRICS.md's bound for using every persona pair.
	allPairsPersonas = 1000
	// globalResamples caps the resamples for global metrics, whose
	// resamples cost far more than a mean's.
	globalResamples = 200
	// maxRounds bounds per-round arrays against corrupt streams.
	maxRounds = 1 << 16
)

// WithDefaults fills unset (zero or negative) fields with their defaults,
// except that a negative ColdMaxHistory is kept (it stands for 0).
func (c Config) WithDefaults() Config {
	if c.ColdMaxHistory == 0 {
		c.ColdMaxHistory = defaultColdMaxHistory
	}
	if c.SerendipityTopN <= 0 {
		c.SerendipityTopN = defaultSerendipityTopN
	}
	if c.Bootstrap <= 0 {
		c.Bootstrap = defaultBootstrap
	}
	if c.HomogenisationMaxPairs <= 0 {
		c.HomogenisationMaxPairs = defaultMaxPairs
	}
	return c
}

package scenarios

import (
	"slices"

	"github.com/recloop/recloop/config"
	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/personas"
)

// EngagementSpec tunes what happens after a click; it needs a funnel.
type EngagementSpec struct {
	// BounceBelow is the completion fraction under which a click is a
	// bounce (default personas.DefaultBounceBelow).
	BounceBelow *float64 `yaml:"bounce_below"`
	// Search lets personas the slate left unsatisfied search instead.
	Search bool `yaml:"search"`
	// Weights values an item by the deepest stage it reached, and a bounce;
	// metrics.DefaultOutcomeWeights fills in what is left out.
	Weights map[string]float64 `yaml:"weights"`
}

// ReturningSpec turns on coming back between rounds; every field left out
// takes personas.DefaultReturning's value.
type ReturningSpec struct {
	Base          *float64 `yaml:"base"`
	Satisfaction  *float64 `yaml:"satisfaction"`
	Fatigue       *float64 `yaml:"fatigue"`
	FatigueRounds *int     `yaml:"fatigue_rounds"`
	Memory        *float64 `yaml:"memory"`
	Start         *float64 `yaml:"start"`
	ChurnAfter    *int     `yaml:"churn_after"`
}

// BandSpec overrides or adds one reference band: the typical range of a
// metric in production systems.
type BandSpec struct {
	Metric string   `yaml:"metric"`
	Low    *float64 `yaml:"low"`
	High   *float64 `yaml:"high"`
}

func (s *Scenario) validateOutcomes() {
	d := s.doc
	seen := map[string]bool{}
	for i, stage := range s.Funnel {
		at := config.Index("funnel", i)
		switch {
		case !variantName.MatchString(stage):
			d.Add(at, "a stage name must be letters, digits, '.', '_' or '-', got %q", stage)
		case seen[stage]:
			d.Add(at, "stage %q is named twice", stage)
		case stage == metrics.BounceWeight:
			d.Add(at, "%q is reserved for the bounce weight", stage)
		}
		seen[stage] = true
	}
	e := s.Engagement
	if len(s.Funnel) == 0 && (e.BounceBelow != nil || e.Search || len(e.Weights) > 0) {
		d.Add("engagement", "needs a funnel: (for example [click, add_to_cart, purchase])")
	}
	if b := e.BounceBelow; b != nil && (*b < 0 || *b > 1) {
		d.Add("engagement.bounce_below", "must be between 0 and 1 (a completion fraction), got %g", *b)
	}
	for _, k := range sortedKeys(e.Weights) {
		if !seen[k] && k != metrics.BounceWeight {
			d.Add(config.Join("engagement.weights", k), "is neither a funnel stage nor %q", metrics.BounceWeight)
		}
	}
	if r := s.Returning; r != nil {
		unit := func(field string, v *float64) {
			if v != nil && (*v < 0 || *v > 1) {
				d.Add(config.Join("returning", field), "must be between 0 and 1, got %g", *v)
			}
		}
		unit("memory", r.Memory)
		unit("start", r.Start)
		if r.ChurnAfter != nil && *r.ChurnAfter < 1 {
			d.Add("returning.churn_after", "must be at least 1 (rounds missed in a row), got %d", *r.ChurnAfter)
		}
		if r.FatigueRounds != nil && *r.FatigueRounds < 0 {
			d.Add("returning.fatigue_rounds", "must be ≥ 0, got %d", *r.FatigueRounds)
		}
	}
	for i, b := range s.Bands {
		at := config.Index("bands", i)
		switch {
		case !metrics.GateMetricKnown(b.Metric):
			d.Add(config.Join(at, "metric"), "unknown metric %q", b.Metric)
		case b.Low == nil && b.High == nil:
			d.Add(at, "give low, high or both")
		case b.Low != nil && b.High != nil && *b.Low > *b.High:
			d.Add(at, "low %g is above high %g", *b.Low, *b.High)
		}
	}
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (s *Scenario) engagement() personas.Engagement {
	e := personas.Engagement{Funnel: s.Funnel, BounceBelow: personas.DefaultBounceBelow, Search: s.Engagement.Search}
	if b := s.Engagement.BounceBelow; b != nil {
		e.BounceBelow = *b
	}
	return e
}

// returning is the scenario's return model, nil when personas visit every round.
func (s *Scenario) returning() *personas.Returning {
	spec := s.Returning
	if spec == nil {
		return nil
	}
	r := personas.DefaultReturning()
	set := func(dst *float64, v *float64) {
		if v != nil {
			*dst = *v
		}
	}
	set(&r.Base, spec.Base)
	set(&r.Satisfaction, spec.Satisfaction)
	set(&r.Fatigue, spec.Fatigue)
	set(&r.Memory, spec.Memory)
	set(&r.Start, spec.Start)
	if spec.FatigueRounds != nil {
		r.FatigueRounds = *spec.FatigueRounds
	}
	if spec.ChurnAfter != nil {
		r.ChurnAfter = *spec.ChurnAfter
	}
	return &r
}

// outcomeWeights is the scenario's weights over the defaults for its funnel.
func (s *Scenario) outcomeWeights() map[string]float64 {
	if len(s.Funnel) == 0 {
		return nil
	}
	w := metrics.DefaultOutcomeWeights(s.Funnel)
	for k, v := range s.Engagement.Weights {
		w[k] = v
	}
	return w
}

// ReferenceBands are the default bands with the scenario's overrides.
func (s *Scenario) ReferenceBands() []metrics.Band {
	bands := metrics.DefaultBands()
	for _, b := range s.Bands {
		k := slices.IndexFunc(bands, func(x metrics.Band) bool { return x.Metric == b.Metric })
		if k < 0 {
			bands = append(bands, metrics.Band{Metric: b.Metric})
			k = len(bands) - 1
		}
		if b.Low != nil {
			bands[k].Low = b.Low
		}
		if b.High != nil {
			bands[k].High = b.High
		}
	}
	return bands
}

package scenarios

import (
	"strings"
	"testing"

	"github.com/recloop/recloop/metrics"
	"github.com/recloop/recloop/personas"
)

const outcomeBase = "name: o\ncatalog: {synthetic: {items: 50}}\npersonas: {population: [{archetype: cinephile, count: 2}]}\nvariants: [{name: p, recommender: popular}]\n"

func TestOutcomeFieldsValidate(t *testing.T) {
	tests := []struct {
		yaml string
		want string // "" = valid
	}{
		{"funnel: [click, add_to_cart, purchase]\nengagement: {search: true, bounce_below: 0.2, weights: {purchase: 9, bounce: -2}}\nreturning: {churn_after: 2}\n", ""},
		{"funnel: [click, click]\n", `o.yaml:5:17: funnel[1]: stage "click" is named twice`},
		{"funnel: [click, add to cart]\n", "funnel[1]: a stage name must be"},
		{"funnel: [click, bounce]\n", `funnel[1]: "bounce" is reserved`},
		{"engagement: {search: true}\n", "engagement: needs a funnel:"},
		{"funnel: [play, complete]\nengagement: {weights: {purchase: 8}}\n", "engagement.weights.purchase: is neither a funnel stage"},
		{"funnel: [play]\nengagement: {bounce_below: 2}\n", "engagement.bounce_below: must be between 0 and 1"},
		{"returning: {churn_after: 0}\n", "returning.churn_after: must be at least 1"},
		{"returning: {memory: 1.5}\n", "returning.memory: must be between 0 and 1"},
		{"returning: {fatigue_rounds: -1}\n", "returning.fatigue_rounds: must be ≥ 0"},
		{"bands: [{metric: nope, low: 1}]\n", `bands[0].metric: unknown metric "nope"`},
		{"bands: [{metric: ctr}]\n", "bands[0]: give low, high or both"},
		{"bands: [{metric: ctr, low: 0.5, high: 0.1}]\n", "bands[0]: low 0.5 is above high 0.1"},
		{"gates: [\"conversion[p] >= 0.02\", \"rounds_retained[p] >= 3\", \"retention[p] >= 0.5\", \"conversion_add_to_cart[p] >= 0.1\"]\n", ""},
	}
	for _, tt := range tests {
		_, errs := Parse("o.yaml", []byte(outcomeBase+tt.yaml), ".")
		got := ""
		if err := errs.Err(); err != nil {
			got = err.Error()
		}
		switch {
		case tt.want == "" && got != "":
			t.Errorf("%q: unexpected errors: %s", tt.yaml, got)
		case tt.want != "" && !strings.Contains(got, tt.want):
			t.Errorf("%q: errors %q lack %q", tt.yaml, got, tt.want)
		}
	}
}

func TestOutcomeSettingsReachThePlan(t *testing.T) {
	s, errs := Parse("o.yaml", []byte(outcomeBase+"funnel: [click, add_to_cart, purchase]\n"+
		"engagement: {search: true, weights: {purchase: 10}}\nreturning: {base: 1, churn_after: 5}\n"+
		"bands: [{metric: ctr, low: 0.1}, {metric: bounce_rate, high: 0.1}]\n"), ".")
	if err := errs.Err(); err != nil {
		t.Fatal(err)
	}
	if e := s.engagement(); !e.On() || !e.Search || e.BounceBelow != personas.DefaultBounceBelow {
		t.Errorf("engagement %+v", e)
	}
	want := personas.DefaultReturning()
	want.Base, want.ChurnAfter = 1, 5
	if got := s.returning(); got == nil || *got != want {
		t.Errorf("returning %+v, want %+v", got, want)
	}
	w := s.outcomeWeights()
	if w["click"] != 1 || w["add_to_cart"] != 2 || w["purchase"] != 10 || w[metrics.BounceWeight] != -1 {
		t.Errorf("weights %v: the scenario's purchase weight over the defaults", w)
	}
	bands := s.ReferenceBands()
	if len(bands) != len(metrics.DefaultBands())+1 {
		t.Fatalf("%d bands", len(bands))
	}
	if b := bands[0]; b.Metric != metrics.CTR || *b.Low != 0.1 || *b.High != 0.2 {
		t.Errorf("ctr band %+v: low overridden, high kept", b)
	}
	if b := bands[len(bands)-1]; b.Metric != metrics.BounceRate || b.Low != nil || *b.High != 0.1 {
		t.Errorf("added band %+v", b)
	}
	plain, _ := Parse("o.yaml", []byte(outcomeBase), ".")
	if plain.engagement().On() || plain.returning() != nil || plain.outcomeWeights() != nil {
		t.Error("outcome features on without being asked for")
	}
}
